package anthropic

import (
	"slices"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
)

// A new top-level field is dropped and reported by name (a short
// identifier) or as "other" (anything else, never the key itself); the
// rest of the request decodes as if it were not there.
func TestUnknownTopLevelFieldsDropped(t *testing.T) {
	body := `{"model":"m","max_tokens":1,"frobnicate":{"deep":[1,{"x":"}"}]},"a secret key":"v",` +
		`"Model_Hint\u0041":true,"messages":[{"role":"user","content":"hi"}],"zzz":null}`
	var got []string
	r, p, err := DecodeRequestReporting([]byte(body), func(name string) { got = append(got, name) })
	if err != nil {
		t.Fatal(err)
	}
	if p.Model != "m" || len(r.Messages) != 1 || str(r.Messages[0].Parts[0].Text) != "hi" {
		t.Fatal("request decoded wrong")
	}
	want := []string{"frobnicate", wire.Other, "Model_HintA", "zzz"}
	if !slices.Equal(got, want) {
		t.Fatalf("reported %q, want %q", got, want)
	}
	// Known fields match without regard to case, as encoding/json
	// decodes them: MODEL is the model, not an unknown field.
	got = nil
	if _, p, err := DecodeRequestReporting([]byte(`{"MODEL":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`), func(n string) { got = append(got, n) }); err != nil || p.Model != "m" || len(got) != 0 {
		t.Fatalf("case-folded known field: err %v, model %q, reported %q", err, p.Model, got)
	}
	// Without a reporter the field is dropped all the same.
	if _, _, err := DecodeRequest([]byte(body)); err != nil {
		t.Fatal(err)
	}
	// count_tokens follows the same policy.
	got = nil
	if _, _, err := DecodeCountTokensReporting([]byte(`{"model":"m","new_thing":1,"messages":[{"role":"user","content":"hi"}]}`), func(n string) { got = append(got, n) }); err != nil || !slices.Equal(got, []string{"new_thing"}) {
		t.Fatalf("count_tokens: err %v, reported %q", err, got)
	}
}

// System messages inside messages keep their place in the conversation.
func TestSystemMessagesInOrder(t *testing.T) {
	body := `{"model":"m","max_tokens":1,"system":"top",
	  "messages":[{"role":"user","content":"u1"},
	    {"role":"system","content":[{"type":"text","text":"s1","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"text","text":"s2"}]},
	    {"role":"assistant","content":"a1"},
	    {"role":"system","content":"s3"},
	    {"role":"user","content":"u2"}]}`
	r, _, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var roles []content.Role
	for _, m := range r.Messages {
		roles = append(roles, m.Role)
	}
	want := []content.Role{content.RoleUser, content.RoleSystem, content.RoleAssistant, content.RoleSystem, content.RoleUser}
	if !slices.Equal(roles, want) {
		t.Fatalf("roles %v, want %v", roles, want)
	}
	if s := r.Messages[1].Parts; len(s) != 2 || str(s[0].Text) != "s1" || str(s[1].Text) != "s2" || str(r.Messages[3].Parts[0].Text) != "s3" {
		t.Fatal("system message text wrong")
	}
	if len(r.System) != 1 || str(r.System[0]) != "top" {
		t.Fatal("top-level system wrong")
	}
	var all []string
	for _, s := range r.SystemTexts() {
		all = append(all, str(s))
	}
	if !slices.Equal(all, []string{"top", "s1", "s2", "s3"}) {
		t.Fatalf("SystemTexts = %q", all)
	}
}

func TestThinkingConfig(t *testing.T) {
	for _, tc := range []struct {
		thinking string
		want     logic.Thinking
		shown    bool
	}{
		{``, logic.Thinking{}, false},
		{`,"thinking":null`, logic.Thinking{}, false},
		{`,"thinking":{"type":"disabled"}`, logic.Thinking{Mode: logic.ThinkingDisabled}, false},
		{`,"thinking":{"type":"enabled","budget_tokens":1024}`, logic.Thinking{Mode: logic.ThinkingEnabled, Budget: 1024}, true},
		{`,"thinking":{"type":"enabled","budget_tokens":4000,"display":"summarized"}`, logic.Thinking{Mode: logic.ThinkingEnabled, Budget: 4000}, true},
		{`,"thinking":{"type":"adaptive"}`, logic.Thinking{Mode: logic.ThinkingAdaptive}, true},
		{`,"thinking":{"type":"adaptive","display":"omitted"}`, logic.Thinking{Mode: logic.ThinkingAdaptive, Omit: true}, false},
		// A display mode from a beta (Claude Code 2.1.337 sends it).
		{`,"thinking":{"type":"adaptive","display":"updates"}`, logic.Thinking{Mode: logic.ThinkingAdaptive}, true},
		{`,"thinking":{"type":"adaptive","display":null}`, logic.Thinking{Mode: logic.ThinkingAdaptive}, true},
	} {
		_, p, err := DecodeRequest([]byte(`{"model":"m","max_tokens":32000` + tc.thinking + `,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatalf("%s: %v", tc.thinking, err)
		}
		if p.Thinking != tc.want || p.Thinking.Shown() != tc.shown {
			t.Errorf("%s: %+v (shown %v), want %+v (shown %v)", tc.thinking, p.Thinking, p.Thinking.Shown(), tc.want, tc.shown)
		}
	}
}

// The shape of a Claude Code 2.1.337 request, every option in place (the
// checked-in captures in internal/e2e/testdata are decoded by the
// end-to-end package's own test).
func TestClaudeCodeShapedRequest(t *testing.T) {
	body := `{"model":"local","messages":[
	  {"role":"user","content":[{"type":"text","text":"<system-reminder>r</system-reminder>"},{"type":"text","text":"say hi"}]},
	  {"role":"system","content":[{"type":"text","text":"# Environment","cache_control":{"type":"ephemeral"}}]}],
	  "system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.337"},{"type":"text","text":"You are…","cache_control":{"type":"ephemeral"}}],
	  "tools":[{"name":"Bash","description":"d","input_schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{},"additionalProperties":false}},
	           {"name":"DeferredToolPlaceholder","description":"p","input_schema":{"type":"object","properties":{}},"defer_loading":true}],
	  "metadata":{"user_id":"{\"device_id\":\"abc\",\"account_uuid\":\"\",\"session_id\":\"s\"}"},
	  "max_tokens":32000,"thinking":{"type":"adaptive","display":"updates"},
	  "context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},
	  "output_config":{"effort":"high"},"stream":true}`
	r, p, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxTokens != 32000 || !p.Stream || !p.Thinking.Shown() || len(r.Tools) != 2 || len(r.Messages) != 2 || r.Messages[1].Role != content.RoleSystem {
		t.Fatalf("decoded wrong: %+v", p)
	}
	if strings.Contains(string(r.Messages[0].Parts[1].Text.Bytes()), "hi") == false {
		t.Fatal("prompt lost")
	}
}
