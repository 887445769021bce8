//go:build linux

package canary

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file is the RAM check of SPEC C6: what remains of a session's
// content in the relay's memory once the session has ended. It reads the
// child's memory through /proc/<pid>/mem, so it needs CAP_SYS_PTRACE (the
// relay makes itself non-dumpable) and skips without.
//
// The session store cannot be addressed from outside the process, so what
// can be checked is weaker than "the store's buffers are zero":
//
//   - The copies of content the relay leaves behind are JSON text (the
//     JSON decoders' and encoders' buffers, the upstream SSE reader's),
//     always closed by a quote. The store's plaintext is the session
//     codec's binary framing, where a text is followed by the next field's
//     length byte. So a session must leave no more unquoted copies than
//     stateless traffic, whether it is open (between requests) or ended.
//   - After End, a session's content has no more copies in memory than the
//     same content sent by a stateless client that resends its history
//     each turn.
//   - No content is ever in the no-dump key arena.
//
// The copies both kinds of traffic leave (freed heap not yet reused) are
// the Go runtime's, not the store's; they are logged, not failed.

// memPrefix starts every memory canary; the scan looks for it and then
// for one of the known 48-hex-digit tails.
const memPrefix = "MEMSCAN-"

// memCanary returns a fresh canary: the prefix and 48 random hex digits.
func memCanary() string { return memPrefix + randomHex(24) }

// memRegion is one readable mapping of the child and the kind it is
// counted under.
type memRegion struct {
	lo, hi uint64
	kind   string
}

// Kinds of mapping. Go's heap is told apart from other anonymous memory
// (the runtime's off-heap structures, C allocations) by its shape: the
// runtime reserves heap arenas as 64 MiB-aligned blocks and maps parts of
// them read-write, so a heap mapping lies in a run of adjacent anonymous
// mappings that starts and ends on a 64 MiB boundary. (Its address says
// nothing: since Go 1.26 the heap base is random.) It is a heuristic, good
// enough to say where copies are; the assertions do not depend on it. The
// session store's key arena is the mapping marked MADV_DONTDUMP ("dd" in
// smaps VmFlags).
const (
	kindGoHeap = "go-heap"
	kindAnon   = "anon"
	kindBrk    = "[heap]"
	kindStack  = "[stack]"
	kindArena  = "arena(dd)"
	kindFile   = "file"
)

var memKinds = []string{kindGoHeap, kindAnon, kindBrk, kindStack, kindArena, kindFile}

// heapArenaBytes is the Go runtime's heap arena size on 64-bit Linux.
const heapArenaBytes = 64 << 20

// maxRegion bounds one mapping's size: a larger one is a reservation (a
// race detector's shadow, say), not memory the relay wrote content into.
const maxRegion = 8 << 30

// readRegions reads the readable mappings of process pid worth scanning.
func readRegions(pid int) ([]memRegion, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps")
	if err != nil {
		return nil, err
	}
	return parseSmaps(raw)
}

// smapsEntry is one mapping as smaps describes it.
type smapsEntry struct {
	lo, hi   uint64
	readable bool
	name     string // "" for anonymous memory
	noDump   bool   // VmFlags has dd
}

