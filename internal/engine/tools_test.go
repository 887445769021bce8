package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hybridgroup/yzma/pkg/llama"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/gguf"
	"github.com/inference-relay/relay/internal/logic"
)

// schemas the constrained-decoding tests call, with what each exercises.
var testSchemas = []struct{ name, schema string }{
	{"required-fields", `{"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}, "days": {"type": "integer", "minimum": 1}, "metric": {"type": "boolean"}}, "required": ["city", "days", "metric"], "additionalProperties": false}`},
	{"enum", `{"type": "object", "properties": {"unit": {"enum": ["celsius", "fahrenheit", "kelvin"]}, "level": {"type": "integer", "enum": [1, 2, 3]}}, "required": ["unit", "level"]}`},
	{"array", `{"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "minItems": 1, "maxItems": 3}, "scores": {"type": "array", "items": {"type": "number"}, "maxItems": 2}}, "required": ["tags"]}`},
	{"nested", `{"type": "object", "properties": {"user": {"type": "object", "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 8}, "address": {"type": "object", "properties": {"zip": {"type": "string", "maxLength": 5}, "country": {"enum": ["FR", "DE"]}}, "required": ["country"]}}, "required": ["name", "address"]}, "note": {"type": ["string", "null"], "maxLength": 4}}, "required": ["user"]}`},
	{"optional-only", `{"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "null"}, "c": {"type": "integer", "minimum": 0}}}`},
}

func testTools() []Tool {
	var tools []Tool
	for _, s := range testSchemas {
		tools = append(tools, Tool{
			Name: content.FromString(s.name), Description: content.FromString("A test tool."),
			Schema: content.FromString(s.schema),
		})
	}
	return tools
}

// callRecorder collects calls.
type callRecorder struct {
	text  []byte
	calls []recordedCall
}

type recordedCall struct {
	name string
	args []byte
}

func (r *callRecorder) Text(p []byte) error { r.text = append(r.text, p...); return nil }
func (r *callRecorder) ToolCall(p []byte) error {
	r.calls = append(r.calls, recordedCall{name: string(p)})
	return nil
}
func (r *callRecorder) ToolArgs(p []byte) error {
	if len(r.calls) == 0 {
		return errors.New("arguments before a call")
	}
	c := &r.calls[len(r.calls)-1]
	c.args = append(c.args, p...)
	return nil
}

// TestConstrainedCallsValidate: with tool_choice naming a tool, or
// requiring any, the random-weight model's reply is a call whose
// arguments validate against the tool's schema, for every schema, greedy
// and sampled.
func TestConstrainedCallsValidate(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{ContextLength: 4096})
	s := session(t, m, 4096)
	tools := testTools()
	msgs := chat("Call a tool, please.")
	for i, sc := range testSchemas {
		for _, run := range []struct {
			temp float64
			seed uint32
		}{{0, 0}, {0.9, uint32(7 + i)}, {0.9, uint32(100 + i)}, {1.5, uint32(200 + i)}} {
			name := fmt.Sprintf("%s/temp=%v/seed=%d", sc.name, run.temp, run.seed)
			t.Run(name, func(t *testing.T) {
				rec := &callRecorder{}
				p := Params{MaxTokens: 800, Temperature: run.temp, Seed: run.seed, Tools: tools,
					ToolChoice: ToolChoice{Mode: ToolNamed, Name: content.FromString(sc.name), Single: true}}
				res, err := s.GenerateTo(context.Background(), msgs, p, rec)
				if err != nil {
					t.Fatal(err)
				}
				if res.Stop != logic.StopToolUse || res.ToolCalls != 1 || len(rec.calls) != 1 {
					t.Fatalf("stop %v, %d calls (%d recorded), text %q", res.Stop, res.ToolCalls, len(rec.calls), rec.text)
				}
				c := rec.calls[0]
				if c.name != sc.name {
					t.Fatalf("called %q, want %q", c.name, sc.name)
				}
				if err := validate(c.args, sc.schema); err != nil {
					t.Fatalf("arguments %s: %v", c.args, err)
				}
			})
		}
	}
	for _, seed := range []uint32{3, 4} {
		t.Run(fmt.Sprintf("required-any/seed=%d", seed), func(t *testing.T) {
			rec := &callRecorder{}
			p := Params{MaxTokens: 2200, Temperature: 0.7, Seed: seed, Tools: tools, ToolChoice: ToolChoice{Mode: ToolRequired}}
			res, err := s.GenerateTo(context.Background(), msgs, p, rec)
			if err != nil {
				t.Fatal(err)
			}
			if res.Stop != logic.StopToolUse || len(rec.calls) == 0 || len(rec.calls) > maxCalls || len(rec.text) > 1 {
				t.Fatalf("stop %v, %d calls, text %q", res.Stop, len(rec.calls), rec.text)
			}
			for _, c := range rec.calls {
				schema := ""
				for _, sc := range testSchemas {
					if sc.name == c.name {
						schema = sc.schema
					}
				}
				if err := validate(c.args, schema); schema == "" || err != nil {
					t.Fatalf("call %q arguments %s: %v", c.name, c.args, err)
				}
			}
		})
	}
}

