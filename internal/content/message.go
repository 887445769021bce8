package content

import (
	"fmt"
	"log/slog"
)

// Role is who spoke a message. Tool results travel as parts of a user
// message (the Anthropic shape); the OpenAI codec maps its "tool" role onto
// that.
type Role uint8

const (
	RoleUser Role = iota + 1
	RoleAssistant
	// RoleSystem is an instruction in the middle of the conversation (an
	// Anthropic "system" message inside messages, an OpenAI system or
	// developer message after the first turn). Its parts are PartText
	// only. The system prompt before the conversation travels in
	// Request.System instead. Backends that can place a system message
	// in order do so; one that cannot (the Anthropic API takes system
	// text only at the top) appends its text to the system prompt, see
	// [Request.SystemTexts].
	RoleSystem
)

// PartKind says which fields of a [Part] are in use.
type PartKind uint8

const (
	// PartText uses Text.
	PartText PartKind = iota + 1
	// PartImage uses MediaType with Data (base64) or URL.
	PartImage
	// PartToolCall is a call the assistant made: ToolID, ToolName, Args (a
	// JSON object).
	PartToolCall
	// PartToolResult answers a call: ToolID, Text (the result, flattened to
	// text), IsError.
	PartToolResult
	// PartThinking is model reasoning text that some backends return: Text,
	// and Signature when the backend signs it.
	PartThinking
)

// Part is one block of a message.
type Part struct {
	Kind      PartKind
	Text      Text
	MediaType Text
	Data      Text
	URL       Text
	ToolID    Text
	ToolName  Text
	Args      Text
	Signature Text
	IsError   bool
}

// Message is one turn of a conversation.
type Message struct {
	Role  Role
	Parts []Part
}

// Tool is a function the model may call. Schema is a JSON Schema object.
type Tool struct {
	Name        Text
	Description Text
	Schema      Text
}

// ToolChoiceMode says whether and how the model must call a tool.
type ToolChoiceMode uint8

const (
	ToolChoiceAuto ToolChoiceMode = iota // the zero value: the model decides
	ToolChoiceNone
	ToolChoiceAny  // must call some tool ("required" in OpenAI)
	ToolChoiceTool // must call the tool named in Name
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name Text
	// DisableParallel asks for at most one tool call per turn.
	DisableParallel bool
}

// Request is everything in an inference request that belongs to the user.
// Routing and sampling parameters travel beside it as logic.Params.
type Request struct {
	System     []Text
	Messages   []Message
	Tools      []Tool
	ToolChoice ToolChoice
	Stop       []Text
}

// SystemTexts returns r.System followed by the text of every RoleSystem
// message in the conversation, in order, without changing r: for a backend
// that takes system text only ahead of the conversation. The position of
// each mid-conversation instruction is lost; its text and the order among
// instructions are kept. The returned Texts share r's bytes.
func (r *Request) SystemTexts() []Text {
	out := append([]Text(nil), r.System...)
	for _, m := range r.Messages {
		if m.Role != RoleSystem {
			continue
		}
		for _, p := range m.Parts {
			if p.Kind == PartText {
				out = append(out, p.Text)
			}
		}
	}
	return out
}

// Size is the number of content bytes in r, used for estimates and limits.
func (r *Request) Size() int {
	n := 0
	for _, s := range r.System {
		n += s.Len()
	}
	for _, m := range r.Messages {
		for _, p := range m.Parts {
			n += p.size()
		}
	}
	for _, t := range r.Tools {
		n += t.Name.Len() + t.Description.Len() + t.Schema.Len()
	}
	return n
}

func (p *Part) size() int {
	return p.Text.Len() + p.Data.Len() + p.URL.Len() + p.ToolID.Len() + p.ToolName.Len() + p.Args.Len() + p.Signature.Len()
}

// Wipe zeroes every byte of content r holds.
func (r *Request) Wipe() {
	for i := range r.System {
		r.System[i].Wipe()
	}
	for i := range r.Messages {
		r.Messages[i].Wipe()
	}
	for i := range r.Tools {
		r.Tools[i].Name.Wipe()
		r.Tools[i].Description.Wipe()
		r.Tools[i].Schema.Wipe()
	}
	r.ToolChoice.Name.Wipe()
	for i := range r.Stop {
		r.Stop[i].Wipe()
	}
}

// Wipe zeroes every byte of content m holds.
func (m *Message) Wipe() {
	for i := range m.Parts {
		p := &m.Parts[i]
		p.Text.Wipe()
		p.MediaType.Wipe()
		p.Data.Wipe()
		p.URL.Wipe()
		p.ToolID.Wipe()
		p.ToolName.Wipe()
		p.Args.Wipe()
		p.Signature.Wipe()
	}
}

// Format redacts: a Request never prints.
func (*Request) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue redacts.
func (*Request) LogValue() slog.Value { return slog.StringValue(Redacted) }

// Format redacts: a Message never prints.
func (Message) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue redacts.
func (Message) LogValue() slog.Value { return slog.StringValue(Redacted) }
