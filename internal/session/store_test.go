package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/content"
)

func TestConversationRoundTrip(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	msgs := everyKind()
	want := cloneMessages(msgs)

	tr, err := s.Begin(testOwner, "conv")
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Created() || len(tr.History()) != 0 {
		t.Fatalf("new session: created %v, %d history messages", tr.Created(), len(tr.History()))
	}
	if err := tr.Commit(msgs[:3], msgs[3]); err != nil {
		t.Fatal(err)
	}
	hist := turn(t, s, "conv", msgs[4:], say(content.RoleAssistant, "ok"))
	sameMessages(t, hist, want[:4])

	tr, err = s.Begin(testOwner, "conv")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Created() {
		t.Fatal("existing session reported as created")
	}
	sameMessages(t, tr.History(), append(cloneMessages(want), say(content.RoleAssistant, "ok")))
	tr.Abort()

	// Sessions are separate.
	tr, err = s.Begin(testOwner, "other")
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.History()) != 0 {
		t.Fatal("a new session sees another's history")
	}
	tr.Abort()
}

func TestCommitAndAbortWipeHistory(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	turn(t, s, "h", []content.Message{say(content.RoleUser, "secret question")}, say(content.RoleAssistant, "secret answer"))
	for _, end := range []string{"commit", "abort"} {
		tr, err := s.Begin(testOwner, "h")
		if err != nil {
			t.Fatal(err)
		}
		var held [][]byte
		for _, m := range tr.History() {
			held = append(held, m.Parts[0].Text.Bytes())
		}
		if len(held) < 2 || allZero(held[0]) {
			t.Fatalf("%s: no history to check", end)
		}
		if end == "commit" {
			if err := tr.Commit(nil, say(content.RoleAssistant, "more")); err != nil {
				t.Fatal(err)
			}
		} else {
			tr.Abort()
		}
		for i, b := range held {
			if !allZero(b) {
				t.Fatalf("%s: history message %d not zeroed", end, i)
			}
		}
		if tr.History() != nil {
			t.Fatalf("%s: History still returns messages", end)
		}
		tr.Abort() // no-op
		if err := tr.Commit(nil, say(content.RoleAssistant, "x")); !errors.Is(err, ErrDone) {
			t.Fatalf("%s: Commit after the end: %v, want ErrDone", end, err)
		}
	}
}

// The store's buffers hold ciphertext only, and the plaintext buffers it
// made for sealing and opening are zero once the turn is over.
func TestStoreHoldsNoPlaintext(t *testing.T) {
	var plains [][]byte
	testHookPlain = func(b []byte) { plains = append(plains, b) }
	t.Cleanup(func() { testHookPlain = nil })

	s := newStore(t, Limits{}, nil)
	canary := []byte("canary-" + fmt.Sprintf("%x", randomBytes(16)))
	user := content.Message{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: content.Of(bytes.Clone(canary))}}}
	turn(t, s, "p", []content.Message{user}, say(content.RoleAssistant, "fine"))
	tr, err := s.Begin(testOwner, "p")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tr.History()[0].Parts[0].Text.Bytes(), canary) {
		t.Fatal("history lost the canary")
	}
	tr.Abort()

	sess := sessionOf(s, "p")
	for i, c := range sess.sealed {
		if bytes.Contains(c, canary) || bytes.Contains(c, canary[:12]) {
			t.Fatalf("sealed message %d contains the plaintext", i)
		}
	}
	if len(plains) != 4 { // two sealed, two opened
		t.Fatalf("saw %d plaintext buffers, want 4", len(plains))
	}
	for i, p := range plains {
		if !allZero(p) {
			t.Fatalf("plaintext buffer %d not zeroed", i)
		}
	}
}

// snapshot holds references to a session's sealed buffers and key slot, so
// that a test can look at that memory after the store let go of it.
type snapshot struct {
	sealed [][]byte
	key    []byte
}

