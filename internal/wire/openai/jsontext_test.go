package openai

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

var stringSeeds = []string{
	`""`, `"plain"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`,
	`"\ud800"`, `"\udc00\ud800x"`, `"\ud83d\u0041"`, "\"raw \xff\xfe bytes\"", `"é😀"`,
	`"\u2028\u2029"`, `"<>&"`,
}

// TestUnquoteMatchesEncodingJSON checks unquote against encoding/json on
// valid strings, lone surrogates and invalid UTF-8 included.
func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	for _, s := range stringSeeds {
		checkUnquote(t, []byte(s))
	}
	for _, bad := range []string{`"unterminated`, `"bad \x escape"`, `"\u12"`, "\"ctl \x01\"", `"a"b"`, `x`, `"`} {
		if _, ok := unquote([]byte(bad)); ok {
			t.Errorf("unquote(%q) accepted a malformed string", bad)
		}
	}
}

func checkUnquote(t *testing.T, raw []byte) {
	t.Helper()
	var want string
	wantErr := json.Unmarshal(raw, &want)
	got, ok := unquote(raw)
	if !json.Valid(raw) || raw[0] != '"' || raw[len(raw)-1] != '"' {
		if ok && wantErr != nil {
			t.Errorf("unquote(%q) accepted what encoding/json rejects", raw)
		}
		return
	}
	if !ok {
		t.Errorf("unquote(%q) rejected a valid string", raw)
		return
	}
	if string(got) != want {
		t.Errorf("unquote(%q) = %q, encoding/json says %q", raw, got, want)
	}
}

// TestAppendStringRoundTrip checks that any bytes become valid JSON that
// decodes to the same text, invalid UTF-8 replaced.
func TestAppendStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\x7f", "é😀", "bad \xff end", "\u2028", "\n\r\t"} {
		checkAppendString(t, []byte(s))
	}
}

func checkAppendString(t *testing.T, s []byte) {
	t.Helper()
	out := appendString(nil, s)
	if !json.Valid(out) {
		t.Fatalf("appendString(%q) = %s: not valid JSON", s, out)
	}
	var back string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	want := []rune{}
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		want = append(want, r) // RuneError for invalid bytes, as JSON carries it
		s = s[n:]
	}
	if back != string(want) {
		t.Errorf("round trip gave %q, want %q", back, string(want))
	}
}

func FuzzUnquote(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkUnquote(t, raw)
		checkAppendString(t, raw)
	})
}