// parseSmaps turns the text of /proc/<pid>/smaps into the regions worth
// reading, with the kind each is counted under. Unreadable mappings, the
// kernel's ([vvar], [vdso], [vsyscall]) and huge reservations are left out.
func parseSmaps(raw []byte) ([]memRegion, error) {
	var all []smapsEntry
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			if len(all) > 0 && slices.Contains(strings.Fields(flags), "dd") {
				all[len(all)-1].noDump = true
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasSuffix(f[0], ":") {
			continue // a field line of the current mapping
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || h <= l {
			continue
		}
		all = append(all, smapsEntry{lo: l, hi: h, readable: f[1][0] == 'r', name: strings.Join(f[5:], " ")})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var out []memRegion
	for i := 0; i < len(all); {
		// A run of adjacent anonymous mappings (or a lone named one).
		j := i + 1
		for all[i].name == "" && j < len(all) && all[j].name == "" && all[j].lo == all[j-1].hi {
			j++
		}
		heapShaped := all[i].name == "" && all[i].lo%heapArenaBytes == 0 && all[j-1].hi%heapArenaBytes == 0
		for _, e := range all[i:j] {
			if k := regionKind(e, heapShaped); k != "" {
				out = append(out, memRegion{lo: e.lo, hi: e.hi, kind: k})
			}
		}
		i = j
	}
	return out, nil
}

// regionKind is the kind e is counted under, or "" to skip it.
func regionKind(e smapsEntry, heapShaped bool) string {
	switch {
	case !e.readable || e.hi-e.lo > maxRegion:
		return ""
	case e.noDump:
		return kindArena
	case e.name == "[heap]":
		return kindBrk
	case e.name == "[stack]":
		return kindStack
	case strings.HasPrefix(e.name, "["):
		return "" // [vvar], [vdso], [vsyscall]: the kernel's
	case e.name != "":
		return kindFile
	case heapShaped:
		return kindGoHeap
	default:
		return kindAnon
	}
}

// memTally is where one canary was found.
type memTally struct {
	byKind   map[string]int
	unquoted int // copies not followed by '"': not inside a JSON string
}

// memCounts is the tally of each canary.
type memCounts map[string]*memTally

func (c memCounts) total(canary string) int {
	n := 0
	for _, v := range c[canary].byKind {
		n += v
	}
	return n
}

// scanChild counts every occurrence of each canary in the readable
// memory of process pid.
func scanChild(pid int, canaries []string) (memCounts, int64, error) {
	regions, err := readRegions(pid)
	if err != nil {
		return nil, 0, err
	}
	mem, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return nil, 0, err
	}
	defer mem.Close()
	counts, read := scanRegions(mem, regions, canaries)
	return counts, read, nil
}

// scanChunk is how much of a mapping is read at once.
const scanChunk = 1 << 20

// scanRegions counts the canaries (all of one length, all starting with
// memPrefix) in each region of mem, and how many copies are not followed
// by a quote. It reads a region in scanChunk pieces and carries the last
// len(canary) bytes of one piece in front of the next: a copy is counted
// in the piece that also holds the byte after it (or, at the region's
// end, the piece it ends in), so one across a boundary is found, and
// found once.
func scanRegions(mem io.ReaderAt, regions []memRegion, canaries []string) (memCounts, int64) {
	tails := make(map[string]string, len(canaries))
	counts := make(memCounts, len(canaries))
	for _, c := range canaries {
		tails[strings.TrimPrefix(c, memPrefix)] = c
		counts[c] = &memTally{byKind: map[string]int{}}
	}
	width := len(canaries[0])
	prefix := []byte(memPrefix)
	buf := make([]byte, scanChunk+width)
	var read int64
	for _, r := range regions {
		carried := 0
		for off := r.lo; off < r.hi; off += scanChunk {
			n, _ := mem.ReadAt(buf[carried:carried+int(min(scanChunk, r.hi-off))], int64(off))
			if n <= 0 {
				carried = 0 // an unreadable range: nothing continues across it
				continue
			}
			read += int64(n)
			view := buf[:carried+n]
			last := off+scanChunk >= r.hi
			for i := 0; ; i += len(prefix) {
				j := bytes.Index(view[i:], prefix)
				if j < 0 {
					break
				}
				i += j
				end := i + width
				if end > len(view) || (end == len(view) && !last) {
					break // it, or the byte after it, is in the next piece
				}
				c, ok := tails[string(view[i+len(prefix):end])]
				if !ok {
					continue
				}
				counts[c].byKind[r.kind]++
				if end == len(view) || view[end] != '"' {
					counts[c].unquoted++
				}
			}
			carried = copy(buf, view[len(view)-min(width, len(view)):])
		}
	}
	return counts, read
}

// lockedLine is the VmLck line of the process's status: whether mlockall
// took, so whether freed heap could be swapped out.
func lockedLine(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "status unreadable"
	}
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "VmLck:") {
			return strings.Join(strings.Fields(line), " ")
		}
	}
	return "no VmLck line"
}

// memLabel names a canary in the logs: what it was and how it travelled.
type memLabel struct {
	name, value string
}

