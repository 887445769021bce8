package content

import (
	"fmt"
	"log/slog"
)

// DeltaKind says what a streamed [Delta] carries.
type DeltaKind uint8

const (
	// DeltaText appends Text to the text block at Index.
	DeltaText DeltaKind = iota + 1
	// DeltaToolCall opens a tool-call block at Index with ToolID and
	// ToolName; its arguments follow as DeltaToolArgs.
	DeltaToolCall
	// DeltaToolArgs appends a fragment of JSON arguments (Text) to the
	// tool-call block at Index.
	DeltaToolArgs
	// DeltaThinking appends reasoning Text to the thinking block at Index.
	// Every backend reports a model's reasoning this way and never as
	// DeltaText: an OpenAI-compatible engine's reasoning_content,
	// reasoning or thinking field, the Anthropic API's thinking blocks,
	// the embedded engine's <think> spans. The fronts decide what the
	// client sees: Anthropic clients get thinking blocks only when their
	// request asked for thinking, OpenAI clients get reasoning_content.
	DeltaThinking
	// DeltaSignature carries the signature (Text) of the thinking block at
	// Index.
	DeltaSignature
)

// Delta is one piece of a streamed assistant reply. Index numbers the
// content blocks of the reply from 0 in order of their first appearance; a
// block keeps its index for the whole stream and indexes never go back.
type Delta struct {
	Kind     DeltaKind
	Index    int
	Text     Text
	ToolID   Text
	ToolName Text
}

// Format redacts.
func (Delta) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue redacts.
func (Delta) LogValue() slog.Value { return slog.StringValue(Redacted) }

// Collector assembles a stream of deltas into a finished assistant message,
// for clients that did not ask for a stream.
type Collector struct {
	parts []Part
	index map[int]int // delta index -> position in parts
}

// Add folds d into the message being built.
func (c *Collector) Add(d Delta) {
	if c.index == nil {
		c.index = make(map[int]int)
	}
	pos, ok := c.index[d.Index]
	if !ok {
		kind := PartText
		switch d.Kind {
		case DeltaToolCall, DeltaToolArgs:
			kind = PartToolCall
		case DeltaThinking, DeltaSignature:
			kind = PartThinking
		}
		c.parts = append(c.parts, Part{Kind: kind})
		pos = len(c.parts) - 1
		c.index[d.Index] = pos
	}
	p := &c.parts[pos]
	switch d.Kind {
	case DeltaText, DeltaThinking:
		p.Text = p.Text.Append(d.Text)
	case DeltaToolCall:
		p.ToolID = p.ToolID.Append(d.ToolID)
		p.ToolName = p.ToolName.Append(d.ToolName)
	case DeltaToolArgs:
		p.Args = p.Args.Append(d.Text)
	case DeltaSignature:
		p.Signature = p.Signature.Append(d.Text)
	}
}

// Message returns the assistant message assembled so far.
func (c *Collector) Message() Message {
	return Message{Role: RoleAssistant, Parts: c.parts}
}