func snap(t *testing.T, s *Store, id string) snapshot {
	t.Helper()
	sess := sessionOf(s, id)
	if sess == nil {
		t.Fatalf("no session")
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sn := snapshot{sealed: append([][]byte(nil), sess.sealed...), key: sess.key.Bytes()}
	if len(sn.sealed) == 0 || allZero(sn.key) {
		t.Fatal("nothing to check: empty session or zero key")
	}
	return sn
}

func (sn snapshot) checkWiped(t *testing.T) {
	t.Helper()
	for i, c := range sn.sealed {
		if !allZero(c) {
			t.Errorf("sealed buffer %d not zeroed", i)
		}
	}
	if !allZero(sn.key) { // still points into the (mapped) arena
		t.Error("key slot not zeroed")
	}
}

// arenaKeysInUse counts non-zero slots in the arena region.
func arenaKeysInUse(s *Store) int {
	n := 0
	s.arena.Inspect(func(r []byte) {
		for off := 0; off+32 <= len(r); off += 32 {
			if !allZero(r[off : off+32]) {
				n++
			}
		}
	})
	return n
}

var recordKeys = regexp.MustCompile(`^\{"session":"[0-9a-f]{8}","messages":\d+,"bytes":\d+,"reason":"[a-z]+","took_ns":\d+\}$`)

func checkRecord(t *testing.T, r WipeRecord, id string, reason Reason, msgs int) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !recordKeys.Match(b) {
		t.Errorf("record has unexpected shape: %s", b)
	}
	if strings.Contains(string(b), id) || strings.Contains(fmt.Sprintf("%+v", r), id) {
		t.Errorf("wipe record contains the session id")
	}
	if r.Reason != reason || r.Messages != msgs || r.Bytes <= int64(msgs*Overhead) {
		t.Errorf("record %+v, want reason %v, %d messages", r, reason, msgs)
	}
}

func TestEndWipes(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	const id = "end-me-3f9a"
	turn(t, s, id, []content.Message{say(content.RoleUser, "q1")}, say(content.RoleAssistant, "a1"))
	turn(t, s, id, []content.Message{say(content.RoleUser, "q2")}, say(content.RoleAssistant, "a2"))
	turn(t, s, "keep", nil, say(content.RoleAssistant, "x"))
	sn := snap(t, s, id)
	h := sessionOf(s, id).hash
	before := s.Stats()

	rec, err := s.End(testOwner, id)
	if err != nil {
		t.Fatal(err)
	}
	sn.checkWiped(t)
	checkRecord(t, rec, id, ReasonEnd, 4)
	if rec.Session != prefix(&h) {
		t.Errorf("record session %q, want the hash prefix", rec.Session)
	}
	if sessionOf(s, id) != nil {
		t.Fatal("session still in the map")
	}
	st := s.Stats()
	if st.Active != 1 || st.Bytes != before.Bytes-rec.Bytes || st.Wipes.End != 1 {
		t.Fatalf("stats after End: %+v (before %+v)", st, before)
	}
	// Hash key + "keep": two slots in use, two non-zero.
	if st.KeyArena.InUse != 2 || arenaKeysInUse(s) != 2 {
		t.Fatalf("arena: %d in use, %d non-zero; want 2 and 2", st.KeyArena.InUse, arenaKeysInUse(s))
	}
	if _, err := s.End(testOwner, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second End: %v, want ErrNotFound", err)
	}
	tr, err := s.Begin(testOwner, id)
	if err != nil || !tr.Created() || len(tr.History()) != 0 {
		t.Fatalf("Begin after End: %v; want a fresh session", err)
	}
	tr.Abort()
}

