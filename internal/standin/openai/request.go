package openai

import (
	"encoding/json"
	"strings"
)

// request is what the stand-in reads of a chat completion request. It is
// lenient about fields it does not use, as the real API is about most.
type request struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Stream   bool      `json:"stream"`

	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	Tools               []struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`

	stops []string
}

type message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID string `json:"id"`
	} `json:"tool_calls"`
}

// text flattens a message's content: a string, or the text of its parts.
func (m message) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// parseRequest decodes body; msg is an error message for a 400, or "".
func parseRequest(body []byte) (*request, string) {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, "We could not parse the JSON body of your request."
	}
	if req.Model == "" {
		return nil, "you must provide a model parameter"
	}
	if len(req.Messages) == 0 {
		return nil, "[] is too short - 'messages'"
	}
	for _, m := range req.Messages {
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool":
		default:
			return nil, "Invalid value for 'messages.role'."
		}
		if m.Role == "tool" && m.ToolCallID == "" {
			return nil, "Missing required parameter: 'messages.tool_call_id'."
		}
	}
	if len(req.Stop) > 0 && string(req.Stop) != "null" {
		var one string
		if json.Unmarshal(req.Stop, &one) == nil {
			req.stops = []string{one}
		} else if json.Unmarshal(req.Stop, &req.stops) != nil {
			return nil, "Invalid type for 'stop'."
		}
	}
	return &req, ""
}

// maxTokens is the token cap, or -1 when none was set.
func (r *request) maxTokens() int {
	switch {
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens
	case r.MaxTokens != nil:
		return *r.MaxTokens
	}
	return -1
}

func (r *request) includeUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// toolsAllowed reports whether tool_choice leaves the model free to call.
func (r *request) toolsAllowed() bool {
	var s string
	return len(r.Tools) > 0 && !(json.Unmarshal(r.ToolChoice, &s) == nil && s == "none")
}
