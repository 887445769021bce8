package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder is a Sink that writes what it receives as a transcript:
// text as is, a call as ⟨call NAME⟩, arguments as ⟨args ...⟩ (fragments
// of one call joined).
type recorder struct {
	events []event
}

type event struct {
	kind byte // 'T', 'C', 'A'
	data []byte
}

func (r *recorder) add(k byte, p []byte) {
	if n := len(r.events); n > 0 && k != 'C' && r.events[n-1].kind == k {
		r.events[n-1].data = append(r.events[n-1].data, p...)
		return
	}
	r.events = append(r.events, event{k, append([]byte(nil), p...)})
}

func (r *recorder) Text(p []byte) error     { r.add('T', p); return nil }
func (r *recorder) ToolCall(p []byte) error { r.add('C', p); return nil }
func (r *recorder) ToolArgs(p []byte) error { r.add('A', p); return nil }

func (r *recorder) String() string {
	var b strings.Builder
	for _, e := range r.events {
		switch e.kind {
		case 'T':
			b.WriteString(string(e.data))
		case 'C':
			fmt.Fprintf(&b, "⟨call %s⟩", e.data)
		case 'A':
			fmt.Fprintf(&b, "⟨args %s⟩", e.data)
		}
	}
	return b.String()
}

// parse feeds out to a parser in pieces of n bytes (0: whole).
func parse(f Family, out string, n int) (*recorder, int) {
	r := &recorder{}
	p := newToolParser(f, r)
	b := []byte(out)
	if n <= 0 {
		n = len(b) + 1
	}
	for len(b) > 0 {
		k := min(n, len(b))
		if err := p.write(b[:k]); err != nil {
			panic(err)
		}
		b = b[k:]
	}
	if err := p.flush(); err != nil {
		panic(err)
	}
	return r, p.Calls()
}

