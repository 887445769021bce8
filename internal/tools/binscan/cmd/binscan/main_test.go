package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const cleanText = "ordinary text: Content-Type application/json\x00runtime.main\x00"
	clean := write("clean", cleanText)
	// A random-looking 32-byte key in hex, made from a hash so that no key
	// is written in this file.
	sum := sha256.Sum256([]byte("binscan command test"))
	key := hex.EncodeToString(sum[:])
	dirty := write("dirty", "config\x00"+key+"\x00more text")
	keyHash := sha256.Sum256([]byte(key))
	allow := write("allow", "# the test key\n"+hex.EncodeToString(keyHash[:])+"\n")
	badAllow := write("bad-allow", "xyz\n")

	code, out, _ := runCmd(clean)
	if want := fmt.Sprintf("binscan: %d bytes scanned, 0 findings\n", len(cleanText)); code != 0 || out != want {
		t.Errorf("clean: code %d, out %q; want 0, %q", code, out, want)
	}

	code, out, _ = runCmd(clean, dirty)
	if code != 1 {
		t.Errorf("dirty: code %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], dirty+": 0x00000007 hex-entropy") ||
		!strings.HasSuffix(lines[1], " bytes scanned, 1 findings") {
		t.Errorf("dirty: output\n%s", out)
	}
	if strings.Contains(out, key[:previewPlusOne]) {
		t.Errorf("output shows more than four bytes of the key:\n%s", out)
	}

	code, out, _ = runCmd("-allow", allow, dirty)
	if code != 0 || !strings.HasSuffix(out, ", 0 findings\n") {
		t.Errorf("allowed: code %d, out %q; want 0 and no findings", code, out)
	}

	for _, args := range [][]string{
		{},
		{"-nosuchflag", clean},
		{"-allow", filepath.Join(dir, "missing"), clean},
		{"-allow", badAllow, clean},
		{filepath.Join(dir, "missing")},
	} {
		if code, _, errOut := runCmd(args...); code != 2 || errOut == "" {
			t.Errorf("binscan %q: code %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

// previewPlusOne is one byte more than a finding may show.
const previewPlusOne = 5
