package openai

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
)

// fullRequest exercises every kind of content the codec maps.
const fullRequest = `{
  "model": "client-model",
  "messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "developer", "content": [{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}]},
    {"role": "user", "content": "Hi"},
    {"role": "user", "content": [
      {"type": "text", "text": "Look:"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
      {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    ]},
    {"role": "assistant", "reasoning_content": "Think.", "content": "Calling.",
     "tool_calls": [
       {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\"q\":\"x\"}"}},
       {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}
     ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "found"},
    {"role": "tool", "tool_call_id": "call_2", "content": "12:00"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_3", "type": "function", "function": {"name": "now", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_3", "content": "13:00"},
    {"role": "user", "content": "Thanks"}
  ],
  "tools": [
    {"type": "function", "function": {"name": "search", "description": "Search it.", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "now"}}
  ],
  "tool_choice": "required",
  "parallel_tool_calls": false,
  "stop": ["END", "STOP"],
  "max_tokens": 100,
  "temperature": 0.25,
  "top_p": 0.5,
  "seed": 7
}`

func TestRoundTripDecodeEncodeUpstream(t *testing.T) {
	r, p, err := DecodeRequest([]byte(fullRequest))
	if err != nil {
		t.Fatal(err)
	}
	body, err := EncodeUpstream(logic.Target{Provider: "local", Model: "llama3"}, p, r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	type m = map[string]any
	type a = []any
	want := m{
		"model":          "llama3",
		"stream":         true,
		"stream_options": m{"include_usage": true},
		"max_tokens":     100.0, "temperature": 0.25, "top_p": 0.5, "seed": 7.0,
		"stop": a{"END", "STOP"},
		"messages": a{
			m{"role": "system", "content": "You are terse.\n\nRule one.\n\nRule two."},
			m{"role": "user", "content": "Hi"},
			m{"role": "user", "content": a{
				m{"type": "text", "text": "Look:"},
				m{"type": "image_url", "image_url": m{"url": "data:image/png;base64,iVBORw0KGgo="}},
				m{"type": "image_url", "image_url": m{"url": "https://example.com/cat.jpg"}},
			}},
			m{"role": "assistant", "content": "Calling.", "tool_calls": a{
				m{"id": "call_1", "type": "function", "function": m{"name": "search", "arguments": `{"q":"x"}`}},
				m{"id": "call_2", "type": "function", "function": m{"name": "now", "arguments": `{}`}},
			}},
			m{"role": "tool", "tool_call_id": "call_1", "content": "found"},
			m{"role": "tool", "tool_call_id": "call_2", "content": "12:00"},
			m{"role": "assistant", "content": nil, "tool_calls": a{
				m{"id": "call_3", "type": "function", "function": m{"name": "now", "arguments": `{}`}},
			}},
			m{"role": "tool", "tool_call_id": "call_3", "content": "13:00"},
			m{"role": "user", "content": "Thanks"},
		},
		"tools": a{
			m{"type": "function", "function": m{"name": "search", "description": "Search it.", "parameters": m{"type": "object", "properties": m{"q": m{"type": "string"}}}}},
			m{"type": "function", "function": m{"name": "now", "parameters": m{"type": "object", "properties": m{}}}},
		},
		"tool_choice":         "required",
		"parallel_tool_calls": false,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("upstream body (-want +got):\n%s", d)
	}
	checkReencodes(t, r, p)
}

func TestEncodeUpstreamMixedUserTurn(t *testing.T) {
	// A user turn (as the Anthropic front builds them) holding tool results
	// and text: results go first as tool messages, the text follows.
	r := &content.Request{Messages: []content.Message{
		{Role: content.RoleAssistant, Parts: []content.Part{
			{Kind: content.PartThinking, Text: tx("secret reasoning")},
			{Kind: content.PartToolCall, ToolID: tx("t1"), ToolName: tx("f"), Args: tx(`{}`)},
		}},
		{Role: content.RoleUser, Parts: []content.Part{
			{Kind: content.PartToolResult, ToolID: tx("t1"), Text: tx("result"), IsError: true},
			{Kind: content.PartText, Text: tx("and then?")},
			{Kind: content.PartImage, MediaType: tx("image/jpeg"), Data: tx("AAAA")},
		}},
	}, ToolChoice: content.ToolChoice{Mode: content.ToolChoiceTool, Name: tx("f")}}
	body, err := EncodeUpstream(logic.Target{Model: "m"}, logic.Params{}, r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("secret reasoning")) {
		t.Error("thinking must not be sent to a Chat Completions server")
	}
	if bytes.Contains(body, []byte("tool_choice")) {
		t.Error("tool_choice without tools is rejected by the API; it must be omitted")
	}
	var got struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range got.Messages {
		roles = append(roles, m["role"].(string))
	}
	if d := cmp.Diff([]string{"assistant", "tool", "user"}, roles); d != "" {
		t.Errorf("roles: %s", d)
	}
	user := got.Messages[2]["content"].([]any)
	if len(user) != 2 || user[1].(map[string]any)["image_url"].(map[string]any)["url"] != "data:image/jpeg;base64,AAAA" {
		t.Errorf("user content %v", user)
	}
}

func TestEncodeUpstreamRejects(t *testing.T) {
	r := &content.Request{Messages: []content.Message{{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: tx("x")}}}}}
	if _, err := EncodeUpstream(logic.Target{}, logic.Params{}, r); err == nil {
		t.Error("no model: want an error")
	}
	bad := *r
	bad.Tools = []content.Tool{{Name: tx("f"), Schema: tx(`[1]`)}}
	if _, err := EncodeUpstream(logic.Target{Model: "m"}, logic.Params{}, &bad); err == nil {
		t.Error("non-object schema: want an error")
	}
	bad.Tools = []content.Tool{{Name: tx("f"), Schema: tx(`{"a":`)}}
	_, err := EncodeUpstream(logic.Target{Model: "m"}, logic.Params{}, &bad)
	if err == nil {
		t.Error("broken schema: want an error")
	} else if strings.Contains(err.Error(), `{"a":`) {
		t.Error("error echoes the schema")
	}
}

