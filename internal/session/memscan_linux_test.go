//go:build linux && !race

// (The race detector maps terabytes of shadow memory: too much to scan.)

package session

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/inference-relay/relay/internal/content"
)

// maskedNeedle lets the test search memory for a canary without holding
// the canary itself anywhere: it keeps canary⊕mask and mask.
type maskedNeedle struct{ masked, mask []byte }

func newNeedle(n int) maskedNeedle {
	return maskedNeedle{masked: randomBytes(n), mask: randomBytes(n)}
}

// materialize writes the canary into a fresh buffer: the only copy the
// test makes.
func (nd maskedNeedle) materialize() []byte {
	b := make([]byte, len(nd.masked))
	for i := range b {
		b[i] = nd.masked[i] ^ nd.mask[i]
	}
	return b
}

// matchAt reports whether the canary starts at b[i].
func (nd maskedNeedle) matchAt(b []byte, i int) bool {
	if len(b)-i < len(nd.masked) {
		return false
	}
	for j := range nd.masked {
		if b[i+j]^nd.mask[j] != nd.masked[j] {
			return false
		}
	}
	return true
}

type memHit struct {
	addr   uintptr
	region string // the maps line
}

// scanMemory reads every readable mapping of this process through
// /proc/self/mem and returns where the canary occurs.
func scanMemory(t *testing.T, nd maskedNeedle) []memHit {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("maps unreadable: %v", err)
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Skipf("mem unreadable: %v", err)
	}
	defer mem.Close()
	const chunk = 1 << 20
	overlap := len(nd.masked) - 1
	buf := make([]byte, chunk+overlap)
	first := nd.masked[0] ^ nd.mask[0]
	var hits []memHit
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		var perms string
		if n, _ := fmt.Sscanf(line, "%x-%x %s", &lo, &hi, &perms); n != 3 || perms[0] != 'r' {
			continue
		}
		if strings.Contains(line, "[vvar") || strings.Contains(line, "[vsyscall]") || hi-lo > 8<<30 {
			continue
		}
		carried := 0
		for off := lo; off < hi; off += chunk {
			n, _ := mem.ReadAt(buf[carried:carried+int(min(chunk, hi-off))], int64(off))
			if n <= 0 {
				carried = 0
				continue
			}
			view := buf[:carried+n]
			base := off - uintptr(carried)
			for i := 0; ; {
				j := bytes.IndexByte(view[i:], first)
				if j < 0 {
					break
				}
				i += j
				if nd.matchAt(view, i) {
					hits = append(hits, memHit{addr: base + uintptr(i), region: line})
				}
				i++
			}
			carried = copy(buf, view[max(0, len(view)-overlap):])
		}
	}
	return hits
}

type span struct{ lo, hi uintptr }

func spanOf(b []byte) span {
	if cap(b) == 0 {
		return span{}
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return span{p, p + uintptr(cap(b))}
}

func within(a uintptr, spans []span) bool {
	for _, s := range spans {
		if a >= s.lo && a < s.hi {
			return true
		}
	}
	return false
}

// After End, the canary is nowhere in the store's buffers; the test looks
// for it in the whole address space and fails on any copy in memory the
// store allocated. Copies elsewhere are logged, not failed: they would be
// the Go runtime's or this test's, which the store does not control.
func TestCanaryGoneFromProcessMemory(t *testing.T) {
	var own []span // every plaintext buffer the store allocated
	testHookPlain = func(b []byte) { own = append(own, spanOf(b)) }
	t.Cleanup(func() { testHookPlain = nil })

	nd := newNeedle(48)
	s := newStore(t, Limits{}, nil)
	const id = "memscan"

	user := content.Message{Role: content.RoleUser, Parts: []content.Part{
		{Kind: content.PartText, Text: content.Of(nd.materialize())},
	}}
	tr, err := s.Begin(testOwner, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Commit([]content.Message{user}, say(content.RoleAssistant, "noted")); err != nil {
		t.Fatal(err)
	}
	user.Wipe() // the caller's copy, as the server wipes its request

	// While a turn holds the decrypted history the scanner must find it:
	// proof that the scan can fail.
	tr, err = s.Begin(testOwner, id)
	if err != nil {
		t.Fatal(err)
	}
	if hits := scanMemory(t, nd); len(hits) == 0 {
		t.Fatal("the scanner does not see the canary while the history is open")
	} else {
		t.Logf("history open: canary found %d time(s)", len(hits))
	}
	sealed := snap(t, s, id).sealed
	tr.Abort()
	if _, err := s.End(testOwner, id); err != nil {
		t.Fatal(err)
	}
	for _, c := range sealed {
		own = append(own, spanOf(c))
	}
	runtime.GC()

	hits := scanMemory(t, nd)
	for _, h := range hits {
		if within(h.addr, own) {
			t.Errorf("canary still in a store buffer at %#x", h.addr)
		} else {
			t.Logf("canary copy outside the store's buffers at %#x in %q (not the store's memory)", h.addr, h.region)
		}
	}
	t.Logf("after End: %d copies of the canary in process memory (%d plaintext buffers tracked)", len(hits), len(own))
}
