package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
)

func ptr[T any](v T) *T { return &v }

// decodeJSON parses b into a generic value for comparison.
func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

func TestEncodeUpstream(t *testing.T) {
	part := func(p content.Part) content.Part { return p }
	r := &content.Request{
		System: []content.Text{content.FromString("sys"), {}},
		Messages: []content.Message{
			{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: content.FromString("a")}}},
			{Role: content.RoleUser, Parts: []content.Part{
				{Kind: content.PartText, Text: content.FromString("")},
				{Kind: content.PartImage, URL: content.FromString("data:image/png;base64,QUJD")},
			}},
			{Role: content.RoleAssistant, Parts: []content.Part{
				{Kind: content.PartThinking, Text: content.FromString("unsigned")},
				{Kind: content.PartThinking, Text: content.FromString("signed"), Signature: content.FromString("s")},
				{Kind: content.PartText, Text: content.FromString("")},
				{Kind: content.PartToolCall, ToolID: content.FromString("call_1"), ToolName: content.FromString("f"), Args: content.FromString("not json")},
				{Kind: content.PartToolCall, ToolID: content.FromString("call_2"), ToolName: content.FromString("f"), Args: content.FromString(`{"x": 1}`)},
			}},
			// OpenAI-shaped: each tool result its own message, user text first.
			{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: content.FromString("also")}}},
			{Role: content.RoleUser, Parts: []content.Part{part(content.Part{Kind: content.PartToolResult, ToolID: content.FromString("call_1"), Text: content.FromString("r1"), IsError: true})}},
			{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartToolResult, ToolID: content.FromString("call_2")}}},
			{Role: content.RoleAssistant, Parts: []content.Part{{Kind: content.PartThinking, Text: content.FromString("dropped")}}},
			{Role: content.RoleAssistant, Parts: []content.Part{{Kind: content.PartImage, URL: content.FromString("https://x/y.png")}}},
		},
		Tools: []content.Tool{
			{Name: content.FromString("f"), Description: content.FromString("does f"), Schema: content.FromString(`{"type": "object", "properties": {}}`)},
			{Name: content.FromString("g")},
		},
		ToolChoice: content.ToolChoice{Mode: content.ToolChoiceAny, DisableParallel: true},
		Stop:       []content.Text{content.FromString("STOP")},
	}
	p := logic.Params{Temperature: ptr(1.7), TopP: ptr(0.5), TopK: ptr(3), Seed: ptr(int64(9))}
	b, err := EncodeUpstream(logic.Target{Provider: "anthropic", Model: "claude-x"}, p, r)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeJSON(t, b)
	want := decodeJSON(t, []byte(`{
	  "model":"claude-x","max_tokens":4096,"stream":true,
	  "system":[{"type":"text","text":"sys"}],
	  "messages":[
	    {"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"QUJD"}}]},
	    {"role":"assistant","content":[
	      {"type":"thinking","thinking":"signed","signature":"s"},
	      {"type":"tool_use","id":"call_1","name":"f","input":{}},
	      {"type":"tool_use","id":"call_2","name":"f","input":{"x":1}}]},
	    {"role":"user","content":[
	      {"type":"tool_result","tool_use_id":"call_1","content":"r1","is_error":true},
	      {"type":"tool_result","tool_use_id":"call_2"},
	      {"type":"text","text":"also"}]},
	    {"role":"assistant","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}
	  ],
	  "temperature":1,"top_p":0.5,"top_k":3,"stop_sequences":["STOP"],
	  "tools":[{"name":"f","description":"does f","input_schema":{"type":"object","properties":{}}},{"name":"g","input_schema":{"type":"object"}}],
	  "tool_choice":{"type":"any","disable_parallel_tool_use":true}
	}`))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EncodeUpstream mismatch (-want +got):\n%s", diff)
	}
}

