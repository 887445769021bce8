package binscan

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestParseAllowlist(t *testing.T) {
	h1 := sha256.Sum256([]byte("one"))
	h2 := sha256.Sum256([]byte("two"))
	in := "# comment\n\n" + hex.EncodeToString(h1[:]) + "  the first\n  sha256:" + hex.EncodeToString(h2[:]) + "\n"
	a, err := ParseAllowlist(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 2 || !a.has(h1) || !a.has(h2) {
		t.Errorf("allowlist holds %d hashes, want exactly the two listed", a.Len())
	}
	if a.has(sha256.Sum256([]byte("three"))) {
		t.Error("allowlist allows a hash it does not list")
	}

	for _, bad := range []string{"not-hex\n", hex.EncodeToString(h1[:16]) + "\n"} {
		_, err := ParseAllowlist(strings.NewReader("# ok\n" + bad))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("ParseAllowlist(%q) error = %v, want one naming line 2", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimSpace(bad)) {
			t.Errorf("error %q echoes the line", err)
		}
	}

	var nilList *Allowlist
	if nilList.has(h1) || nilList.Len() != 0 {
		t.Error("a nil allowlist must allow nothing")
	}
}

func TestAllowlistSilencesOneCandidate(t *testing.T) {
	r := seeded(5)
	k1 := hex.EncodeToString(randomBytes(r, 32))
	k2 := hex.EncodeToString(randomBytes(r, 32))
	data := []byte("prefix" + k1 + "middle words here" + k2 + "suffix")
	all := Scan(data, Options{})
	if len(all) != 2 {
		t.Fatalf("got %v, want two findings", all)
	}
	a := &Allowlist{}
	a.Add([]byte(k1))
	got := Scan(data, Options{Allow: a})
	if len(got) != 1 || got[0] != all[1] {
		t.Errorf("with the first key allowed: got %v, want %v", got, all[1:])
	}
}
