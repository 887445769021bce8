package openai

import (
	"bytes"
	"encoding/json"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/wire"
)

// chatMessage is the union of every message role's fields; decodeMessage
// checks which of them the role allows.
type chatMessage struct {
	Role             *string           `json:"role"`
	Content          json.RawMessage   `json:"content"`
	Name             json.RawMessage   `json:"name"` // accepted, ignored
	ToolCalls        []json.RawMessage `json:"tool_calls"`
	ToolCallID       text              `json:"tool_call_id"`
	ReasoningContent text              `json:"reasoning_content"`
	Refusal          json.RawMessage   `json:"refusal"`       // accepted, ignored
	Annotations      json.RawMessage   `json:"annotations"`   // accepted, ignored
	Audio            json.RawMessage   `json:"audio"`         // accepted, ignored
	FunctionCall     json.RawMessage   `json:"function_call"` // legacy: rejected
}

type contentPart struct {
	Type                  *string         `json:"type"`
	Text                  text            `json:"text"`
	ImageURL              json.RawMessage `json:"image_url"`
	InputAudio            json.RawMessage `json:"input_audio"`
	File                  json.RawMessage `json:"file"`
	Refusal               json.RawMessage `json:"refusal"`
	PromptCacheBreakpoint json.RawMessage `json:"prompt_cache_breakpoint"` // ignored
}

type imageURL struct {
	URL    text            `json:"url"`
	Detail json.RawMessage `json:"detail"` // ignored
}

type toolCall struct {
	ID       text            `json:"id"`
	Type     *string         `json:"type"`
	Function json.RawMessage `json:"function"`
	Custom   json.RawMessage `json:"custom"`
}

type toolCallFunction struct {
	Name      text `json:"name"`
	Arguments text `json:"arguments"`
}

