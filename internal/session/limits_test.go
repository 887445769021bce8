package session

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/content"
)

func TestLimits(t *testing.T) {
	t.Run("sessions", func(t *testing.T) {
		s := newStore(t, Limits{MaxSessions: 2, MaxSessionsPerOwner: 3}, nil)
		turn(t, s, "a", nil, say(content.RoleAssistant, "1"))
		turn(t, s, "b", nil, say(content.RoleAssistant, "2"))
		before := s.Stats()
		if _, err := s.Begin(testOwner, "c"); !errors.Is(err, ErrTooMany) || HTTPStatus(err) != http.StatusTooManyRequests {
			t.Fatalf("third session: %v, want ErrTooMany/429", err)
		}
		after := s.Stats()
		if after.Active != before.Active || after.Bytes != before.Bytes || after.KeyArena.InUse != before.KeyArena.InUse || after.Refused.TooMany != 1 {
			t.Fatalf("refusal changed state: %+v -> %+v", before, after)
		}
		turn(t, s, "a", nil, say(content.RoleAssistant, "existing sessions still work"))
	})
	t.Run("arena slots", func(t *testing.T) {
		a := newArena(t, 2) // the hash key and one session
		s, err := New(Limits{}, a, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		turn(t, s, "a", nil, say(content.RoleAssistant, "1"))
		if _, err := s.Begin(testOwner, "b"); !errors.Is(err, ErrTooMany) {
			t.Fatalf("session beyond the arena: %v, want ErrTooMany", err)
		}
	})
	t.Run("session bytes", func(t *testing.T) {
		s := newStore(t, Limits{MaxBytesPerSession: 4096}, nil)
		turn(t, s, "a", []content.Message{say(content.RoleUser, "short")}, say(content.RoleAssistant, "ok"))
		before := s.Stats()
		tr, err := s.Begin(testOwner, "a")
		if err != nil {
			t.Fatal(err)
		}
		big := say(content.RoleAssistant, strings.Repeat("x", 5000))
		if err := tr.Commit([]content.Message{say(content.RoleUser, "more")}, big); !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrStoreFull) || HTTPStatus(err) != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized commit: %v, want ErrTooLarge/413", err)
		}
		after := s.Stats()
		if after.Bytes != before.Bytes || after.Busy != 0 || after.Refused.TooLarge != 1 {
			t.Fatalf("refusal changed state: %+v -> %+v", before, after)
		}
		hist := turn(t, s, "a", nil, say(content.RoleAssistant, "small is fine"))
		sameMessages(t, hist, []content.Message{say(content.RoleUser, "short"), say(content.RoleAssistant, "ok")})
	})
	t.Run("total bytes", func(t *testing.T) {
		s := newStore(t, Limits{MaxTotalBytes: 3000, MaxBytesPerOwner: 10000}, nil)
		turn(t, s, "a", nil, say(content.RoleAssistant, strings.Repeat("a", 2000)))
		tr, err := s.Begin(testOwner, "b")
		if err != nil {
			t.Fatal(err)
		}
		err = tr.Commit(nil, say(content.RoleAssistant, strings.Repeat("b", 2000)))
		if !errors.Is(err, ErrStoreFull) || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("commit past the total: %v, want ErrStoreFull (an ErrTooLarge)", err)
		}
		// b's first turn failed: the empty session is dropped, its slot freed.
		if st := s.Stats(); st.Active != 1 || st.KeyArena.InUse != 2 || arenaKeysInUse(s) != 2 {
			t.Fatalf("after a failed first turn: %+v", st)
		}
	})
	t.Run("ids", func(t *testing.T) {
		s := newStore(t, Limits{}, nil)
		for _, id := range invalidIDs() {
			if _, err := s.Begin(testOwner, id); !errors.Is(err, ErrInvalidID) || HTTPStatus(err) != http.StatusBadRequest {
				t.Errorf("Begin(%q): %v, want ErrInvalidID/400", id, err)
			}
			if _, err := s.End(testOwner, id); !errors.Is(err, ErrInvalidID) {
				t.Errorf("End(%q): %v, want ErrInvalidID", id, err)
			}
			if _, err := s.Scope(testOwner, id); !errors.Is(err, ErrInvalidID) {
				t.Errorf("Scope(%q): %v, want ErrInvalidID", id, err)
			}
		}
		if _, err := s.Begin("", "fine"); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Begin without an owner: %v, want ErrInvalidID", err)
		}
		if st := s.Stats(); st.Active != 0 {
			t.Fatal("an invalid id made a session")
		}
		for _, id := range validIDs() {
			turn(t, s, id, nil, say(content.RoleAssistant, "ok"))
		}
		if st := s.Stats(); st.Active != len(validIDs()) {
			t.Fatalf("%d sessions for %d valid ids", st.Active, len(validIDs()))
		}
	})
}