func logCounts(t *testing.T, phase string, labels []memLabel, counts memCounts, read int64) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "phase %q (%d MiB read):\n", phase, read>>20)
	fmt.Fprintf(&b, "  %-26s %5s %8s", "canary", "total", "unquoted")
	for _, k := range memKinds {
		fmt.Fprintf(&b, " %9s", k)
	}
	b.WriteString("\n")
	for _, l := range labels {
		tl := counts[l.value]
		fmt.Fprintf(&b, "  %-26s %5d %8d", l.name, counts.total(l.value), tl.unquoted)
		for _, k := range memKinds {
			fmt.Fprintf(&b, " %9d", tl.byKind[k])
		}
		b.WriteString("\n")
	}
	t.Log(b.String())
}

// sendMem sends one chat turn through the OpenAI front with the official
// SDK, in a session when session is set, and checks the stand-in's echo.
func sendMem(t *testing.T, h *relayProc, stream bool, session string, turns []turn, want string) string {
	t.Helper()
	var hdr map[string]string
	if session != "" {
		hdr = map[string]string{"X-Relay-Session": session}
	}
	var got reply
	err := withTimeout(10*time.Second, func(ctx context.Context) error {
		var err error
		got, err = send(ctx, h.HTTP, h.URL, h.Key, frontOpenAI, stream, chatTurns{model: "gpt-standin", turns: turns}, hdr, nil, nil)
		return err
	})
	if err != nil {
		t.Fatalf("chat turn (session %t, %s): %v", session != "", mode(stream), err)
	}
	if !strings.Contains(got.text, want) {
		t.Fatalf("the reply does not echo the turn's canary: %q", got.text)
	}
	return got.text
}

// endMemSession ends a session through POST /v1/session/end and returns
// how many messages the relay says it wiped.
func endMemSession(t *testing.T, h *relayProc, id string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"session_id": id})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, out := h.do(t, h.newRequest(ctx, http.MethodPost, "/v1/session/end", bytes.NewReader(body)))
	var res struct {
		Ended    bool `json:"ended"`
		Messages int  `json:"messages"`
	}
	if code != http.StatusOK || json.Unmarshal(out, &res) != nil || !res.Ended {
		t.Fatalf("POST /v1/session/end: status %d, body %.200s", code, out)
	}
	return res.Messages
}

