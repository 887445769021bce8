package session

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/content"
)

const benchSessions = 10_000

// fill makes n sessions of one small exchange each and returns the content
// bytes they hold.
func fill(b *testing.B, s *Store, n int) int64 {
	b.Helper()
	user := []content.Message{say(content.RoleUser, "hello")}
	reply := say(content.RoleAssistant, "hi there")
	var content int64
	for i := range n {
		tr, err := s.Begin(testOwner, fmt.Sprintf("session-%06d", i))
		if err != nil {
			b.Fatal(err)
		}
		if err := tr.Commit(user, reply); err != nil {
			b.Fatal(err)
		}
		content += int64(user[0].Parts[0].Text.Len() + reply.Parts[0].Text.Len())
	}
	return content
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Heap held per idle session (one exchange of 13 content bytes), measured
// over 10,000 sessions. The 32-byte key slot is in the mmap arena, not the
// heap, and is not counted.
func BenchmarkIdleSessionMemory(b *testing.B) {
	var perSession, overhead float64
	for b.Loop() {
		s, err := New(Limits{MaxSessions: benchSessions}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		before := heapInUse()
		content := fill(b, s, benchSessions)
		after := heapInUse()
		perSession = float64(after-before) / benchSessions
		overhead = perSession - float64(content)/benchSessions
		runtime.KeepAlive(s)
		s.Close()
	}
	b.ReportMetric(perSession, "heap-bytes/session")
	b.ReportMetric(overhead, "overhead-bytes/session")
	b.ReportMetric(0, "ns/op")
}

// Serialize, seal, open and parse one message of the given size: the
// per-message cost of a Commit plus a later Begin.
func BenchmarkSealOpen(b *testing.B) {
	for _, kib := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("%dKiB", kib), func(b *testing.B) {
			m := say(content.RoleUser, strings.Repeat("x", kib<<10))
			key := randomBytes(32)
			b.SetBytes(int64(kib << 10))
			for b.Loop() {
				sl, err := newSealer(key)
				if err != nil {
					b.Fatal(err)
				}
				plain := make([]byte, encodedSize(&m))
				encode(plain, &m)
				sealed := sl.seal(0, plain)
				clear(plain)
				opened, err := sl.open(0, sealed)
				if err != nil {
					b.Fatal(err)
				}
				got, err := decode(opened)
				if err != nil {
					b.Fatal(err)
				}
				got.Wipe()
				sl.wipe()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(kib), "ns/KiB")
		})
	}
}

// Begin+Abort on a session holding 64 messages of 1 KiB: what a turn adds
// before the request can go upstream.
func BenchmarkBeginHistory64KiB(b *testing.B) {
	s := newStore(b, Limits{}, nil)
	for range 32 {
		tr, err := s.Begin(testOwner, "h")
		if err != nil {
			b.Fatal(err)
		}
		if err := tr.Commit([]content.Message{say(content.RoleUser, strings.Repeat("q", 1024))}, say(content.RoleAssistant, strings.Repeat("a", 1024))); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(64 << 10)
	for b.Loop() {
		tr, err := s.Begin(testOwner, "h")
		if err != nil {
			b.Fatal(err)
		}
		if len(tr.History()) != 64 {
			b.Fatal("history lost")
		}
		tr.Abort()
	}
}

// WipeAll over 10,000 sessions of one exchange each.
func BenchmarkWipeAll10k(b *testing.B) {
	s := newStore(b, Limits{MaxSessions: benchSessions}, nil)
	var took time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fill(b, s, benchSessions)
		b.StartTimer()
		start := time.Now()
		if recs := s.WipeAll(ReasonShutdown); len(recs) != benchSessions {
			b.Fatalf("wiped %d", len(recs))
		}
		took += time.Since(start)
	}
	b.ReportMetric(float64(took)/float64(time.Millisecond)/float64(b.N), "ms/10k-sessions")
}
