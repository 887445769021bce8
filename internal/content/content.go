// Package content holds the user's data as it travels through the relay:
// prompts, completions, system prompts, tool schemas and tool arguments.
//
// Every value here is backed by []byte and refuses to be printed: String,
// GoString, Format, LogValue, MarshalJSON and MarshalText all return a
// redaction marker. Only the wire codecs read the bytes (through
// [Text.Bytes]) to put them on the wire. Wipe zeroes the bytes in place.
//
// A model's reasoning travels apart from its answer, as [DeltaThinking]
// deltas and [PartThinking] parts, so that no front ever shows it as
// ordinary text. Mid-conversation system instructions travel as
// [RoleSystem] messages, in their place.
//
// This package is a leaf: it imports nothing from the project, and the
// packages that route, account or audit (logic, route, audit) may not import
// it. An import-rule test enforces both.
package content

import (
	"fmt"
	"log/slog"
)

// Redacted is what every formatting path prints instead of content.
const Redacted = "[content redacted]"

// Text is a run of user content. The zero value is empty.
//
// The marker field makes Text incomparable with ==, so that content is never
// compared in a way that leaks timing or tempts a map key.
type Text struct {
	_ [0]func()
	b []byte
}

// Of wraps b without copying; the caller hands ownership to the Text.
func Of(b []byte) Text { return Text{b: b} }

// FromString copies s into a new Text. Used by the wire decoders and the
// library API, where content arrives as a Go string.
func FromString(s string) Text {
	if s == "" {
		return Text{}
	}
	return Text{b: []byte(s)}
}

// Bytes returns the underlying bytes (not a copy). Only codecs that put
// content on the wire may call it.
func (t Text) Bytes() []byte { return t.b }

// Len reports the number of bytes.
func (t Text) Len() int { return len(t.b) }

// IsEmpty reports whether the Text holds no bytes.
func (t Text) IsEmpty() bool { return len(t.b) == 0 }

// Append returns t with o's bytes appended. It may reuse t's storage.
func (t Text) Append(o Text) Text { return Text{b: append(t.b, o.b...)} }

// AppendBytes returns t with p appended. It may reuse t's storage.
func (t Text) AppendBytes(p []byte) Text { return Text{b: append(t.b, p...)} }

// Clone returns an independent copy.
func (t Text) Clone() Text {
	if t.b == nil {
		return Text{}
	}
	return Text{b: append([]byte(nil), t.b...)}
}

// Wipe zeroes the bytes in place and empties t.
func (t *Text) Wipe() {
	clear(t.b)
	t.b = nil
}

// String redacts.
func (Text) String() string { return Redacted }

// GoString redacts.
func (Text) GoString() string { return Redacted }

// Format redacts for every verb, %x and %q included.
func (Text) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue redacts.
func (Text) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON redacts: content reaches JSON only through the wire codecs,
// which write Bytes explicitly.
func (Text) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText redacts.
func (Text) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