// TestSessionContentAfterEnd sends content through a session and through a
// stateless conversation of the same shape, ends the session, and counts
// the copies of each canary left in the relay child's memory.
//
// The twins compared travel the same way, in the same mode and order,
// except for where the history comes from:
//
//	stateless turn 1 (unary)     A1        session 1 turn 1 (unary)     S1
//	stateless turn 2 (streamed)  A1, A2    session 1 turn 2 (streamed)  S2
//
// In turn 2 the stateless client resends A1 and its echo itself; the
// session's client sends only S2 and the relay takes S1 and its echo from
// the store. Each stateless turn goes just before its session twin, so
// the pooled buffers a later request leaves behind count against the
// session. A second session, never ended, is the positive control.
func TestSessionContentAfterEnd(t *testing.T) {
	h := startRelay(t)
	pid := h.cmd.Process.Pid
	if _, _, err := scanChild(pid, []string{memCanary()}); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			t.Skipf("cannot read the relay's memory: it is non-dumpable, so reading /proc/<pid>/mem needs CAP_SYS_PTRACE (%v)", err)
		}
		t.Fatalf("reading the relay's memory: %v", err)
	}
	t.Logf("relay child: %s", lockedLine(pid))

	a1, a2, s1, s2, open := memCanary(), memCanary(), memCanary(), memCanary(), memCanary()
	labels := []memLabel{
		{"A1 stateless, resent", a1},
		{"S1 session 1, from store", s1},
		{"A2 stateless, once", a2},
		{"S2 session 1, once", s2},
		{"P  session 2, not ended", open},
	}
	all := make([]string, len(labels))
	for i, l := range labels {
		all[i] = l.value
	}
	sid1, sid2 := "memscan-"+randomHex(8), "memscan-"+randomHex(8)

	echoA1 := sendMem(t, h, false, "", []turn{{role: "user", text: a1}}, a1)
	sendMem(t, h, false, sid1, []turn{{role: "user", text: s1}}, s1)
	sendMem(t, h, true, "", []turn{{role: "user", text: a1}, {role: "assistant", text: echoA1}, {role: "user", text: a2}}, a2)
	sendMem(t, h, true, sid1, []turn{{role: "user", text: s2}}, s2)
	// S1 and its echo must have gone upstream from the store, or S1 did
	// not travel twice and the twins are not alike.
	if n := bytes.Count(h.OpenAI.LastRequest(), []byte(s1)); n != 2 {
		t.Fatalf("the session's second turn carried S1 upstream %d times, want 2 (the turn and its echo)", n)
	}
	sendMem(t, h, false, sid2, []turn{{role: "user", text: open}}, open)

	scanPhase := func(phase string) memCounts {
		t.Helper()
		counts, read, err := scanChild(pid, all)
		if err != nil {
			t.Fatalf("%s: reading the relay's memory: %v", phase, err)
		}
		logCounts(t, phase, labels, counts, read)
		return counts
	}

	// Positive control: right after session 2's request its content is
	// still in transient buffers; a scan that cannot see it proves nothing.
	sent := scanPhase("all turns sent, both sessions open")
	if sent.total(open) == 0 {
		t.Fatal("the scan did not find the open session's canary right after its request: the scan is broken")
	}

	if n := endMemSession(t, h, sid1); n != 4 {
		t.Fatalf("session end wiped %d messages, want 4 (two turns and their replies)", n)
	}
	ended := scanPhase("session 1 ended")

	// Unrelated traffic and time: pooled buffers get reused, GC may run.
	for i := range 2 {
		filler := fmt.Sprintf("unrelated filler request %d", i)
		sendMem(t, h, i == 1, "", []turn{{role: "user", text: filler}}, filler)
	}
	time.Sleep(2 * time.Second)
	later := scanPhase("after 2 more requests and 2 s")

	// Indexes into labels: a session's canary and its stateless twin. The
	// open session's P is held against A2, which also travelled once.
	twins := [][2]int{{1, 0}, {3, 2}, {4, 2}}
	for _, p := range []struct {
		name     string
		counts   memCounts
		afterEnd bool
	}{{"all sent", sent, false}, {"ended", ended, true}, {"later", later, true}} {
		for _, l := range labels {
			if n := p.counts[l.value].byKind[kindArena]; n > 0 {
				t.Errorf("%s: %d copies of %s in the no-dump key arena", p.name, n, l.name)
			}
		}
		// Between requests the store holds sealed messages only, open or
		// ended: its plaintext framing would show as unquoted copies.
		for _, tw := range twins {
			sess, ctl := labels[tw[0]], labels[tw[1]]
			if s, a := p.counts[sess.value].unquoted, p.counts[ctl.value].unquoted; s > a {
				t.Errorf("%s: %d unquoted copies of %s (not JSON text: the store's plaintext?), %d of its stateless twin %s", p.name, s, sess.name, a, ctl.name)
			}
		}
		if !p.afterEnd {
			continue
		}
		// After End a session leaves no more copies than a stateless
		// client's conversation: S1 against A1, and the conversation in
		// all. (S2 against A2 alone is left to the logs: one freed buffer
		// reused or not moves either by one, and the two are often equal.)
		sess, ctl := labels[twins[0][0]], labels[twins[0][1]]
		if s, a := p.counts.total(sess.value), p.counts.total(ctl.value); s > a {
			t.Errorf("%s: %s has %d copies in memory, more than its stateless twin %s (%d)", p.name, sess.name, s, ctl.name, a)
		}
		sSum := p.counts.total(s1) + p.counts.total(s2)
		aSum := p.counts.total(a1) + p.counts.total(a2)
		if sSum > aSum {
			t.Errorf("%s: the ended session's canaries have %d copies in memory, more than the stateless conversation's (%d)", p.name, sSum, aSum)
		}
	}
}