// invalidIDs break the rule IDRule states.
func invalidIDs() []string {
	return []string{
		"",
		strings.Repeat("i", MaxIDLen+1), // 129 bytes
		strings.Repeat("i", 512),
		"nul\x00inside", "\x00",
		"new\nline", "cr\r", "tab\t", "\x1b[31m", "del\x7f",
		"with space", " lead", "trail ",
		"caf\u00e9",        // non-ASCII (UTF-8)
		"\xff\xfe",         // not UTF-8 at all
		"\u200bzero-width", // invisible non-ASCII
	}
}

// validIDs are at the edges of the rule.
func validIDs() []string {
	return []string{
		"a", "!", "~",
		strings.Repeat("m", MaxIDLen), // exactly 128
		"user@example.test:conv/42_v1.2-x",
		`every!"#$%&'()*+,-./:;<=>?@[\]^_` + "`{|}~",
	}
}

func TestValidIDIsExactlyTheRule(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c >= 0x21 && c <= 0x7e
		if got := ValidID(string([]byte{byte(c)})); got != want {
			t.Errorf("ValidID(byte %#x) = %v, want %v", c, got, want)
		}
	}
	if !ValidID(strings.Repeat("x", 128)) || ValidID(strings.Repeat("x", 129)) {
		t.Error("the length bound is not 128")
	}
}

func TestAbortOfFirstTurnDropsEmptySession(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	tr, err := s.Begin(testOwner, "new")
	if err != nil {
		t.Fatal(err)
	}
	tr.Abort()
	if st := s.Stats(); st.Active != 0 || st.KeyArena.InUse != 1 || arenaKeysInUse(s) != 1 {
		t.Fatalf("aborted first turn left state: %+v", st)
	}
}

func TestHTTPStatus(t *testing.T) {
	for err, want := range map[error]int{
		nil: 200, ErrInvalidID: 400, ErrTooMany: 429, ErrOwnerTooMany: 429, ErrBusy: 409, ErrWiped: 409, ErrTooLarge: 413,
		ErrStoreFull: 413, ErrOwnerFull: 413, ErrNotFound: 404, ErrClosed: 503, ErrCorrupt: 500, fmt.Errorf("x: %w", ErrBusy): 409,
	} {
		if got := HTTPStatus(err); got != want {
			t.Errorf("HTTPStatus(%v) = %d, want %d", err, got, want)
		}
	}
}

// A shared arena closed under the store (a wiring mistake) must not make the
// store hash ids under a zero key, seal under a zero key, or miscount.
func TestSharedArenaClosedUnderStore(t *testing.T) {
	a := newArena(t, 8)
	s, err := New(Limits{}, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	turn(t, s, "x", nil, say(content.RoleAssistant, "1"))
	tr, err := s.Begin(testOwner, "x")
	if err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	_ = a.Close()
	if err := tr.Commit(nil, say(content.RoleAssistant, "2")); err == nil {
		t.Fatal("Commit sealed with a key from a closed arena")
	}
	if st := s.Stats(); st.Bytes != before.Bytes {
		t.Fatalf("a failed Commit kept its reservation: %d -> %d bytes", before.Bytes, st.Bytes)
	}
	if _, err := s.Begin(testOwner, "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Begin with the hash key gone: %v, want ErrClosed", err)
	}
	if recs := s.Close(); len(recs) != 1 {
		t.Fatalf("Close wiped %d sessions, want 1", len(recs))
	}
}

// Room and SealedSize predict exactly what Commit accepts.
func TestRoomPredictsCommit(t *testing.T) {
	s := newStore(t, Limits{MaxBytesPerSession: 1000, MaxTotalBytes: 1500, MaxBytesPerOwner: 2000}, nil)
	turn(t, s, "other", nil, say(content.RoleAssistant, strings.Repeat("o", 300)))
	tr, err := s.Begin(testOwner, "r")
	if err != nil {
		t.Fatal(err)
	}
	room := tr.Room()
	if want := int64(1000); room != want {
		t.Fatalf("Room = %d, want %d (the session limit)", room, want)
	}
	// A reply that fills the room exactly is accepted; one byte more is not.
	fill := func(extra int) content.Message {
		m := say(content.RoleAssistant, "")
		n := int(room - SealedSize(m))
		m.Parts[0].Text = content.FromString(strings.Repeat("f", n-1+extra)) // its length prefix takes 2 bytes, not 1
		return m
	}
	if got := SealedSize(fill(0)); got != room {
		t.Fatalf("test setup: SealedSize %d, room %d", got, room)
	}
	if err := tr.Commit(nil, fill(1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("one byte over Room: %v, want ErrTooLarge", err)
	}
	tr, err = s.Begin(testOwner, "r")
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Commit(nil, fill(0)); err != nil {
		t.Fatalf("exactly Room: %v", err)
	}
	tr, err = s.Begin(testOwner, "r")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Abort()
	if tr.Room() != 0 {
		t.Fatalf("Room after filling = %d, want 0", tr.Room())
	}
}