// normalize maps a decoded request to what survives an upstream round trip:
// one system entry, no thinking, assistant text joined, no tool choice
// without tools.
func normalize(r *content.Request) *content.Request {
	out := &content.Request{Tools: r.Tools, Stop: r.Stop, ToolChoice: r.ToolChoice}
	if len(r.Tools) == 0 {
		out.ToolChoice = content.ToolChoice{}
	}
	if len(r.System) > 0 {
		var sys []byte
		for i, s := range r.System {
			if i > 0 {
				sys = append(sys, "\n\n"...)
			}
			sys = append(sys, s.Bytes()...)
		}
		out.System = []content.Text{content.Of(sys)}
	}
	for _, m := range r.Messages {
		nm := content.Message{Role: m.Role}
		var text []byte
		for _, p := range m.Parts {
			switch {
			case p.Kind == content.PartThinking:
			case m.Role == content.RoleAssistant && p.Kind == content.PartText:
				text = append(text, p.Text.Bytes()...)
			default:
				nm.Parts = append(nm.Parts, p)
			}
		}
		if len(text) > 0 {
			nm.Parts = append([]content.Part{{Kind: content.PartText, Text: content.Of(text)}}, nm.Parts...)
		}
		out.Messages = append(out.Messages, nm)
	}
	return out
}

// checkReencodes encodes r for upstream, decodes that body as a client
// request, and checks that nothing but the expected normalization changed.
func checkReencodes(t *testing.T, r *content.Request, p logic.Params) {
	t.Helper()
	body, err := EncodeUpstream(logic.Target{Model: "m"}, p, r)
	if err != nil {
		t.Fatalf("EncodeUpstream: %v", err)
	}
	if !json.Valid(body) {
		t.Fatalf("EncodeUpstream produced invalid JSON")
	}
	r2, p2, err := DecodeRequest(body)
	if err != nil {
		t.Fatalf("the upstream body does not decode: %v\n%s", err, body)
	}
	if d := cmp.Diff(normalize(r), normalize(r2), textEq); d != "" {
		t.Errorf("round trip changed the request (-first +second):\n%s", d)
	}
	if p2.MaxTokens != p.MaxTokens || !cmp.Equal(p2.Temperature, p.Temperature) || !cmp.Equal(p2.TopP, p.TopP) || !cmp.Equal(p2.Seed, p.Seed) {
		t.Errorf("params changed: %+v -> %+v", p, p2)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(fullRequest))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]}],"tool_choice":"none"}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"system","content":""},{"role":"tool","tool_call_id":"c","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"stop":"\u0000"}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"DATA:image/x;base64,\"q"}}]}],"temperature":1e-7}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}]} trailing`))
	for _, n := range outOfRange {
		f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],` + n + `}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, p, err := DecodeRequest(body)
		if err != nil {
			return
		}
		// Whatever was accepted is within what every backend can take.
		if pe := p.Check(); pe != nil {
			t.Fatalf("accepted params fail Check: %v", pe)
		}
		checkReencodes(t, r, p)
	})
}

// A system message inside the conversation goes to an OpenAI-compatible
// engine in its place, its text blocks joined as the system prompt's are.
func TestEncodeUpstreamSystemMessageInPlace(t *testing.T) {
	r := &content.Request{
		System: []content.Text{tx("top")},
		Messages: []content.Message{
			{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: tx("u1")}}},
			{Role: content.RoleSystem, Parts: []content.Part{{Kind: content.PartText, Text: tx("s1")}, {Kind: content.PartText, Text: tx("s2")}}},
			{Role: content.RoleAssistant, Parts: []content.Part{{Kind: content.PartText, Text: tx("a1")}}},
		},
	}
	body, err := EncodeUpstream(logic.Target{Model: "m"}, logic.Params{}, r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	var seq []string
	for _, m := range got.Messages {
		seq = append(seq, m.Role+":"+m.Content)
	}
	if d := cmp.Diff([]string{"system:top", "user:u1", "system:s1\n\ns2", "assistant:a1"}, seq); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}
