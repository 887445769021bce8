package route

import (
	"errors"
	"testing"

	"github.com/inference-relay/relay/internal/logic"
)

func TestResolve(t *testing.T) {
	tab := New([]Backend{
		{Name: "ollama", Models: []string{"llama3.2", "qwen3"}},
		{Name: "lmstudio", Models: []string{"qwen3", "phi4"}},
		{Name: "anthropic", Prefixes: []string{"claude"}},
	}, []Rule{
		{Match: "claude-haiku*", Target: "ollama/qwen3"},
		{Match: "fast", Target: "lmstudio/phi4"},
		{Match: "keep-*", Target: "anthropic"},
		{Match: "broken", Target: "nosuch/x"},
	})
	cases := []struct {
		model string
		want  logic.Target
		err   error
	}{
		{"claude-haiku-4-5", logic.Target{Provider: "ollama", Model: "qwen3"}, nil},
		{"claude-sonnet-4-5", logic.Target{Provider: "anthropic", Model: "claude-sonnet-4-5"}, nil},
		{"fast", logic.Target{Provider: "lmstudio", Model: "phi4"}, nil},
		{"keep-this", logic.Target{Provider: "anthropic", Model: "keep-this"}, nil},
		{"qwen3", logic.Target{Provider: "ollama", Model: "qwen3"}, nil},
		{"lmstudio/qwen3", logic.Target{Provider: "lmstudio", Model: "qwen3"}, nil},
		{"phi4", logic.Target{Provider: "lmstudio", Model: "phi4"}, nil},
		{"ollama/anything", logic.Target{Provider: "ollama", Model: "anything"}, nil},
		{"broken", logic.Target{}, ErrUnknownModel},
		{"nosuch/x", logic.Target{}, ErrUnknownModel},
		{"gpt-4o", logic.Target{}, ErrUnknownModel},
		{"", logic.Target{}, ErrUnknownModel},
	}
	for _, c := range cases {
		got, err := tab.Resolve(c.model)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("Resolve(%q) = %v, %v; want %v, %v", c.model, got, err, c.want, c.err)
		}
	}
}

func TestResolveNoBackends(t *testing.T) {
	if _, err := New(nil, []Rule{{Match: "*", Target: "x/y"}}).Resolve("m"); !errors.Is(err, ErrNoBackends) {
		t.Fatalf("err = %v", err)
	}
}

func TestModels(t *testing.T) {
	tab := New([]Backend{
		{Name: "a", Models: []string{"m1", "m2"}},
		{Name: "b", Models: []string{"m2"}},
	}, []Rule{{Match: "alias", Target: "b/m2"}, {Match: "glob-*", Target: "a/m1"}})
	var ids []string
	for _, m := range tab.Models() {
		ids = append(ids, m.ID+"@"+m.Backend)
	}
	want := []string{"m1@a", "a/m1@a", "m2@a", "a/m2@a", "b/m2@b", "alias@b"}
	if len(ids) != len(want) {
		t.Fatalf("got %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("got %v, want %v", ids, want)
		}
	}
	// Every listed model resolves to the backend it is listed under.
	for _, m := range tab.Models() {
		got, err := tab.Resolve(m.ID)
		if err != nil || got.Provider != m.Backend {
			t.Errorf("listed %q@%s resolves to %v, %v", m.ID, m.Backend, got, err)
		}
	}
}
