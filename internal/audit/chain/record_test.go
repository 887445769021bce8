package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

var validLine = `{"seq":1,"prev":"` + genesisPrev + `","event":{"a":1},"hash":"` + sha256hex("1|"+genesisPrev+`|{"a":1}`) + `"}`

func TestParseLine(t *testing.T) {
	h := sha256hex("x")
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{validLine, true},
		{`{"seq":2,"prev":"` + h + `","event":{},"hash":"` + h + `"}`, true}, // parses; Verify checks hashes
		{`{"seq":1, "prev":"` + h + `","event":{},"hash":"` + h + `"}`, false},
		{`{"prev":"` + h + `","seq":1,"event":{},"hash":"` + h + `"}`, false},
		{`{"SEQ":1,"prev":"` + h + `","event":{},"hash":"` + h + `"}`, false},
		{`{"seq":1,"prev":"` + h + `","event":{},"hash":"` + h + `","x":1}`, false},
		{`{"seq":1,"prev":"` + h + `","event":{},"hash":"` + h + `"} `, false},
		{`{"seq":0,"prev":"` + h + `","event":{},"hash":"` + h + `"}`, false},
		{`{"seq":01,"prev":"` + h + `","event":{},"hash":"` + h + `"}`, false},
		{`{"seq":1,"prev":"` + h[:63] + `","event":{},"hash":"` + h + `"}`, false},
		{`{"seq":1,"prev":"` + h + `","event":[],"hash":"` + h + `"}`, false},
		{`{"seq":1,"prev":"` + h + `","event":"x","hash":"` + h + `"}`, false},
		{`{"seq":1,"prev":"` + string(bytes.ToUpper([]byte(h))) + `","event":{},"hash":"` + h + `"}`, false},
		{`{"seq":1,"prev":"` + h + `","event":{},"hash":"` + h + `"}{}`, false},
		{``, false},
		{`null`, false},
	} {
		_, err := parseLine([]byte(tc.line))
		if (err == nil) != tc.ok {
			t.Errorf("parseLine(%s): err = %v, want ok=%v", tc.line, err, tc.ok)
		}
	}
}

// Whatever parses has exactly one spelling: formatting it again gives the
// same bytes.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(validLine))
	f.Add([]byte(`{"seq":1}`))
	f.Add([]byte(`{"seq":9223372036854775807,"prev":"` + genesisPrev + `","event":{"k":"\u00e9"},"hash":"` + genesisPrev + `"}`))
	f.Add([]byte("\xff\x00"))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := parseLine(line)
		if err != nil {
			return
		}
		if got := appendLine(nil, r); !bytes.Equal(got, line) {
			t.Fatalf("parsed %q but formats back as %q", line, got)
		}
		if r.Seq < 1 || !isHex64(r.Prev) || !isHex64(r.Hash) {
			t.Fatalf("accepted an invalid record %+v", r)
		}
	})
}
