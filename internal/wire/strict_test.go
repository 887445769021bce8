package wire_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/wire"
	"github.com/inference-relay/relay/internal/wire/anthropic"
	"github.com/inference-relay/relay/internal/wire/openai"
)

// Both fronts decode through one toolkit, so the same malformed body gets
// the same error: same field, same words, same byte offset.
func TestFrontsAgreeOnMalformedBodies(t *testing.T) {
	for _, tc := range []struct {
		name, body, field, msg string
	}{
		{"empty", ``, "", "request body is empty"},
		{"white space only", " \n\t", "", "request body is empty"},
		{"truncated", `{"model":"m"`, "", "malformed JSON at byte offset 12"},
		{"bad byte", `{"model":"m",}`, "", "malformed JSON at byte offset 13"},
		{"bad byte later", `{"model": "m", "x": tru}`, "", "malformed JSON at byte offset 23"},
		{"array", `[1]`, "", "request body must be a JSON object"},
		{"string", `"hello"`, "", "request body must be a JSON object"},
		{"trailing object", `{"model":"m"} {}`, "", "unexpected data after the JSON object at byte offset 13"},
		{"trailing garbage", `{"model":"m"}x`, "", "unexpected data after the JSON object at byte offset 13"},
		{"unknown identifier", `{"frobnicate":1}`, "frobnicate", "unknown field"},
		{"unknown non-identifier", `{"a secret key":1}`, "", "unknown field"},
		{"unknown long key", `{"` + strings.Repeat("k", 65) + `":1}`, "", "unknown field"},
		{"model type", `{"model":1}`, "model", "must be a string"},
		{"stream type", `{"model":"m","stream":"yes"}`, "stream", "must be a boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, oerr := openai.DecodeRequest([]byte(tc.body))
			_, _, aerr := anthropic.DecodeRequest([]byte(tc.body))
			for front, err := range map[string]error{"openai": oerr, "anthropic": aerr} {
				var re *wire.RequestError
				if !errors.As(err, &re) {
					t.Fatalf("%s: error %v, want a *wire.RequestError", front, err)
				}
				if re.Field != tc.field || re.Msg != tc.msg {
					t.Errorf("%s: field %q msg %q, want field %q msg %q", front, re.Field, re.Msg, tc.field, tc.msg)
				}
			}
		})
	}
}

func TestSafeName(t *testing.T) {
	for name, want := range map[string]bool{
		"frobnicate": true, "max_tokens": true, "x-y": true, "A9": true,
		"": false, "a b": false, "a.b": false, "é": false, "a\x00": false, strings.Repeat("a", 65): false, strings.Repeat("a", 64): true,
	} {
		if got := wire.SafeName(name); got != want {
			t.Errorf("SafeName(%q) = %v, want %v", name, got, want)
		}
	}
}
