package openai

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire/sse"
)

func TestEncodeResponse(t *testing.T) {
	msg := content.Message{Role: content.RoleAssistant, Parts: []content.Part{
		{Kind: content.PartThinking, Text: tx("hmm")},
		{Kind: content.PartText, Text: tx("Hello \"there\"\n")},
		{Kind: content.PartText, Text: tx("bad \xff")},
		{Kind: content.PartToolCall, ToolID: tx("call_1"), ToolName: tx("f"), Args: tx(`{"a":1}`)},
		{Kind: content.PartToolCall, ToolID: tx("call_2"), ToolName: tx("g")},
	}}
	st := logic.Status{Stop: logic.StopToolUse, Usage: logic.Usage{Input: 10, Output: 5, CacheRead: 4}}
	b, err := EncodeResponse("chatcmpl-1", "gpt-x", 1700000000, msg, st)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	want := map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000.0, "model": "gpt-x",
		"choices": []any{map[string]any{
			"index": 0.0, "logprobs": nil, "finish_reason": "tool_calls",
			"message": map[string]any{
				"role": "assistant", "content": "Hello \"there\"\nbad \uFFFD", "reasoning_content": "hmm", "refusal": nil,
				"tool_calls": []any{
					map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": "f", "arguments": `{"a":1}`}},
					map[string]any{"id": "call_2", "type": "function", "function": map[string]any{"name": "g", "arguments": `{}`}},
				},
			},
		}},
		"usage": map[string]any{"prompt_tokens": 10.0, "completion_tokens": 5.0, "total_tokens": 15.0,
			"prompt_tokens_details": map[string]any{"cached_tokens": 4.0}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestEncodeResponseContentNullOnlyBesideToolCalls(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  content.Message
		want any
	}{
		{"tool calls only", content.Message{Parts: []content.Part{{Kind: content.PartToolCall, ToolID: tx("c"), ToolName: tx("f")}}}, nil},
		{"empty reply", content.Message{}, ""},
	} {
		b, _ := EncodeResponse("id", "m", 1, tc.msg, logic.Status{})
		var got struct {
			Choices []struct {
				Message      map[string]any `json:"message"`
				FinishReason string         `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if c := got.Choices[0].Message["content"]; c != tc.want {
			t.Errorf("%s: content = %#v, want %#v", tc.name, c, tc.want)
		}
		if got.Choices[0].FinishReason != "stop" {
			t.Errorf("%s: unknown stop should read as stop, got %q", tc.name, got.Choices[0].FinishReason)
		}
	}
}

func TestFinishReason(t *testing.T) {
	for stop, want := range map[logic.StopReason]string{
		logic.StopEnd: "stop", logic.StopSequence: "stop", logic.StopMaxTokens: "length",
		logic.StopToolUse: "tool_calls", logic.StopRefusal: "content_filter", logic.StopUnknown: "stop",
	} {
		if got := finishReason(stop); got != want {
			t.Errorf("finishReason(%d) = %q, want %q", stop, got, want)
		}
	}
}

func TestEncodeModels(t *testing.T) {
	b := EncodeModels([]Model{{ID: "a", OwnedBy: "relay", Created: 5}, {ID: "b\"", OwnedBy: "x"}})
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"object": "list", "data": []any{
		map[string]any{"id": "a", "object": "model", "created": 5.0, "owned_by": "relay"},
		map[string]any{"id": "b\"", "object": "model", "created": 0.0, "owned_by": "x"},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
	if string(EncodeModels(nil)) != `{"object":"list","data":[]}` {
		t.Errorf("empty list: %s", EncodeModels(nil))
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, 0, logic.ErrRateLimited, []byte("slow \"down\""))
	if rec.Code != 429 {
		t.Errorf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{"error": {"message": "slow \"down\"", "type": "rate_limit_error", "param": nil, "code": "rate_limited"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
	rec = httptest.NewRecorder()
	WriteError(rec, 400, logic.ErrInvalidRequest, []byte("x"))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"type":"invalid_request_error"`) {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
}

// readEvents parses an SSE body into the data of each event.
func readEvents(t *testing.T, body string) []string {
	t.Helper()
	r := sse.NewReader(strings.NewReader(body))
	var out []string
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(ev.Data))
	}
}

func TestStreamWriter(t *testing.T) {
	for _, includeUsage := range []bool{false, true} {
		rec := httptest.NewRecorder()
		s := NewStreamWriter(rec, "chatcmpl-9", "m", 42, includeUsage)
		deltas := []content.Delta{
			{Kind: content.DeltaThinking, Index: 0, Text: tx("plan")},
			{Kind: content.DeltaSignature, Index: 0, Text: tx("sig")}, // dropped
			{Kind: content.DeltaText, Index: 1, Text: tx("Hi")},
			{Kind: content.DeltaText, Index: 1}, // empty: no chunk
			{Kind: content.DeltaToolCall, Index: 2, ToolID: tx("call_a"), ToolName: tx("f")},
			{Kind: content.DeltaToolArgs, Index: 2, Text: tx(`{"x":`)},
			{Kind: content.DeltaToolCall, Index: 3, ToolID: tx("call_b"), ToolName: tx("g")},
			{Kind: content.DeltaToolArgs, Index: 2, Text: tx(`1}`)},
			{Kind: content.DeltaToolArgs, Index: 3, Text: tx(`{}`)},
		}
		for _, d := range deltas {
			if err := s.Delta(d); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Finish(logic.Status{Stop: logic.StopToolUse, Usage: logic.Usage{Input: 3, Output: 4}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Delta(deltas[2]); err != ErrStreamDone {
			t.Errorf("Delta after Finish: %v", err)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("content type %q", ct)
		}
		events := readEvents(t, rec.Body.String())
		if events[len(events)-1] != "[DONE]" {
			t.Fatalf("last event %q", events[len(events)-1])
		}
		type chunk struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Created int64  `json:"created"`
			Model   string `json:"model"`
			Choices []struct {
				Delta        map[string]any `json:"delta"`
				FinishReason *string        `json:"finish_reason"`
			} `json:"choices"`
			Usage json.RawMessage `json:"usage"`
		}
		var deltasGot []map[string]any
		var finish []string
		var usages []string
		for _, e := range events[:len(events)-1] {
			var c chunk
			if err := json.Unmarshal([]byte(e), &c); err != nil {
				t.Fatalf("chunk %s: %v", e, err)
			}
			if c.ID != "chatcmpl-9" || c.Object != "chat.completion.chunk" || c.Created != 42 || c.Model != "m" {
				t.Errorf("chunk header %s", e)
			}
			if len(c.Usage) > 0 && string(c.Usage) != "null" {
				usages = append(usages, string(c.Usage))
			}
			if len(c.Choices) == 0 {
				continue
			}
			deltasGot = append(deltasGot, c.Choices[0].Delta)
			if f := c.Choices[0].FinishReason; f != nil {
				finish = append(finish, *f)
			}
		}
		want := []map[string]any{
			{"role": "assistant", "content": ""},
			{"reasoning_content": "plan"},
			{"content": "Hi"},
			{"tool_calls": []any{map[string]any{"index": 0.0, "id": "call_a", "type": "function", "function": map[string]any{"name": "f", "arguments": ""}}}},
			{"tool_calls": []any{map[string]any{"index": 0.0, "function": map[string]any{"arguments": `{"x":`}}}},
			{"tool_calls": []any{map[string]any{"index": 1.0, "id": "call_b", "type": "function", "function": map[string]any{"name": "g", "arguments": ""}}}},
			{"tool_calls": []any{map[string]any{"index": 0.0, "function": map[string]any{"arguments": `1}`}}}},
			{"tool_calls": []any{map[string]any{"index": 1.0, "function": map[string]any{"arguments": `{}`}}}},
			{},
		}
		if d := cmp.Diff(want, deltasGot); d != "" {
			t.Errorf("includeUsage=%v deltas (-want +got):\n%s", includeUsage, d)
		}
		if d := cmp.Diff([]string{"tool_calls"}, finish); d != "" {
			t.Errorf("finish reasons: %s", d)
		}
		wantUsage := `{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}`
		if len(usages) != 1 || usages[0] != wantUsage {
			t.Errorf("usages %q", usages)
		}
		// With include_usage the usage rides on its own last chunk with no
		// choices; without, on the finish chunk.
		last := events[len(events)-2]
		if includeUsage != strings.Contains(last, `"choices":[]`) {
			t.Errorf("includeUsage=%v, last chunk %s", includeUsage, last)
		}
	}
}

func TestStreamWriterFinishWithoutDeltas(t *testing.T) {
	rec := httptest.NewRecorder()
	s := NewStreamWriter(rec, "id", "m", 1, false)
	if err := s.Finish(logic.Status{Stop: logic.StopMaxTokens}); err != nil {
		t.Fatal(err)
	}
	events := readEvents(t, rec.Body.String())
	if len(events) != 3 || !strings.Contains(events[0], `"role":"assistant"`) || !strings.Contains(events[1], `"finish_reason":"length"`) || events[2] != "[DONE]" {
		t.Errorf("events %q", events)
	}
}

func TestStreamWriterFail(t *testing.T) {
	rec := httptest.NewRecorder()
	s := NewStreamWriter(rec, "id", "m", 1, false)
	if err := s.Delta(content.Delta{Kind: content.DeltaText, Text: tx("partial")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(logic.ErrUpstream, []byte("backend broke")); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(logic.Status{}); err != ErrStreamDone {
		t.Errorf("Finish after Fail: %v", err)
	}
	events := readEvents(t, rec.Body.String())
	last := events[len(events)-1]
	var e map[string]map[string]any
	if err := json.Unmarshal([]byte(last), &e); err != nil {
		t.Fatal(err)
	}
	if e["error"]["message"] != "backend broke" || e["error"]["type"] != "server_error" {
		t.Errorf("error event %s", last)
	}
	for _, ev := range events {
		if ev == "[DONE]" {
			t.Error("a failed stream must not end with [DONE]")
		}
	}
}
