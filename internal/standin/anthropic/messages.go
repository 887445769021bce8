package anthropic

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// accept decodes and checks a request body, answers the magic models and
// waits out the configured latency. It reports false when the call has
// already been answered (or the client went away).
func (c *call) accept(body []byte, needMaxTokens bool) (*request, bool) {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(c.w, c.reqID, http.StatusBadRequest, "invalid JSON body")
		return nil, false
	}
	if msg := req.check(needMaxTokens); msg != "" {
		writeError(c.w, c.reqID, http.StatusBadRequest, msg)
		return nil, false
	}
	if c.magic(req.Model) {
		return nil, false
	}
	if !c.wait(c.s.o.Latency) {
		c.s.Cancel()
		return nil, false
	}
	return &req, true
}

// messages answers POST /v1/messages.
func (c *call) messages(body []byte) {
	req, ok := c.accept(body, true)
	if !ok {
		return
	}
	rep := req.plan()
	id := fmt.Sprintf("msg_standin_%06d", c.n)
	if req.Stream {
		c.stream(req, &rep, id)
		return
	}
	switch req.Model {
	case "midstream-error":
		writeError(c.w, c.reqID, 529, "Overloaded")
		return
	case "cut":
		// A body that stops in the middle, as a dropped connection leaves it.
		c.w.Header().Set("Content-Type", "application/json")
		_, _ = c.w.Write([]byte(`{"id":"` + id + `","type":"message","content":[{"type":"text","text":"echo`))
		return
	}
	c.w.Header().Set("Content-Type", "application/json")
	_, _ = c.w.Write(marshal(map[string]any{
		"id":            id,
		"type":          "message",
		"role":          "assistant",
		"model":         req.Model,
		"content":       []any{rep.block(true)},
		"stop_reason":   rep.stop,
		"stop_sequence": rep.stopSeq,
		"usage":         usage(rep.in, rep.out),
	}))
}

func usage(in, out int) map[string]any {
	return map[string]any{"input_tokens": in, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": out}
}

// block is the reply's one content block: whole, or as it opens a stream.
func (rep *reply) block(whole bool) map[string]any {
	if rep.tool != "" {
		input := json.RawMessage(`{}`)
		if whole {
			input = json.RawMessage(rep.input)
		}
		return map[string]any{"type": "tool_use", "id": rep.id, "name": rep.tool, "input": input}
	}
	text := ""
	if whole {
		for _, w := range rep.words {
			text += w
		}
	}
	return map[string]any{"type": "text", "text": text}
}

// sse writes Server-Sent Events, each with its event: line as the API does.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (e sse) send(name string, data map[string]any) bool {
	data["type"] = name
	if _, err := fmt.Fprintf(e.w, "event: %s\ndata: %s\n\n", name, marshal(data)); err != nil {
		return false
	}
	return e.rc.Flush() == nil
}

// stream answers with the published event sequence.
func (c *call) stream(req *request, rep *reply, id string) {
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	c.w.WriteHeader(http.StatusOK)
	ev := sse{w: c.w, rc: http.NewResponseController(c.w)}

	deltas := make([]map[string]any, 0, len(rep.words))
	if rep.tool != "" {
		for _, f := range fragments(rep.input) {
			deltas = append(deltas, map[string]any{"type": "input_json_delta", "partial_json": f})
		}
	} else {
		for _, w := range rep.words {
			deltas = append(deltas, map[string]any{"type": "text_delta", "text": w})
		}
	}
	switch req.Model {
	case "midstream-error":
		deltas = deltas[:min(1, len(deltas))]
	case "cut":
		for len(deltas) < 2 {
			deltas = append(deltas, map[string]any{"type": "text_delta", "text": " ..."})
		}
		deltas = deltas[:2]
	}

	ok := ev.send("message_start", map[string]any{"message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": usage(rep.in, 1),
	}}) &&
		ev.send("ping", map[string]any{}) &&
		ev.send("content_block_start", map[string]any{"index": 0, "content_block": rep.block(false)})
	for i, d := range deltas {
		if !ok {
			break
		}
		if i > 0 && !c.wait(c.s.o.TokenDelay) {
			ok = false
			break
		}
		ok = ev.send("content_block_delta", map[string]any{"index": 0, "delta": d})
	}
	if !ok {
		c.s.Cancel()
		return
	}
	switch req.Model {
	case "midstream-error":
		ev.send("error", map[string]any{"error": map[string]any{"type": "overloaded_error", "message": "Overloaded"}})
		return
	case "cut":
		return
	}
	ok = ev.send("content_block_stop", map[string]any{"index": 0}) &&
		ev.send("message_delta", map[string]any{
			"delta": map[string]any{"stop_reason": rep.stop, "stop_sequence": rep.stopSeq},
			"usage": map[string]any{"output_tokens": rep.out},
		}) &&
		ev.send("message_stop", map[string]any{})
	if !ok {
		c.s.Cancel()
	}
}
