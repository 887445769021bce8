package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/logic"
)

var reg = func() *audit.Registry {
	r := new(audit.Registry)
	_ = r.Add("ollama", "llama3.2:3b", "fast")
	return r
}()

func event(i int) audit.Event {
	return audit.Event{
		Time:         time.Unix(1_700_000_000, int64(i)).UTC(),
		RequestID:    audit.NewRequestID(),
		Alias:        reg.Ident("fast"),
		Provider:     reg.Ident("ollama"),
		Model:        reg.Ident("llama3.2:3b"),
		InputTokens:  int64(i),
		OutputTokens: int64(2 * i),
		Duration:     time.Duration(i) * time.Millisecond,
		Status:       audit.Status2xx,
		Error:        logic.ErrNone,
	}
}

// writeLog appends n events to a new file and returns its path.
func writeLog(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.Append(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte{'\n'})[:bytes.Count(b, []byte{'\n'})]
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustVerify(t *testing.T, path string) Result {
	t.Helper()
	res, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestConcurrentAppendVerifies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := range 100 {
				if err := l.Append(event(g*100 + i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	seq, head := l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	res := mustVerify(t, path)
	if !res.OK() || res.Records != 1000 || res.Head != head || seq != 1000 {
		t.Errorf("Verify = %+v, Head = (%d, %s); want 1000 intact records ending at the head", res, seq, head)
	}
	if fi, err := os.Stat(path); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
	// Every event's input_tokens value appears exactly once.
	seen := map[int64]bool{}
	for _, line := range readLines(t, path) {
		var r struct {
			Event struct {
				InputTokens int64 `json:"input_tokens"`
			} `json:"event"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		if seen[r.Event.InputTokens] {
			t.Fatalf("event %d written twice", r.Event.InputTokens)
		}
		seen[r.Event.InputTokens] = true
	}
	if len(seen) != 1000 {
		t.Errorf("%d distinct events, want 1000", len(seen))
	}
}

func TestRecordFormat(t *testing.T) {
	path := writeLog(t, 2)
	lines := readLines(t, path)
	r1, err := parseLine(bytes.TrimSuffix(lines[0], []byte{'\n'}))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := parseLine(bytes.TrimSuffix(lines[1], []byte{'\n'}))
	if err != nil {
		t.Fatal(err)
	}
	if r1.Seq != 1 || r1.Prev != genesisPrev {
		t.Errorf("first record: seq %d prev %s", r1.Seq, r1.Prev)
	}
	if r2.Prev != lineHash(bytes.TrimSuffix(lines[0], []byte{'\n'})) {
		t.Error("second prev is not the hash of the first line")
	}
	// The documented hash, recomputed independently.
	want := sha256hex("2|" + r2.Prev + "|" + string(r2.Event))
	if r2.Hash != want {
		t.Errorf("hash = %s, want sha256(seq|prev|event) = %s", r2.Hash, want)
	}
	var ev map[string]any
	if err := json.Unmarshal(r2.Event, &ev); err != nil || ev["provider"] != "ollama" {
		t.Errorf("event = %s (%v)", r2.Event, err)
	}
}

// Flipping any single byte of a record in the middle, its newline included,
// is reported at that record.
func TestFlippedByteIsFound(t *testing.T) {
	path := writeLog(t, 21)
	orig := readLines(t, path)
	const k = 11
	for off := range len(orig[k-1]) {
		lines := append([][]byte(nil), orig...)
		bad := bytes.Clone(orig[k-1])
		bad[off] ^= 0x01
		lines[k-1] = bad
		writeLines(t, path, lines)
		res := mustVerify(t, path)
		if res.FirstBroken != k || res.Records != k-1 || res.Reason == "" {
			t.Fatalf("byte %d flipped: Verify = %+v, want record %d broken", off, res, k)
		}
	}
}

func TestEditsAreFound(t *testing.T) {
	path := writeLog(t, 10)
	orig := readLines(t, path)
	for _, tc := range []struct {
		name   string
		edit   func([][]byte) [][]byte
		broken int64
		reason string
	}{
		{"intact", func(l [][]byte) [][]byte { return l }, 0, ""},
		{"line deleted", func(l [][]byte) [][]byte { return append(l[:4:4], l[5:]...) }, 5, ReasonSeqGap},
		{"first line deleted", func(l [][]byte) [][]byte { return l[1:] }, 1, ReasonSeqGap},
		{"lines swapped", func(l [][]byte) [][]byte {
			l = append([][]byte(nil), l...)
			l[2], l[3] = l[3], l[2]
			return l
		}, 3, ReasonSeqGap},
		{"last line truncated", func(l [][]byte) [][]byte {
			l = append([][]byte(nil), l...)
			l[9] = l[9][:len(l[9])-10]
			return l
		}, 10, ReasonTruncated},
		{"newline only removed", func(l [][]byte) [][]byte {
			l = append([][]byte(nil), l...)
			l[9] = l[9][:len(l[9])-1]
			return l
		}, 10, ReasonTruncated},
		{"event rewritten with a fresh hash", func(l [][]byte) [][]byte {
			// A forger edits record 6 and recomputes its own hash: the
			// record verifies alone, but record 7's prev no longer does.
			l = append([][]byte(nil), l...)
			r, _ := parseLine(bytes.TrimSuffix(l[5], []byte{'\n'}))
			r.Event = bytes.Replace(r.Event, []byte(`"input_tokens":5`), []byte(`"input_tokens":9`), 1)
			r.Hash = recordHash(r.Seq, r.Prev, r.Event)
			l[5] = append(appendLine(nil, r), '\n')
			return l
		}, 7, ReasonPrevMismatch},
		{"hash field replaced", func(l [][]byte) [][]byte {
			l = append([][]byte(nil), l...)
			r, _ := parseLine(bytes.TrimSuffix(l[9], []byte{'\n'}))
			r.Hash = genesisPrev
			l[9] = append(appendLine(nil, r), '\n')
			return l
		}, 10, ReasonHashMismatch},
		{"blank line inserted", func(l [][]byte) [][]byte {
			return append(append(l[:3:3], []byte("\n")), l[3:]...)
		}, 4, ReasonBadJSON},
		{"huge line", func(l [][]byte) [][]byte {
			return append(l[:1:1], append(bytes.Repeat([]byte("x"), 100<<10), '\n'))
		}, 2, ReasonBadJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeLines(t, path, tc.edit(orig))
			res := mustVerify(t, path)
			if res.FirstBroken != tc.broken || res.Reason != tc.reason {
				t.Errorf("Verify = %+v, want broken %d (%q)", res, tc.broken, tc.reason)
			}
			if tc.broken != 0 && res.Records != int(tc.broken)-1 {
				t.Errorf("Records = %d, want %d", res.Records, tc.broken-1)
			}
		})
	}
}

func TestReopenContinuesTheChain(t *testing.T) {
	path := writeLog(t, 3)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	seq, head := l.Head()
	if want := mustVerify(t, path).Head; seq != 3 || head != want {
		t.Errorf("Head after reopen = (%d, %s), want (3, %s)", seq, head, want)
	}
	for i := range 2 {
		if err := l.Append(event(100 + i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if res := mustVerify(t, path); !res.OK() || res.Records != 5 {
		t.Errorf("Verify = %+v, want 5 intact records", res)
	}
}

func TestEmptyLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if seq, head := l.Head(); seq != 0 || head != "" {
		t.Errorf("empty Head = (%d, %q)", seq, head)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if res := mustVerify(t, path); !res.OK() || res.Records != 0 {
		t.Errorf("Verify = %+v", res)
	}
	if err := l.Append(event(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if _, err := Verify(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Verify of a missing file: no error")
	}
}

func TestOpenRefusesABrokenTail(t *testing.T) {
	path := writeLog(t, 3)
	lines := readLines(t, path)

	writeLines(t, path, append(lines[:2:2], lines[2][:20]))
	if _, err := Open(path); !errors.Is(err, ErrTruncated) {
		t.Errorf("torn tail: Open err = %v, want ErrTruncated", err)
	}
	writeLines(t, path, append(lines[:2:2], []byte("{\"seq\":3}\n")))
	if _, err := Open(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("malformed tail: Open err = %v, want ErrCorrupt", err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("no flock here")
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: err = %v, want ErrLocked", err)
	}
	l.Close()
	l2, err := Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l2.Close()
}

func TestTail(t *testing.T) {
	// 600 records span several 64 KiB read chunks.
	path := writeLog(t, 600)
	for _, n := range []int{0, 1, 3, 250, 600, 1000} {
		recs, err := Tail(path, n)
		if err != nil {
			t.Fatal(err)
		}
		want := min(n, 600)
		if len(recs) != want {
			t.Fatalf("Tail(%d) returned %d records, want %d", n, len(recs), want)
		}
		for i, r := range recs {
			if wantSeq := int64(600 - want + 1 + i); r.Seq != wantSeq {
				t.Fatalf("Tail(%d)[%d].Seq = %d, want %d", n, i, r.Seq, wantSeq)
			}
		}
	}
	// A partial last line is not a record yet.
	lines := readLines(t, path)
	writeLines(t, path, append(lines[:599:599], lines[599][:30]))
	recs, err := Tail(path, 2)
	if err != nil || len(recs) != 2 || recs[1].Seq != 599 {
		t.Errorf("Tail over a torn tail = %d records (%v), want seqs 598, 599", len(recs), err)
	}
}

// Syncs are batched: none right after an append, one per interval however
// many appends came, and a last one on Close.
func TestSyncIsBatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var syncs atomic.Int32
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		l, err := open(path, func() error { syncs.Add(1); return nil })
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			if err := l.Append(event(i)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if n := syncs.Load(); n != 0 {
			t.Fatalf("%d syncs right after appending, want 0", n)
		}
		time.Sleep(syncInterval)
		synctest.Wait()
		if n := syncs.Load(); n != 1 {
			t.Fatalf("%d syncs after one interval, want 1", n)
		}
		time.Sleep(10 * syncInterval)
		synctest.Wait()
		if n := syncs.Load(); n != 1 {
			t.Fatalf("%d syncs while idle, want still 1", n)
		}
		_ = l.Append(event(99))
		time.Sleep(syncInterval / 2)
		synctest.Wait()
		if n := syncs.Load(); n != 1 {
			t.Fatalf("%d syncs half an interval after an append, want 1", n)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if n := syncs.Load(); n != 2 {
			t.Fatalf("%d syncs after Close, want 2", n)
		}
	})
}

func TestFailedSyncStopsTheChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		l, err := open(path, func() error { return errors.New("disk on fire") })
		if err != nil {
			t.Fatal(err)
		}
		_ = l.Append(event(1))
		time.Sleep(syncInterval)
		synctest.Wait()
		if err := l.Append(event(2)); err == nil {
			t.Error("Append after a failed sync succeeded")
		}
		_ = l.Close()
	})
}