func TestEncodeUpstreamParams(t *testing.T) {
	r := &content.Request{Messages: []content.Message{{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: content.FromString("x")}}}},
		ToolChoice: content.ToolChoice{Mode: content.ToolChoiceTool, Name: content.FromString("f")}}
	b, err := EncodeUpstream(logic.Target{Model: "m"}, logic.Params{MaxTokens: 7, Temperature: ptr(-1.0)}, r)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeJSON(t, b)
	if got["max_tokens"] != 7.0 || got["temperature"] != 0.0 || got["stream"] != true {
		t.Errorf("params: %s", b)
	}
	if _, ok := got["tool_choice"]; ok {
		t.Errorf("tool_choice sent without tools: %s", b)
	}
	if _, ok := got["system"]; ok {
		t.Errorf("empty system sent: %s", b)
	}
	bad := &content.Request{Messages: []content.Message{{Role: 9}}}
	if _, err := EncodeUpstream(logic.Target{Model: "m"}, logic.Params{}, bad); err == nil {
		t.Error("unknown role accepted")
	}
	ct, err := EncodeUpstreamCountTokens(logic.Target{Model: "m"}, r)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(decodeJSON(t, []byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`)), decodeJSON(t, ct)); diff != "" {
		t.Errorf("count tokens body (-want +got):\n%s", diff)
	}
}

// What a client sent through the front reaches the Anthropic API intact.
func TestDecodeThenEncodeUpstreamRoundTrip(t *testing.T) {
	in := `{"model":"claude-x","max_tokens":50,"temperature":0.25,"stop_sequences":["END"],
	  "system":[{"type":"text","text":"you are terse"}],
	  "tools":[{"name":"lookup","description":"d","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}}],
	  "tool_choice":{"type":"auto","disable_parallel_tool_use":true},
	  "messages":[
	    {"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4A=="}},{"type":"image","source":{"type":"url","url":"https://example.com/i.png"}}]},
	    {"role":"assistant","content":[{"type":"thinking","thinking":"let me look","signature":"EqQB"},{"type":"text","text":"looking"},{"type":"tool_use","id":"toolu_01","name":"lookup","input":{"q":"cat"}},{"type":"tool_use","id":"toolu_02","name":"lookup","input":{}}]},
	    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"a cat","is_error":false},
	      {"type":"tool_result","tool_use_id":"toolu_02","content":[{"type":"text","text":"a picture"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}],"is_error":true},
	      {"type":"text","text":"thanks"}]}
	  ]}`
	r, p, err := DecodeRequest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := EncodeUpstream(logic.Target{Model: "claude-x"}, p, r)
	if err != nil {
		t.Fatal(err)
	}
	want := decodeJSON(t, []byte(in))
	want["stream"] = true
	// is_error:false is the default and is left out.
	delete(want["messages"].([]any)[2].(map[string]any)["content"].([]any)[0].(map[string]any), "is_error")
	if diff := cmp.Diff(want, decodeJSON(t, out)); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

// The Anthropic API takes system text only at the top: a system message
// inside the conversation joins the system field after the system prompt,
// in order, and leaves messages.
func TestEncodeUpstreamHoistsSystemMessages(t *testing.T) {
	tx := content.FromString
	r := &content.Request{
		System: []content.Text{tx("top")},
		Messages: []content.Message{
			{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: tx("u1")}}},
			{Role: content.RoleSystem, Parts: []content.Part{{Kind: content.PartText, Text: tx("s1")}}},
			{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: tx("u2")}}},
			{Role: content.RoleSystem, Parts: []content.Part{{Kind: content.PartText, Text: tx("s2")}}},
		},
	}
	b, err := EncodeUpstream(logic.Target{Provider: "anthropic", Model: "claude-x"}, logic.Params{MaxTokens: 10}, r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		System []struct {
			Text string `json:"text"`
		} `json:"system"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var sys, msgs []string
	for _, s := range got.System {
		sys = append(sys, s.Text)
	}
	for _, m := range got.Messages {
		for _, c := range m.Content {
			msgs = append(msgs, m.Role+":"+c.Text)
		}
	}
	if d := cmp.Diff([]string{"top", "s1", "s2"}, sys); d != "" {
		t.Errorf("system (-want +got):\n%s", d)
	}
	// The two user turns merge once the system message between them is gone.
	if d := cmp.Diff([]string{"user:u1", "user:u2"}, msgs); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}