func decodeMessages(raws []json.RawMessage, r *content.Request) error {
	for i, raw := range raws {
		path := wire.Index("messages", i)
		var m chatMessage
		if err := wire.DecodeValue(raw, path, &m); err != nil {
			return err
		}
		if m.Role == nil {
			return reqErr(wire.JoinPath(path, "role"), "is required")
		}
		if err := checkRoleFields(&m, path); err != nil {
			return err
		}
		var err error
		switch *m.Role {
		case "system", "developer":
			err = decodeSystem(&m, path, r)
		case "user":
			err = decodeUser(&m, path, r)
		case "assistant":
			err = decodeAssistant(&m, path, r)
		case "tool":
			err = decodeToolResult(&m, path, r)
		case "function":
			err = reqErr(wire.JoinPath(path, "role"), "the function role is not supported; use tool")
		default:
			err = reqErr(wire.JoinPath(path, "role"), "unknown role")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkRoleFields rejects fields that exist on some roles but not on this
// one, as the published per-role schemas do.
func checkRoleFields(m *chatMessage, path string) error {
	role := *m.Role
	assistant := role == "assistant"
	for _, f := range []struct {
		name    string
		present bool
		allowed bool
	}{
		{"name", !wire.IsNull(m.Name), role != "tool"},
		{"tool_calls", m.ToolCalls != nil, assistant},
		{"reasoning_content", m.ReasoningContent.set, assistant},
		{"refusal", !wire.IsNull(m.Refusal), assistant},
		{"annotations", !wire.IsNull(m.Annotations), assistant},
		{"audio", !wire.IsNull(m.Audio), assistant},
		{"tool_call_id", m.ToolCallID.set, role == "tool"},
	} {
		if f.present && !f.allowed {
			return reqErr(wire.JoinPath(path, f.name), "unknown field for this role")
		}
	}
	if !wire.IsNull(m.FunctionCall) {
		return reqErr(wire.JoinPath(path, "function_call"), "is not supported; use tool_calls")
	}
	return nil
}

// decodeSystem takes a system or developer message: the system prompt when
// it comes before any other message, else an instruction in place.
func decodeSystem(m *chatMessage, path string, r *content.Request) error {
	parts, ok, err := decodeContent(m.Content, wire.JoinPath(path, "content"), textOnly)
	if err != nil {
		return err
	}
	if !ok {
		return reqErr(wire.JoinPath(path, "content"), "is required")
	}
	if len(r.Messages) == 0 {
		// Ahead of the conversation: the system prompt.
		for _, p := range parts {
			r.System = append(r.System, p.Text)
		}
		return nil
	}
	// Inside it: an instruction that keeps its place (content.RoleSystem).
	r.Messages = append(r.Messages, content.Message{Role: content.RoleSystem, Parts: parts})
	return nil
}

func decodeUser(m *chatMessage, path string, r *content.Request) error {
	parts, ok, err := decodeContent(m.Content, wire.JoinPath(path, "content"), textAndImages)
	if err != nil {
		return err
	}
	if !ok {
		return reqErr(wire.JoinPath(path, "content"), "is required")
	}
	r.Messages = append(r.Messages, content.Message{Role: content.RoleUser, Parts: parts})
	return nil
}

func decodeAssistant(m *chatMessage, path string, r *content.Request) error {
	var parts []content.Part
	if len(m.ReasoningContent.b) > 0 {
		// Reasoning came before the answer it led to.
		parts = append(parts, content.Part{Kind: content.PartThinking, Text: content.Of(m.ReasoningContent.b)})
	}
	texts, hasContent, err := decodeContent(m.Content, wire.JoinPath(path, "content"), assistantParts)
	if err != nil {
		return err
	}
	parts = append(parts, texts...)
	for k, raw := range m.ToolCalls {
		p, err := decodeToolCall(raw, wire.Index(wire.JoinPath(path, "tool_calls"), k))
		if err != nil {
			return err
		}
		parts = append(parts, p)
	}
	if !hasContent && len(m.ToolCalls) == 0 {
		return reqErr(wire.JoinPath(path, "content"), "is required unless tool_calls is set")
	}
	r.Messages = append(r.Messages, content.Message{Role: content.RoleAssistant, Parts: parts})
	return nil
}

func decodeToolCall(raw json.RawMessage, path string) (content.Part, error) {
	var tc toolCall
	if err := wire.DecodeValue(raw, path, &tc); err != nil {
		return content.Part{}, err
	}
	switch {
	case tc.Type == nil:
		return content.Part{}, reqErr(wire.JoinPath(path, "type"), "is required")
	case *tc.Type == "custom":
		return content.Part{}, reqErr(wire.JoinPath(path, "type"), "custom tool calls are not supported")
	case *tc.Type != "function":
		return content.Part{}, reqErr(wire.JoinPath(path, "type"), "must be function")
	case !wire.IsNull(tc.Custom):
		return content.Part{}, reqErr(wire.JoinPath(path, "custom"), "unknown field for a function tool call")
	case len(tc.ID.b) == 0:
		return content.Part{}, reqErr(wire.JoinPath(path, "id"), "is required")
	case wire.IsNull(tc.Function):
		return content.Part{}, reqErr(wire.JoinPath(path, "function"), "is required")
	}
	fpath := wire.JoinPath(path, "function")
	var fn toolCallFunction
	if err := wire.DecodeValue(tc.Function, fpath, &fn); err != nil {
		return content.Part{}, err
	}
	if len(fn.Name.b) == 0 {
		return content.Part{}, reqErr(wire.JoinPath(fpath, "name"), "is required")
	}
	args := fn.Arguments.b
	if len(bytes.TrimSpace(args)) == 0 {
		args = []byte("{}")
	}
	return content.Part{
		Kind:     content.PartToolCall,
		ToolID:   content.Of(tc.ID.b),
		ToolName: content.Of(fn.Name.b),
		Args:     content.Of(args),
	}, nil
}

// decodeToolResult turns a tool message into a tool-result part of a user
// message, joining a run of tool messages into one user message: that is
// how the relay's content model (and Anthropic) carries parallel results.
func decodeToolResult(m *chatMessage, path string, r *content.Request) error {
	if len(m.ToolCallID.b) == 0 {
		return reqErr(wire.JoinPath(path, "tool_call_id"), "is required")
	}
	parts, ok, err := decodeContent(m.Content, wire.JoinPath(path, "content"), textOnly)
	if err != nil {
		return err
	}
	if !ok {
		return reqErr(wire.JoinPath(path, "content"), "is required")
	}
	result := parts[0].Text
	if len(parts) > 1 {
		result = content.Text{}
		for i, p := range parts {
			if i > 0 {
				result = result.AppendBytes([]byte("\n"))
			}
			result = result.Append(p.Text)
			p.Text.Wipe()
		}
	}
	part := content.Part{Kind: content.PartToolResult, ToolID: content.Of(m.ToolCallID.b), Text: result}
	if n := len(r.Messages); n > 0 && isToolResults(r.Messages[n-1]) {
		r.Messages[n-1].Parts = append(r.Messages[n-1].Parts, part)
		return nil
	}
	r.Messages = append(r.Messages, content.Message{Role: content.RoleUser, Parts: []content.Part{part}})
	return nil
}

// isToolResults reports whether m is a user message made only of tool
// results, i.e. one that came from tool messages.
func isToolResults(m content.Message) bool {
	if m.Role != content.RoleUser || len(m.Parts) == 0 {
		return false
	}
	for _, p := range m.Parts {
		if p.Kind != content.PartToolResult {
			return false
		}
	}
	return true
}
