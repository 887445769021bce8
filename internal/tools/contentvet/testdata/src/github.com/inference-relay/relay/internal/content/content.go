// Package content is a stand-in for the relay's content package with the
// same shape: Text wraps bytes and redacts itself.
package content

import "fmt"

const Redacted = "[content redacted]"

type Text struct {
	_ [0]func()
	b []byte
}

func Of(b []byte) Text                    { return Text{b: b} }
func FromString(s string) Text            { return Text{b: []byte(s)} }
func (t Text) Bytes() []byte              { return t.b }
func (t Text) Len() int                   { return len(t.b) }
func (t Text) Clone() Text                { return Text{b: append([]byte(nil), t.b...)} }
func (Text) String() string               { return Redacted }
func (Text) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }
func (Text) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }
func (t Text) AppendBytes(p []byte) Text  { return Text{b: append(t.b, p...)} }
func (t *Text) Wipe()                     { clear(t.b); t.b = nil }
func (t Text) equalBytes(p []byte) bool   { return string(t.b) == string(p) }
func (t Text) unexported() []byte         { return t.b }
func (t Text) private() bool              { return t.equalBytes(t.unexported()) }
func (Text) GoString() string             { return Redacted }
func (Text) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
func (t Text) IsEmpty() bool              { return len(t.b) == 0 }
func (t Text) Append(o Text) Text         { return Text{b: append(t.b, o.b...)} }

type Role uint8

const (
	RoleUser Role = iota + 1
	RoleAssistant
)

type PartKind uint8

type Part struct {
	Kind    PartKind
	Text    Text
	Args    Text
	IsError bool
}

type Message struct {
	Role  Role
	Parts []Part
}

type Request struct {
	System   []Text
	Messages []Message
}

type Delta struct {
	Index int
	Text  Text
}
