package openai

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

const fingerprint = "fp_standin"

// Wire shapes of the responses, in the field order the API uses.
type (
	completionOut struct {
		ID                string          `json:"id"`
		Object            string          `json:"object"`
		Created           int64           `json:"created"`
		Model             string          `json:"model"`
		Choices           []choiceOut     `json:"choices"`
		Usage             json.RawMessage `json:"usage,omitempty"`
		ServiceTier       string          `json:"service_tier"`
		SystemFingerprint string          `json:"system_fingerprint"`
	}
	choiceOut struct {
		Index        int             `json:"index"`
		Message      *messageOut     `json:"message,omitempty"`
		Delta        *messageOut     `json:"delta,omitempty"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
	}
	messageOut struct {
		Role             string          `json:"role,omitempty"`
		ReasoningContent string          `json:"reasoning_content,omitempty"`
		Content          json.RawMessage `json:"content,omitempty"`
		ToolCalls        []toolCallOut   `json:"tool_calls,omitempty"`
		Refusal          json.RawMessage `json:"refusal,omitempty"`
		Annotations      json.RawMessage `json:"annotations,omitempty"`
	}
	toolCallOut struct {
		Index    *int        `json:"index,omitempty"`
		ID       string      `json:"id,omitempty"`
		Type     string      `json:"type,omitempty"`
		Function functionOut `json:"function"`
	}
	functionOut struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
)

var jsonNull = json.RawMessage("null")

func usageJSON(prompt, completion int) json.RawMessage {
	return json.RawMessage(`{"prompt_tokens":` + strconv.Itoa(prompt) +
		`,"completion_tokens":` + strconv.Itoa(completion) +
		`,"total_tokens":` + strconv.Itoa(prompt+completion) +
		`,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0}` +
		`,"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`)
}

// completionID is fixed: the stand-in's output is deterministic.
const completionID = "chatcmpl-standin"

// completion renders the non-streamed chat.completion object.
func completion(req *request, rep *reply) []byte {
	msg := &messageOut{Role: "assistant", Refusal: jsonNull, Annotations: json.RawMessage("[]")}
	if rep.tool != nil {
		msg.Content = jsonNull
		msg.ToolCalls = []toolCallOut{{
			ID: rep.tool.id, Type: "function",
			Function: functionOut{Name: rep.tool.name, Arguments: strings.Join(rep.tool.fragments, "")},
		}}
	} else {
		msg.Content = json.RawMessage(quote(rep.text()))
		msg.ReasoningContent = rep.reasoning
	}
	finish := rep.finish
	b, _ := json.Marshal(completionOut{
		ID: completionID, Object: "chat.completion", Created: created, Model: req.Model,
		Choices:     []choiceOut{{Message: msg, Logprobs: jsonNull, FinishReason: &finish}},
		Usage:       usageJSON(rep.prompt, rep.completionTokens()),
		ServiceTier: "default", SystemFingerprint: fingerprint,
	})
	return b
}

// stream writes the reply as chat.completion.chunk events. The magic models
// midstream-error and cut stop after two chunks.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, req *request, rep *reply) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	sent := 0
	magicStop := false
	send := func(v any) bool {
		if sent > 0 && !s.sleep(ctx, s.opts.TokenDelay) {
			return false
		}
		b, _ := json.Marshal(v)
		if _, err := w.Write([]byte("data: " + string(b) + "\n\n")); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		sent++
		if sent == 2 && (req.Model == "midstream-error" || req.Model == "cut") {
			magicStop = true
			return false
		}
		return true
	}
	usage := json.RawMessage(nil)
	if req.includeUsage() {
		usage = jsonNull // the API sends "usage":null on every chunk then
	}
	chunk := func(delta *messageOut, finish *string) completionOut {
		return completionOut{
			ID: completionID, Object: "chat.completion.chunk", Created: created, Model: req.Model,
			Choices:     []choiceOut{{Delta: delta, Logprobs: jsonNull, FinishReason: finish}},
			Usage:       usage,
			ServiceTier: "default", SystemFingerprint: fingerprint,
		}
	}
	finish := rep.finish
	final := chunk(nil, nil)
	final.Choices = []choiceOut{}
	final.Usage = usageJSON(rep.prompt, rep.completionTokens())
	ok := s.streamBody(send, chunk, rep) &&
		send(chunk(&messageOut{}, &finish)) &&
		(!req.includeUsage() || send(final))
	if !ok {
		if magicStop && req.Model == "midstream-error" {
			_, _ = w.Write([]byte(`data: {"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}` + "\n\n"))
		}
		return
	}
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
}

// streamBody sends the opening chunk and the content chunks; false means
// the stream is to stop here.
func (s *Server) streamBody(send func(any) bool, chunk func(*messageOut, *string) completionOut, rep *reply) bool {
	if rep.tool != nil {
		zero := 0
		first := &messageOut{Role: "assistant", Content: jsonNull, Refusal: jsonNull, ToolCalls: []toolCallOut{{
			Index: &zero, ID: rep.tool.id, Type: "function", Function: functionOut{Name: rep.tool.name},
		}}}
		if !send(chunk(first, nil)) {
			return false
		}
		for _, f := range rep.tool.fragments {
			if !send(chunk(&messageOut{ToolCalls: []toolCallOut{{Index: &zero, Function: functionOut{Arguments: f}}}}, nil)) {
				return false
			}
		}
		return true
	}
	if !send(chunk(&messageOut{Role: "assistant", Content: json.RawMessage(`""`), Refusal: jsonNull}, nil)) {
		return false
	}
	if rep.reasoning != "" && !send(chunk(&messageOut{ReasoningContent: rep.reasoning}, nil)) {
		return false
	}
	for _, c := range rep.chunks {
		if !send(chunk(&messageOut{Content: json.RawMessage(quote(c))}, nil)) {
			return false
		}
	}
	return true
}

// writeFailure answers a fail-NNN model the way the API answers that
// status.
func writeFailure(w http.ResponseWriter, status int, model string) {
	switch status {
	case http.StatusBadRequest:
		writeError(w, status, "Invalid request (stand-in failure).", "invalid_request_error", "")
	case http.StatusUnauthorized:
		writeError(w, status, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
	case http.StatusNotFound:
		writeError(w, status, "The model `"+model+"` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found")
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		writeError(w, status, "Rate limit reached for requests.", "requests", "rate_limit_exceeded")
	case http.StatusServiceUnavailable:
		writeError(w, status, "The engine is currently overloaded, please try again later.", "server_error", "")
	default:
		writeError(w, status, "The server had an error while processing your request. Sorry about that!", "server_error", "")
	}
}

// writeError writes {"error":{"message","type","param":null,"code"}}; an
// empty code is null.
func writeError(w http.ResponseWriter, status int, message, typ, code string) {
	c := "null"
	if code != "" {
		c = quote(code)
	}
	writeJSON(w, status, []byte(`{"error":{"message":`+quote(message)+`,"type":`+quote(typ)+`,"param":null,"code":`+c+`}}`))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
