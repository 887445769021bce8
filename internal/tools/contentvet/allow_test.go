package contentvet

import "testing"

func TestStringAllowed(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"github.com/inference-relay/relay", true},
		{"github.com/inference-relay/relay/internal/wire", true},
		{"github.com/inference-relay/relay/internal/wire/openai", true},
		{"github.com/inference-relay/relay/internal/standin/ollama", true},
		{"github.com/inference-relay/relay/internal/route", false},
		{"github.com/inference-relay/relay/internal/wireless", false},
		{"github.com/inference-relay/relay/cmd/relay", false},
		{"example.com/internal/wire/x", true},
	} {
		if got := stringAllowed(tc.path, DefaultAllowString); got != tc.want {
			t.Errorf("stringAllowed(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if stringAllowed("example.com/a", "") || !stringAllowed("example.com/a", " /x/ , example.com/a ") {
		t.Error("custom allow list not honoured")
	}
}