func TestWipeAllIncludesBusySessions(t *testing.T) {
	for _, reason := range []Reason{ReasonShutdown, ReasonLockdown} {
		t.Run(reason.String(), func(t *testing.T) {
			s := newStore(t, Limits{}, nil)
			var snaps []snapshot
			for i := range 5 {
				id := fmt.Sprintf("s%d", i)
				turn(t, s, id, []content.Message{say(content.RoleUser, "q")}, say(content.RoleAssistant, "a"))
				snaps = append(snaps, snap(t, s, id))
			}
			busy, err := s.Begin(testOwner, "s0")
			if err != nil {
				t.Fatal(err)
			}
			recs := s.WipeAll(reason)
			if len(recs) != 5 {
				t.Fatalf("%d records, want 5", len(recs))
			}
			for i, r := range recs {
				checkRecord(t, r, fmt.Sprintf("s%d", i), reason, 2)
			}
			for _, sn := range snaps {
				sn.checkWiped(t)
			}
			if err := busy.Commit(nil, say(content.RoleAssistant, "late")); !errors.Is(err, ErrWiped) {
				t.Fatalf("Commit on a wiped session: %v, want ErrWiped", err)
			}
			st := s.Stats()
			if st.Active != 0 || st.Bytes != 0 || st.KeyArena.InUse != 1 || arenaKeysInUse(s) != 1 {
				t.Fatalf("after WipeAll: %+v, %d non-zero slots", st, arenaKeysInUse(s))
			}
			if got := map[Reason]uint64{ReasonShutdown: st.Wipes.Shutdown, ReasonLockdown: st.Wipes.Lockdown}[reason]; got != 5 {
				t.Fatalf("wipe count %d, want 5", got)
			}
			// The store stays usable after WipeAll.
			turn(t, s, "s0", nil, say(content.RoleAssistant, "again"))
		})
	}
}