// With tool_choice auto the random model writes text (it never opens a
// call), through the lazy grammar; with none, the tools are only shown.
func TestAutoAndNoneWriteText(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{ContextLength: 4096})
	s := session(t, m, 4096)
	for _, mode := range []ToolMode{ToolAuto, ToolNone} {
		rec := &callRecorder{}
		res, err := s.GenerateTo(context.Background(), chat("hello"), Params{MaxTokens: 20, Tools: testTools(), ToolChoice: ToolChoice{Mode: mode}}, rec)
		if err != nil {
			t.Fatal(err)
		}
		if res.Stop != logic.StopMaxTokens || len(rec.calls) != 0 || len(rec.text) == 0 {
			t.Fatalf("mode %d: stop %v, %d calls, %d text bytes", mode, res.Stop, len(rec.calls), len(rec.text))
		}
	}
}

// The generic format (a template that shows no tools) is constrained too.
func TestGenericFamilyCall(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{ContextLength: 4096, ChatTemplate: gguf.TinyPlainChatTemplate})
	if m.ToolFamily() != FamilyGeneric {
		t.Fatalf("family %v", m.ToolFamily())
	}
	s := session(t, m, 4096)
	rec := &callRecorder{}
	sc := testSchemas[1]
	p := Params{MaxTokens: 300, Tools: testTools()[1:2], ToolChoice: ToolChoice{Mode: ToolRequired, Single: true}}
	res, err := s.GenerateTo(context.Background(), chat("x"), p, rec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stop != logic.StopToolUse || len(rec.calls) != 1 || rec.calls[0].name != sc.name {
		t.Fatalf("stop %v, calls %d, text %q", res.Stop, len(rec.calls), rec.text)
	}
	if err := validate(rec.calls[0].args, sc.schema); err != nil {
		t.Fatal(err)
	}
}

// A conversation with a call and its result renders and generates; the
// result's content is tokenized as content.
func TestToolRoundTripPrompt(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{ContextLength: 4096})
	msgs, tools := toolConversation()
	n, err := m.CountTokens(msgs, tools...)
	if err != nil || n == 0 {
		t.Fatalf("count %d, %v", n, err)
	}
	s := session(t, m, 4096)
	res, err := s.Generate(context.Background(), msgs, Params{MaxTokens: 5}, func([]byte) error { return nil })
	if err != nil || res.PromptTokens == 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

