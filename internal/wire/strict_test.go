package wire_test

import (
	"bytes"
	"encoding/json"
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
		// An unknown top-level field is dropped, not refused, on both
		// fronts (the policy for tomorrow's fields, TestFrontsAgreeOnUnknownFields);
		// so these bodies fail on what they lack: the model.
		{"unknown identifier", `{"frobnicate":1}`, "model", ""},
		{"unknown non-identifier", `{"a secret key":1}`, "model", ""},
		{"unknown long key", `{"` + strings.Repeat("k", 65) + `":1}`, "model", ""},
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
				if re.Field != tc.field || tc.msg != "" && re.Msg != tc.msg {
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

// Both fronts drop the same unknown top-level fields and report them the
// same way; below the top level an unknown field is still an error.
func TestFrontsAgreeOnUnknownFields(t *testing.T) {
	const extra = `"frobnicate":{"a":[1,"]"]},"a secret key":1,"` + "\\u00e9t\\u00e9" + `":2,`
	bodies := map[string]string{
		"openai":    `{` + extra + `"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		"anthropic": `{` + extra + `"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`,
	}
	want := []string{"frobnicate", wire.Other, wire.Other}
	for front, body := range bodies {
		var got []string
		count := func(n string) { got = append(got, n) }
		var err error
		if front == "openai" {
			_, _, err = openai.DecodeRequestReporting([]byte(body), count)
		} else {
			_, _, err = anthropic.DecodeRequestReporting([]byte(body), count)
		}
		if err != nil {
			t.Fatalf("%s: %v", front, err)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: reported %q, want %q", front, got, want)
		}
	}
	nested := map[string]string{
		"openai":    `{"model":"m","messages":[{"role":"user","content":"hi","mood":1}]}`,
		"anthropic": `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi","mood":1}]}`,
	}
	for front, body := range nested {
		var err error
		if front == "openai" {
			_, _, err = openai.DecodeRequest([]byte(body))
		} else {
			_, _, err = anthropic.DecodeRequest([]byte(body))
		}
		var re *wire.RequestError
		if !errors.As(err, &re) || re.Field != "messages[0].mood" || re.Msg != "unknown field" {
			t.Errorf("%s: nested unknown field: %v", front, err)
		}
	}
}

// topLevelKeys lists an object's keys with encoding/json's tokenizer, the
// reference DecodeTop's own scanner is held to.
func topLevelKeys(body []byte) ([]string, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, false
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return nil, false
		}
	}
	return keys, true
}

type fuzzTop struct {
	Model string          `json:"model"`
	Raw   json.RawMessage `json:"raw"`
}

// FuzzDecodeTop: on any body DecodeTop either fails cleanly or reports
// exactly the keys encoding/json sees, less the known ones, each as a
// SafeName or "other".
func FuzzDecodeTop(f *testing.F) {
	for _, s := range []string{`{}`, `{"model":"m"}`, `{"x":1,"raw":[1,{"a":"}"}]}`, `{"a\"b":"\\","c" : [ ] , "d":{"e":{}}}`, `{"model":1}`, `[]`, `{"x":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v fuzzTop
		var got []string
		err := wire.DecodeTop(body, &v, func(n string) { got = append(got, n) })
		if err != nil {
			var re *wire.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not a *wire.RequestError", err)
			}
			return
		}
		keys, ok := topLevelKeys(body)
		if !ok {
			t.Fatalf("DecodeTop accepted what the tokenizer refuses")
		}
		var want []string
		for _, k := range keys {
			if strings.EqualFold(k, "model") || strings.EqualFold(k, "raw") {
				continue
			}
			if wire.SafeName(k) {
				want = append(want, k)
			} else {
				want = append(want, wire.Other)
			}
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("reported %q, want %q", got, want)
		}
	})
}