func TestCloseWipesAndRefuses(t *testing.T) {
	s, err := New(Limits{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	turn(t, s, "c", []content.Message{say(content.RoleUser, "q")}, say(content.RoleAssistant, "a"))
	sn := snap(t, s, "c")
	sealedOnly := sn.sealed // the key slot is unmapped by Close: do not read it
	recs := s.Close()
	if len(recs) != 1 || recs[0].Reason != ReasonShutdown {
		t.Fatalf("Close records: %+v", recs)
	}
	for i, c := range sealedOnly {
		if !allZero(c) {
			t.Fatalf("sealed buffer %d not zeroed by Close", i)
		}
	}
	if _, err := s.Begin(testOwner, "c"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Begin after Close: %v, want ErrClosed", err)
	}
	if _, err := s.End(testOwner, "c"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("End after Close: %v, want ErrNotFound", err)
	}
	if s.Close() != nil {
		t.Fatal("second Close did something")
	}
	if st := s.Stats(); st.KeyArena.InUse != 0 {
		t.Fatalf("own arena still in use after Close: %+v", st.KeyArena)
	}
}

func TestBusy(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	turn(t, s, "b", nil, say(content.RoleAssistant, "hi"))
	t1, err := s.Begin(testOwner, "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(testOwner, "b"); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Begin: %v, want ErrBusy", err)
	}
	if st := s.Stats(); st.Busy != 1 || st.Refused.Busy != 1 {
		t.Fatalf("stats: %+v", st)
	}
	t1.Abort()
	t2, err := s.Begin(testOwner, "b")
	if err != nil {
		t.Fatalf("Begin after Abort: %v", err)
	}
	if len(t2.History()) != 1 {
		t.Fatalf("Abort changed the session: %d messages", len(t2.History()))
	}
	if err := t2.Commit(nil, say(content.RoleAssistant, "x")); err != nil {
		t.Fatal(err)
	}
	t3, err := s.Begin(testOwner, "b")
	if err != nil {
		t.Fatalf("Begin after Commit: %v", err)
	}
	t3.Abort()
}

func TestReapFakeClock(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s := newStore(t, Limits{IdleTimeout: 10 * time.Minute}, clk.now)
	turn(t, s, "old", nil, say(content.RoleAssistant, "1"))
	snOld := snap(t, s, "old")
	clk.advance(6 * time.Minute)
	turn(t, s, "new", nil, say(content.RoleAssistant, "2"))
	turn(t, s, "busy", nil, say(content.RoleAssistant, "3"))
	busy, err := s.Begin(testOwner, "busy")
	if err != nil {
		t.Fatal(err)
	}
	if recs := s.Reap(); len(recs) != 0 {
		t.Fatalf("reaped %d sessions before any was idle", len(recs))
	}
	clk.advance(4 * time.Minute) // old: 10 min idle
	recs := s.Reap()
	if len(recs) != 1 || recs[0].Reason != ReasonIdle {
		t.Fatalf("reap at 10 min: %+v, want old only", recs)
	}
	snOld.checkWiped(t)
	clk.advance(time.Hour)
	recs = s.Reap()
	if len(recs) != 1 || sessionOf(s, "busy") == nil {
		t.Fatalf("reap after an hour: %+v; the busy session must survive", recs)
	}
	busy.Abort() // lastUsed is now: idle starts again
	clk.advance(9 * time.Minute)
	if recs := s.Reap(); len(recs) != 0 {
		t.Fatal("a session just released was reaped")
	}
	if st := s.Stats(); st.Wipes.Idle != 2 {
		t.Fatalf("idle wipes %d, want 2", st.Wipes.Idle)
	}
}

// Under -race: many goroutines run turns on their own sessions, fight over a
// shared one, and end, reap and read stats at the same time.
func TestConcurrentUse(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	const workers, rounds = 8, 30
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			own := fmt.Sprintf("own-%d", w)
			for r := range rounds {
				tr, err := s.Begin(testOwner, own)
				if err != nil {
					t.Errorf("%s: Begin: %v", own, err)
					return
				}
				if n := len(tr.History()); n != 2*r {
					t.Errorf("%s round %d: %d messages, want %d", own, r, n, 2*r)
					return
				}
				if err := tr.Commit([]content.Message{say(content.RoleUser, fmt.Sprint(r))}, say(content.RoleAssistant, fmt.Sprint(r))); err != nil {
					t.Errorf("%s: Commit: %v", own, err)
					return
				}
				// Busy and wiped-meanwhile are the expected outcomes of
				// contention on the shared session.
				if tr, err := s.Begin(testOwner, "shared"); err == nil {
					if err := tr.Commit(nil, say(content.RoleAssistant, own)); err != nil && !errors.Is(err, ErrWiped) {
						t.Errorf("shared Commit: %v", err)
					}
				} else if !errors.Is(err, ErrBusy) && !errors.Is(err, ErrWiped) {
					t.Errorf("shared Begin: %v", err)
				}
				if r%10 == 9 {
					_, _ = s.End(testOwner, "shared")
				}
				s.Reap()
				_ = s.Stats()
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.Busy != 0 || st.Active < workers {
		t.Fatalf("after the storm: %+v", st)
	}
	// The byte count matches what the sessions hold.
	var sum int64
	s.mu.Lock()
	for _, sess := range s.sessions {
		sess.mu.Lock()
		for _, c := range sess.sealed {
			sum += int64(len(c))
		}
		sess.mu.Unlock()
	}
	s.mu.Unlock()
	if sum != st.Bytes {
		t.Fatalf("Stats.Bytes %d, sessions hold %d", st.Bytes, sum)
	}
}

func TestReasonNames(t *testing.T) {
	for r, want := range map[Reason]string{ReasonEnd: "end", ReasonIdle: "idle", ReasonShutdown: "shutdown", ReasonLockdown: "lockdown", 0: "unknown", 99: "unknown"} {
		if r.String() != want {
			t.Errorf("Reason(%d) = %q, want %q", r, r.String(), want)
		}
	}
	if _, err := json.Marshal(WipeRecord{Reason: 0}); err == nil {
		t.Error("a record with no reason marshals")
	}
}

// Close while turns run: every turn ends in success, ErrClosed or ErrWiped,
// nothing touches the unmapped arena, and no session survives.
func TestCloseDuringTurns(t *testing.T) {
	s, err := New(Limits{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			id := fmt.Sprintf("w%d", w)
			for {
				tr, err := s.Begin(testOwner, id)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil && !errors.Is(err, ErrWiped) {
					t.Errorf("Begin: %v", err)
					return
				}
				if err == nil {
					if err := tr.Commit([]content.Message{say(content.RoleUser, "q")}, say(content.RoleAssistant, "a")); err != nil && !errors.Is(err, ErrWiped) {
						t.Errorf("Commit: %v", err)
						return
					}
				}
				_, _ = s.End(testOwner, id)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	s.Close()
	wg.Wait()
	if st := s.Stats(); st.Active != 0 || st.Bytes != 0 {
		t.Fatalf("after Close: %+v", st)
	}
}