// Schemas the engine cannot constrain are refused as invalid requests,
// naming the tool by position and the keyword, never the content.
func TestSchemaRefusals(t *testing.T) {
	deep := `{"type": "string"}`
	for range maxSchemaDepth + 2 {
		deep = `{"type": "object", "properties": {"secretprop": ` + deep + `}}`
	}
	cases := []struct{ schema, reason string }{
		{`{"type": "object", "properties": {"secretprop": {"type": "string", "not": {"pattern": "^a"}}}}`, `"not"`},
		{`{"$ref": "#/defs/x"}`, `"$ref"`},
		{`{"type": "object", "properties": {"secretprop": {"allOf": [{"type": "integer"}]}}}`, `"allOf"`},
		{`{"type": "array", "items": {"type": "string"}, "maxItems": -1}`, `"maxItems"`},
		{deep, "deeper"},
		{`{"type": "object", "properties": {"secretprop": {"type": "str"}}}`, "unknown type"},
		{`{"type": "object", "required": ["secretprop"], "properties": {}}`, `"required"`},
		{`{"enum": [{"secretprop": 1}]}`, `"enum"`},
		{`{"type": "object", "properties": `, "not valid JSON"},
		{`{"type": "object", "description": "` + strings.Repeat("x", maxSchemaBytes) + `"}`, "larger than"},
	}
	for _, tc := range cases {
		tools := []Tool{{Name: content.FromString("ok"), Schema: content.FromString(`{"type": "object"}`)},
			{Name: content.FromString("secretname"), Schema: content.FromString(tc.schema)}}
		_, err := toolGrammar(FamilyHermes, tools, -1, false)
		var se *SchemaError
		if !errors.As(err, &se) || se.Tool != 1 || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("schema %.60s: err %v, want tools[1] and %s", tc.schema, err, tc.reason)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error quotes content: %v", err)
		}
	}
	for _, name := range []string{"", "a\x00", "sp ace", `q"`, strings.Repeat("n", 129)} {
		_, err := toolGrammar(FamilyHermes, []Tool{{Name: content.FromString(name)}}, -1, false)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "name") {
			t.Errorf("name %q: %v", name, err)
		}
	}
	many := make([]Tool, maxTools+1)
	if _, err := toolGrammar(FamilyHermes, many, -1, false); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many tools: %v", err)
	}
}

// Schemas as Claude Code sends them are accepted.
func TestClaudeCodeLikeSchema(t *testing.T) {
	schema := `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
	"properties": {"file_path": {"type": "string", "description": "The absolute path"}, "offset": {"type": "number", "description": "Line"},
	"limit": {"type": "integer", "exclusiveMinimum": 0}, "todos": {"type": "array", "items": {"type": "object", "properties": {
	"content": {"type": "string", "minLength": 1}, "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]}},
	"required": ["content", "status"], "additionalProperties": false}}, "mode": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
	"required": ["file_path"]}`
	for _, f := range []Family{FamilyGeneric, FamilyHermes, FamilyLlama3, FamilyMistral, FamilyMistralArgs} {
		if _, err := toolGrammar(f, []Tool{{Name: content.FromString("Read"), Schema: content.FromString(schema)}}, -1, false); err != nil {
			t.Errorf("%v: %v", f, err)
		}
	}
}

// validate checks v against the subset of JSON Schema the grammar
// supports, independently of the grammar's code.
func validate(v []byte, schema string) error {
	if !utf8.Valid(v) {
		return errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var val any
	if err := dec.Decode(&val); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(schema), &s); err != nil {
		return err
	}
	if _, ok := val.(map[string]any); !ok {
		return errors.New("arguments are not an object")
	}
	return check(val, s, "$")
}