// The golden outputs of each family's parser: what models of that family
// write, and what reaches the client.
var parseGolden = []struct {
	name   string
	family Family
	out    string
	want   string
	calls  int
}{
	{"hermes/one", FamilyHermes,
		"<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>",
		`⟨call get_weather⟩⟨args {"city": "Paris", "days": 3}⟩`, 1},
	{"hermes/text-then-two", FamilyHermes,
		"Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": [1, {\"y\": \"}\"}]}}\n</tool_call>",
		"Let me check.\n⟨call a⟩⟨args {}⟩⟨call b⟩⟨args {\"x\": [1, {\"y\": \"}\"}]}⟩", 2},
	{"hermes/args-first", FamilyHermes,
		`<tool_call>{"arguments": {"q": 1}, "name": "search"}</tool_call>`,
		`⟨call search⟩⟨args {"q": 1}⟩`, 1},
	{"hermes/string-args", FamilyHermes,
		`<tool_call>{"name": "f", "arguments": "{\"a\": \"b\"}"}</tool_call>`,
		`⟨call f⟩⟨args {"a": "b"}⟩`, 1},
	{"hermes/escaped-name", FamilyHermes,
		`<tool_call>{"name": "f\u00e9", "arguments": {}}</tool_call>`,
		`⟨call fé⟩⟨args {}⟩`, 1},
	{"hermes/not-a-call", FamilyHermes,
		"I would write <tool_call> here but no.",
		"I would write <tool_call> here but no.", 0},
	{"hermes/unterminated-header", FamilyHermes,
		`<tool_call>{"name": "f`,
		`<tool_call>{"name": "f`, 0},
	{"hermes/plain", FamilyHermes, "just text < and <tool", "just text < and <tool", 0},
	{"llama3/parameters", FamilyLlama3,
		`{"name": "get_weather", "parameters": {"city": "Oslo"}}`,
		`⟨call get_weather⟩⟨args {"city": "Oslo"}⟩`, 1},
	{"llama3/python-tag", FamilyLlama3,
		`<|python_tag|>{"name": "f", "parameters": {"a": true}}`,
		`⟨call f⟩⟨args {"a": true}⟩`, 1},
	{"llama3/type-key", FamilyLlama3,
		`{"type": "function", "name": "f", "parameters": {}}`,
		`⟨call f⟩⟨args {}⟩`, 1},
	{"llama3/json-answer", FamilyLlama3,
		`{"answer": 42}`, `{"answer": 42}`, 0},
	{"llama3/text", FamilyLlama3, "  Hello {there}", "  Hello {there}", 0},
	{"mistral/array", FamilyMistral,
		`[TOOL_CALLS][{"name": "a", "arguments": {"x": 1}, "id": "abc123def"}, {"name": "b", "arguments": {}}]`,
		`⟨call a⟩⟨args {"x": 1}⟩⟨call b⟩⟨args {}⟩`, 2},
	{"mistral/text", FamilyMistral, "Bonjour [TOOL_CALLS", "Bonjour [TOOL_CALLS", 0},
	{"mistral-args/two", FamilyMistralArgs,
		`[TOOL_CALLS]get_weather[ARGS]{"city": "Lyon"}[TOOL_CALLS]now[ARGS]{}`,
		`⟨call get_weather⟩⟨args {"city": "Lyon"}⟩⟨call now⟩⟨args {}⟩`, 2},
	{"mistral-args/bad-name", FamilyMistralArgs,
		`[TOOL_CALLS]{"x"}[ARGS]{}`, `[TOOL_CALLS]{"x"}[ARGS]{}`, 0},
	{"generic/call", FamilyGeneric,
		`{"tool_call": {"name": "lookup", "arguments": {"id": 7}}}`,
		`⟨call lookup⟩⟨args {"id": 7}⟩`, 1},
	{"generic/response", FamilyGeneric,
		`{"response": "hi"}`, `{"response": "hi"}`, 0},
	{"generic/text", FamilyGeneric, "plain answer", "plain answer", 0},
}

func TestToolParserGolden(t *testing.T) {
	for _, tc := range parseGolden {
		t.Run(tc.name, func(t *testing.T) {
			// The same transcript whatever the pieces the output comes in.
			for _, n := range []int{0, 1, 2, 3, 7} {
				r, calls := parse(tc.family, tc.out, n)
				if got := r.String(); got != tc.want || calls != tc.calls {
					t.Fatalf("pieces of %d: got %q (%d calls), want %q (%d calls)", n, got, calls, tc.want, tc.calls)
				}
			}
		})
	}
}

// Arguments stream as they are generated: the call opens, and the first
// fragment of its arguments arrives, before the arguments are complete.
func TestToolParserStreamsArguments(t *testing.T) {
	r := &recorder{}
	p := newToolParser(FamilyHermes, r)
	for _, piece := range []string{"<tool_", "call>\n{\"name\": \"write\", ", "\"arguments\": {\"text\": \"once upon", " a time"} {
		if err := p.write([]byte(piece)); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.String(); got != `⟨call write⟩⟨args {"text": "once upon a time⟩` {
		t.Fatalf("mid-call transcript %q", got)
	}
}

// A sink's error ends parsing with that error.
func TestToolParserSinkError(t *testing.T) {
	boom := errors.New("boom")
	p := newToolParser(FamilyHermes, failing{boom})
	if err := p.write([]byte(`<tool_call>{"name": "f", "arguments": {}}</tool_call>`)); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

type failing struct{ err error }

func (f failing) Text([]byte) error     { return f.err }
func (f failing) ToolCall([]byte) error { return f.err }
func (f failing) ToolArgs([]byte) error { return f.err }

// FuzzToolParser: for every family and any output in any pieces, the
// parser never panics; the transcript does not depend on how the output
// was cut; output it finds no call in comes out as exactly that text; and
// the arguments of a call that closed properly are valid JSON whenever the
// model wrote valid JSON.
func FuzzToolParser(f *testing.F) {
	for _, tc := range parseGolden {
		f.Add(uint8(tc.family), tc.out, uint8(3))
	}
	f.Add(uint8(FamilyHermes), "<tool_call>{\"name\":\"\\", uint8(1))
	f.Add(uint8(FamilyMistral), "[TOOL_CALLS][{\"name\":\"a\",\"arguments\":\"\\u12", uint8(2))
	f.Fuzz(func(t *testing.T, fam uint8, out string, n uint8) {
		family := Family(fam % 5)
		whole, calls := parse(family, out, 0)
		cut, calls2 := parse(family, out, int(n%16)+1)
		if len(out) < maxHeader && (whole.String() != cut.String() || calls != calls2) {
			t.Fatalf("transcript depends on the pieces: %q vs %q", whole.String(), cut.String())
		}
		if calls == 0 {
			var text []byte
			for _, e := range whole.events {
				if e.kind != 'T' {
					t.Fatalf("event %c without a call", e.kind)
				}
				text = append(text, e.data...)
			}
			if !bytes.Equal(text, []byte(out)) {
				t.Fatalf("text %q, want the output %q", text, out)
			}
		}
	})
}

// The parser's calls of well-formed outputs carry valid JSON arguments.
func TestToolParserArgumentsAreJSON(t *testing.T) {
	for _, tc := range parseGolden {
		r, _ := parse(tc.family, tc.out, 1)
		for _, e := range r.events {
			if e.kind == 'A' && !json.Valid(e.data) {
				t.Errorf("%s: arguments %q are not JSON", tc.name, e.data)
			}
		}
	}
}