// TestScanRegionsCountsCopies checks the scanner on a synthetic address
// space: every planted copy is found once, per kind, including one split
// across a chunk boundary, one whose closing quote starts the next chunk,
// and one at the very end of a region; a copy split across two regions,
// or one cut short, is not a copy; a canary never planted is not found.
// Copies followed by anything but a quote count as unquoted.
func TestScanRegionsCountsCopies(t *testing.T) {
	c, other, absent := memCanary(), memCanary(), memCanary()
	space := make([]byte, 5*scanChunk)
	regions := []memRegion{
		{lo: 0, hi: 3 * scanChunk, kind: kindGoHeap},
		{lo: 3 * scanChunk, hi: 4 * scanChunk, kind: kindAnon},
		{lo: 4 * scanChunk, hi: 5 * scanChunk, kind: kindArena},
	}
	plant := func(at int, s string) { copy(space[at:], s) }
	n := len(c)
	plant(100, `"`+c+`"`)                                  // quoted
	plant(scanChunk-10, `"`+c+`"`)                         // straddles a chunk boundary
	plant(2*scanChunk-n-1, `"`+c+`"`)                      // its quote starts the next chunk
	plant(3*scanChunk-n-1, `"`+c)                          // ends its region; the quote after it
	plant(3*scanChunk, `"`)                                // is another region's: unquoted
	plant(scanChunk+500, "\x01\x01\x01\x00\x00\x38"+other) // binary framing: unquoted
	plant(4*scanChunk-20, c)                               // split across two regions
	plant(4*scanChunk+7, c[:n-1]+`"`)                      // cut short by one byte
	plant(4*scanChunk+200, memPrefix+memPrefix)            // a prefix alone
	plant(5*scanChunk-n-1, other+`"`)                      // ends at the end of memory
	counts, read := scanRegions(bytes.NewReader(space), regions, []string{c, other, absent})
	if read != int64(len(space)) {
		t.Errorf("read %d bytes, want %d", read, len(space))
	}
	want := map[string]memTally{
		c:      {byKind: map[string]int{kindGoHeap: 4}, unquoted: 1},
		other:  {byKind: map[string]int{kindGoHeap: 1, kindArena: 1}, unquoted: 1},
		absent: {byKind: map[string]int{}},
	}
	for i, v := range []string{c, other, absent} {
		for _, k := range memKinds {
			if got := counts[v].byKind[k]; got != want[v].byKind[k] {
				t.Errorf("canary %d, kind %s: %d copies, want %d", i, k, got, want[v].byKind[k])
			}
		}
		if got := counts[v].unquoted; got != want[v].unquoted {
			t.Errorf("canary %d: %d unquoted copies, want %d", i, got, want[v].unquoted)
		}
	}
}

// TestParseSmaps checks the mapping kinds on smaps text shaped like the
// kernel's: the no-dump arena is told by its VmFlags, Go's heap by its
// 64 MiB-aligned run of anonymous mappings (an unaligned run is other
// anonymous memory), and unreadable and kernel mappings are skipped.
func TestParseSmaps(t *testing.T) {
	raw := []byte(`00400000-00c00000 r-xp 00000000 08:01 123   /usr/bin/relay
Size:               8192 kB
VmFlags: rd ex mr mw me
01000000-01021000 rw-p 00000000 00:00 0          [heap]
VmFlags: rd wr mr mw me ac
10c660000000-10c661400000 ---p 00000000 00:00 0
VmFlags: mr mw me
10c661400000-10c661c00000 rw-p 00000000 00:00 0
Rss:                1024 kB
VmFlags: rd wr mr mw me ac
10c661c00000-10c668000000 ---p 00000000 00:00 0
VmFlags: mr mw me
7f0000000000-7f0000001000 ---p 00000000 00:00 0
VmFlags: mr mw me
7f0000001000-7f0000003000 rw-p 00000000 00:00 0
VmFlags: rd wr mr mw me lo dd wf
7f0000003000-7f0000004000 ---p 00000000 00:00 0
VmFlags: mr mw me
7f1000000000-7f1000100000 rw-p 00000000 00:00 0
VmFlags: rd wr mr mw me ac
7f1000100000-7f1000200000 ---p 00000000 00:00 0
VmFlags: mr mw me
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0          [stack]
VmFlags: rd wr mr mw me gd ac
7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0          [vdso]
VmFlags: rd ex mr mw me de
`)
	got, err := parseSmaps(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []memRegion{
		{0x400000, 0xc00000, kindFile},
		{0x1000000, 0x1021000, kindBrk},
		{0x10c661400000, 0x10c661c00000, kindGoHeap},
		{0x7f0000001000, 0x7f0000003000, kindArena},
		{0x7f1000000000, 0x7f1000100000, kindAnon},
		{0x7ffc00000000, 0x7ffc00021000, kindStack},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseSmaps:\n got %+v\nwant %+v", got, want)
	}
}