func check(v any, s map[string]any, at string) error {
	if e, ok := s["enum"].([]any); ok {
		for _, x := range e {
			if fmt.Sprint(x) == fmt.Sprint(v) {
				return nil
			}
		}
		return fmt.Errorf("%s: %v not in enum", at, v)
	}
	types := []string{}
	switch t := s["type"].(type) {
	case string:
		types = append(types, t)
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	}
	var errs []error
	for _, t := range types {
		err := checkType(v, t, s, at)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkType(v any, t string, s map[string]any, at string) error {
	num := func(k string) (float64, bool) { f, ok := s[k].(float64); return f, ok }
	switch t {
	case "object":
		o, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", at)
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := o[r.(string)]; !ok {
				return fmt.Errorf("%s: missing %s", at, r)
			}
		}
		for k, x := range o {
			ps, ok := props[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s: unexpected property %q", at, k)
			}
			if err := check(x, ps, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: not an array", at)
		}
		if n, ok := num("minItems"); ok && float64(len(a)) < n {
			return fmt.Errorf("%s: too few items", at)
		}
		if n, ok := num("maxItems"); ok && float64(len(a)) > n {
			return fmt.Errorf("%s: too many items", at)
		}
		items, _ := s["items"].(map[string]any)
		for i, x := range a {
			if err := check(x, items, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: not a string", at)
		}
		n := float64(utf8.RuneCountInString(str))
		if m, ok := num("minLength"); ok && n < m {
			return fmt.Errorf("%s: too short", at)
		}
		if m, ok := num("maxLength"); ok && n > m {
			return fmt.Errorf("%s: too long", at)
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: not a number", at)
		}
		f, err := n.Float64()
		if err != nil {
			return err
		}
		if t == "integer" {
			if _, err := n.Int64(); err != nil {
				return fmt.Errorf("%s: not an integer", at)
			}
		}
		if m, ok := num("minimum"); ok && f < m {
			return fmt.Errorf("%s: below minimum", at)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: not a boolean", at)
		}
	case "null":
		if v != nil {
			return fmt.Errorf("%s: not null", at)
		}
	default:
		return fmt.Errorf("unknown type %q", t)
	}
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

// Every family's grammar, eager and lazy (with its trigger pattern), is
// accepted by llama.cpp's grammar parser.
func TestGrammarsParse(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{ContextLength: 4096})
	for _, f := range []Family{FamilyGeneric, FamilyHermes, FamilyLlama3, FamilyMistral, FamilyMistralArgs} {
		for _, single := range []bool{false, true} {
			text, err := toolGrammar(f, testTools(), -1, single)
			if err != nil {
				t.Fatal(err)
			}
			for _, lazy := range []bool{false, true} {
				spec := toolGrammarSpec{active: true, text: text, lazy: lazy, trigger: triggerPattern(f)}
				smpl, err := newSampler(Params{}, m.vocab, spec)
				if err != nil {
					t.Fatalf("%v single=%v lazy=%v: %v", f, single, lazy, err)
				}
				llama.SamplerFree(smpl)
			}
		}
	}
}

// A grammar llama.cpp cannot parse is an error, not a crash.
func TestBadGrammarRefused(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	if _, err := newSampler(Params{}, m.vocab, toolGrammarSpec{active: true, text: "root ::= missing-rule\n"}); err == nil {
		t.Fatal("a grammar with an undefined rule was accepted")
	}
}

// The tools Claude Code 2.1.337 sends with every request (their schemas,
// descriptions replaced; captured from the pinned CLI) make a grammar that
// llama.cpp parses, eager and lazy: their numeric bounds, patterns and long
// length limits are enforced loosely, not refused.
func TestClaudeCodeToolsMakeAGrammar(t *testing.T) {
	b, err := os.ReadFile("testdata/claude-code-tools.json")
	if err != nil {
		t.Fatal(err)
	}
	var defs []struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"input_schema"`
	}
	if err := json.Unmarshal(b, &defs); err != nil {
		t.Fatal(err)
	}
	if len(defs) < 12 {
		t.Fatalf("%d tools in the fixture, want Claude Code's 12 or more", len(defs))
	}
	var tools []Tool
	for _, d := range defs {
		tools = append(tools, Tool{Name: content.FromString(d.Name), Schema: content.Of(d.Schema)})
	}
	m := tinyModel(t, gguf.TinyOptions{ContextLength: 4096})
	for _, f := range []Family{FamilyHermes, FamilyGeneric} {
		text, err := toolGrammar(f, tools, -1, false)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		for _, lazy := range []bool{false, true} {
			smpl, err := newSampler(Params{}, m.vocab, toolGrammarSpec{active: true, text: text, lazy: lazy, trigger: triggerPattern(f)})
			if err != nil {
				t.Fatalf("%v lazy=%v: %v", f, lazy, err)
			}
			llama.SamplerFree(smpl)
		}
	}
}
