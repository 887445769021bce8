package chain

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type staticKey []byte

func (k staticKey) Bytes() []byte { return k }

func newKey(b byte) staticKey { return staticKey(bytes.Repeat([]byte{b}, 32)) }

// keyedChain is one relay's audit files and key directory.
type keyedChain struct {
	path, head string
	key        staticKey
	opts       Options
}

func newKeyedChain(t *testing.T, key staticKey) *keyedChain {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"state", "keys"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	c := &keyedChain{path: filepath.Join(root, "state", "audit.jsonl"), head: filepath.Join(root, "keys", "audit.head"), key: key}
	c.opts = Options{Key: key, HeadPath: c.head}
	return c
}

func (c *keyedChain) write(t *testing.T, from, n int) {
	t.Helper()
	l, err := OpenKeyed(c.path, c.opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.Append(event(from + i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func (c *keyedChain) verify(t *testing.T) Report {
	t.Helper()
	rep, err := VerifySet(c.path, c.head, c.key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestKeyedChainVerifies(t *testing.T) {
	c := newKeyedChain(t, newKey(1))
	c.write(t, 0, 10)
	c.write(t, 10, 10) // reopened: the chain runs on
	rep := c.verify(t)
	if !rep.OK() || !rep.Keyed || rep.Records != 20 || !rep.HeadChecked || rep.HeadSeq != 20 || rep.AfterHead != 0 {
		t.Fatalf("Verify = %+v, want 20 keyed records matching the head", rep)
	}
	lines := readLines(t, c.path)
	if !bytes.Contains(lines[0], []byte(`"mac":"`)) || bytes.Contains(lines[0], []byte(`"hash":"`)) {
		t.Errorf("record is not keyed: %s", lines[0])
	}
	// The head is not beside the audit file.
	if _, err := os.Stat(filepath.Join(filepath.Dir(c.path), "audit.head")); err == nil {
		t.Error("the head is in the state dir")
	}
}

// Every way of rewriting the chain without the key is found by Verify,
// and OpenKeyed refuses to append to it.
func TestKeyedChainRewritesAreFound(t *testing.T) {
	other := newKeyedChain(t, newKey(2)) // another relay, its own key
	other.write(t, 100, 12)
	sameKey := newKeyedChain(t, newKey(1)) // another chain under the same key
	sameKey.write(t, 200, 12)

	for _, tc := range []struct {
		name   string
		edit   func(t *testing.T, c *keyedChain, orig [][]byte, older [][]byte)
		reason string // a broken record's reason, or "" for a head problem
	}{
		{"edit with the chain recomputed", func(t *testing.T, c *keyedChain, orig, _ [][]byte) {
			// Without the key the forger recomputes the MACs under a key
			// of their own, from the edited record to the end.
			forged := &macer{}
			m, _ := newMacer(newKey(9))
			*forged = *m
			lines := append([][]byte(nil), orig...)
			prev := ""
			for i := 4; i < len(lines); i++ {
				r, _ := parseLine(bytes.TrimSuffix(lines[i], []byte{'\n'}))
				if i == 4 {
					r.Event = bytes.Replace(r.Event, []byte(`"input_tokens":4`), []byte(`"input_tokens":9`), 1)
				} else {
					r.Prev = prev
				}
				r.Hash = forged.record(r.Seq, r.Prev, r.Event)
				prev = r.Hash
				lines[i] = append(appendLine(nil, r), '\n')
			}
			writeLines(t, c.path, lines)
		}, ReasonMACMismatch},
		{"edit recomputed as an unkeyed chain", func(t *testing.T, c *keyedChain, orig, _ [][]byte) {
			lines := append([][]byte(nil), orig...)
			prev := genesisPrev
			for i := range lines {
				r, _ := parseLine(bytes.TrimSuffix(lines[i], []byte{'\n'}))
				r.Keyed, r.Prev = false, prev
				r.Hash = recordHash(r.Seq, r.Prev, r.Event)
				lines[i] = append(appendLine(nil, r), '\n')
				prev = lineHash(bytes.TrimSuffix(lines[i], []byte{'\n'}))
			}
			writeLines(t, c.path, lines)
		}, ""},
		{"tail truncated", func(t *testing.T, c *keyedChain, orig, _ [][]byte) {
			writeLines(t, c.path, orig[:9])
		}, ""},
		{"file emptied", func(t *testing.T, c *keyedChain, _, _ [][]byte) {
			writeLines(t, c.path, nil)
		}, ""},
		{"file removed", func(t *testing.T, c *keyedChain, _, _ [][]byte) {
			if err := os.Remove(c.path); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"older copy put back", func(t *testing.T, c *keyedChain, _, older [][]byte) {
			writeLines(t, c.path, older)
		}, ""},
		{"swapped with another relay's file", func(t *testing.T, c *keyedChain, _, _ [][]byte) {
			writeLines(t, c.path, readLines(t, other.path))
		}, ReasonMACMismatch},
		{"swapped with another chain under the same key", func(t *testing.T, c *keyedChain, _, _ [][]byte) {
			writeLines(t, c.path, readLines(t, sameKey.path))
		}, ReasonNotChain},
		{"head swapped from another chain under the same key", func(t *testing.T, c *keyedChain, _, _ [][]byte) {
			b, err := os.ReadFile(sameKey.head)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.head, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, ReasonNotChain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newKeyedChain(t, newKey(1))
			c.write(t, 0, 6)
			older := readLines(t, c.path)
			c.write(t, 6, 6)
			rep := c.verify(t)
			if !rep.OK() {
				t.Fatalf("intact chain: %+v", rep)
			}
			tc.edit(t, c, readLines(t, c.path), older)
			rep = c.verify(t)
			if rep.OK() {
				t.Fatalf("Verify passed a rewritten chain: %+v", rep)
			}
			if tc.reason != "" && rep.Reason != tc.reason {
				t.Errorf("Verify = %+v, want reason %q", rep, tc.reason)
			}
			if tc.reason == "" && rep.HeadProblem == "" {
				t.Errorf("Verify = %+v, want a head problem", rep)
			}
			if l, err := OpenKeyed(c.path, c.opts); err == nil {
				l.Close()
				t.Error("OpenKeyed appends to a rewritten chain")
			}
		})
	}
}

// Without the key, Verify says it could not check, and fails.
func TestKeyedVerifyWithoutKey(t *testing.T) {
	c := newKeyedChain(t, newKey(1))
	c.write(t, 0, 3)
	keyErr := errors.New("permission denied")
	rep, err := VerifySet(c.path, c.head, nil, keyErr)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.KeyError != keyErr || rep.Records != 3 || rep.HeadChecked {
		t.Errorf("Verify without key = %+v; want not OK, the key error, 3 records walked", rep)
	}
}

// After a crash the head may trail the file by the last appends: they are
// accepted when they verify, and reported.
func TestHeadLagIsAccepted(t *testing.T) {
	c := newKeyedChain(t, newKey(1))
	c.write(t, 0, 5)
	oldHead, err := os.ReadFile(c.head)
	if err != nil {
		t.Fatal(err)
	}
	c.write(t, 5, 3)
	if err := os.WriteFile(c.head, oldHead, 0o600); err != nil {
		t.Fatal(err)
	}
	rep := c.verify(t)
	if !rep.OK() || rep.AfterHead != 3 {
		t.Errorf("Verify = %+v, want OK with 3 records after the head", rep)
	}
	c.write(t, 8, 1)
	if rep := c.verify(t); !rep.OK() || rep.AfterHead != 0 || rep.Records != 9 {
		t.Errorf("after reopening: %+v", rep)
	}
}

func TestHeadSealIsChecked(t *testing.T) {
	c := newKeyedChain(t, newKey(1))
	c.write(t, 0, 5)
	b, err := os.ReadFile(c.head)
	if err != nil {
		t.Fatal(err)
	}
	// Lower the count without the key: the seal no longer verifies.
	forged := strings.Replace(string(b), `"seq":5`, `"seq":4`, 1)
	if err := os.WriteFile(c.head, []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	if rep := c.verify(t); rep.OK() || !strings.Contains(rep.HeadProblem, "seal") {
		t.Errorf("forged head: %+v", rep)
	}
	if _, err := OpenKeyed(c.path, c.opts); !errors.Is(err, ErrHead) {
		t.Errorf("OpenKeyed with a forged head: %v, want ErrHead", err)
	}
}

func TestOlderFormat(t *testing.T) {
	c := newKeyedChain(t, newKey(1))
	l, err := Open(c.path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := l.Append(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	rep := c.verify(t)
	if !rep.OK() || !rep.Unkeyed() || rep.Records != 4 || rep.Files[0].Format != "unkeyed (older format)" {
		t.Errorf("older format: %+v", rep)
	}
	if _, err := OpenKeyed(c.path, c.opts); !errors.Is(err, ErrUnkeyed) {
		t.Errorf("OpenKeyed on the older format: %v, want ErrUnkeyed", err)
	}
	// Once a keyed chain has a head here, unkeyed files are a replacement.
	c2 := newKeyedChain(t, newKey(1))
	c2.write(t, 0, 2)
	writeLines(t, c2.path, readLines(t, c.path))
	if rep := c2.verify(t); rep.OK() {
		t.Errorf("unkeyed files under a keyed head passed: %+v", rep)
	}
}

func TestRotationKeepsTheChainVerifiable(t *testing.T) {
	c := newKeyedChain(t, newKey(1))
	c.opts.MaxBytes, c.opts.Keep = 4096, 3
	c.write(t, 0, 60)
	c.write(t, 60, 60)
	rep := c.verify(t)
	if !rep.OK() || len(rep.Files) != 4 || rep.Files[0].First <= 1 || rep.Records != int(rep.Files[3].Last-rep.Files[0].First+1) || rep.Files[3].Last != 120 {
		t.Fatalf("Verify = %+v, want 4 files ending at record 120", rep)
	}
	for i, f := range rep.Files {
		if fi, err := os.Stat(f.Path); err != nil || fi.Size() > 4096 {
			t.Errorf("file %d: %v, size over the bound", i, err)
		}
		if i > 0 && f.First != rep.Files[i-1].Last+1 {
			t.Errorf("file %d starts at %d after %d", i, f.First, rep.Files[i-1].Last)
		}
	}
	if rep.Files[0].Path != RotatedPath(c.path, 3) || rep.Files[3].Path != c.path {
		t.Errorf("files: %+v", rep.Files)
	}
	// Removing the oldest kept file is not a rotation.
	if err := os.Remove(rep.Files[0].Path); err != nil {
		t.Fatal(err)
	}
	if rep := c.verify(t); rep.OK() {
		t.Errorf("a removed rotated file passed: %+v", rep)
	}
}

// BenchmarkAppend compares the per-request cost of the older unkeyed
// records (two SHA-256) with keyed ones (HMAC-SHA256 + SHA-256 of nothing
// else): go test -bench Append ./internal/audit/chain
func BenchmarkAppend(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		name := "unkeyed"
		if keyed {
			name = "keyed"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "audit.jsonl")
			var l *Log
			var err error
			if keyed {
				l, err = OpenKeyed(path, Options{Key: newKey(1), HeadPath: filepath.Join(dir, "audit.head")})
			} else {
				l, err = Open(path)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			ev := event(1)
			for b.Loop() {
				if err := l.Append(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
