package session

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/content"
)

// Two API keys, as the server names them.
const (
	k1 = "key-1"
	k2 = "key-2"
)

// ownTurn runs one committed exchange as owner.
func ownTurn(t *testing.T, s *Store, owner, id, reply string) []content.Message {
	t.Helper()
	tr, err := s.Begin(owner, id)
	if err != nil {
		t.Fatalf("Begin(%s, %s): %v", owner, id, err)
	}
	hist := cloneMessages(tr.History())
	if err := tr.Commit([]content.Message{say(content.RoleUser, "q "+reply)}, say(content.RoleAssistant, reply)); err != nil {
		t.Fatalf("Commit(%s, %s): %v", owner, id, err)
	}
	return hist
}

// TestOwnersDoNotShareSessions: one id under two keys names two sessions.
// The second key neither reads nor appends to the first's conversation.
func TestOwnersDoNotShareSessions(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	ownTurn(t, s, k1, "work", "k1 secret")

	tr, err := s.Begin(k2, "work")
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Created() || len(tr.History()) != 0 {
		t.Fatalf("k2 on k1's id: created %v, %d messages of history", tr.Created(), len(tr.History()))
	}
	if err := tr.Commit([]content.Message{say(content.RoleUser, "k2 question")}, say(content.RoleAssistant, "k2 answer")); err != nil {
		t.Fatal(err)
	}
	// k1's history holds its own turn only; k2's its own.
	sameMessages(t, ownTurn(t, s, k1, "work", "again"), []content.Message{say(content.RoleUser, "q k1 secret"), say(content.RoleAssistant, "k1 secret")})
	sameMessages(t, ownTurn(t, s, k2, "work", "again"), []content.Message{say(content.RoleUser, "k2 question"), say(content.RoleAssistant, "k2 answer")})
	if st := s.Stats(); st.Active != 2 || st.Owners != 2 {
		t.Fatalf("stats: %d sessions of %d owners, want 2 of 2", st.Active, st.Owners)
	}

	// A turn in progress under k1 does not make k2 busy on the same id.
	busy, err := s.Begin(k1, "work")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Abort()
	other, err := s.Begin(k2, "work")
	if err != nil {
		t.Fatalf("k2 while k1's turn runs: %v", err)
	}
	other.Abort()
}

// TestEndIsOwnersOnly: another key's End of an id answers exactly as for
// an id that never existed, and leaves the session whole.
func TestEndIsOwnersOnly(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	ownTurn(t, s, k1, "work", "k1 secret")

	_, errOther := s.End(k2, "work")
	_, errNever := s.End(k2, "never-existed")
	_, errNeverK1 := s.End(k1, "never-existed")
	for _, err := range []error{errOther, errNever, errNeverK1} {
		if err != ErrNotFound { // the very same value: nothing to tell apart
			t.Fatalf("End: %v, want ErrNotFound", err)
		}
	}
	if st := s.Stats(); st.Active != 1 || st.Wipes.End != 0 {
		t.Fatalf("k2's End touched k1's session: %+v", st)
	}
	sameMessages(t, ownTurn(t, s, k1, "work", "still here"), []content.Message{say(content.RoleUser, "q k1 secret"), say(content.RoleAssistant, "k1 secret")})

	rec, err := s.End(k1, "work")
	if err != nil || rec.Messages != 4 {
		t.Fatalf("owner's End: %+v, %v", rec, err)
	}
	if st := s.Stats(); st.Active != 0 || st.Owners != 0 || st.Bytes != 0 {
		t.Fatalf("after End: %+v", st)
	}
}

// TestScopeNamesSessionPerOwner: the name handed to backends differs per
// owner for one id, is stable for one (owner, id), matches the turn's, and
// shows neither id nor owner.
func TestScopeNamesSessionPerOwner(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	a, err := s.Scope(k1, "work")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Scope(k2, "work")
	c, _ := s.Scope(k1, "work")
	d, _ := s.Scope(k1, "other")
	if a == b || a != c || a == d {
		t.Fatalf("scopes: k1/work %s, k2/work %s, k1/work again %s, k1/other %s", a, b, c, d)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) || len(a) != ScopeLen {
		t.Fatalf("scope %q is not %d hex digits", a, ScopeLen)
	}
	if strings.Contains(a, "work") || strings.Contains(a, k1) {
		t.Fatal("the scope shows the id or the owner")
	}
	tr, err := s.Begin(k1, "work")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Abort()
	if tr.Scope() != a {
		t.Fatalf("Turn.Scope %s, Store.Scope %s", tr.Scope(), a)
	}
	// Another store (another process) names the same session otherwise.
	if o, _ := newStore(t, Limits{}, nil).Scope(k1, "work"); o == a {
		t.Fatal("the scope does not depend on the process's key")
	}
	s.Close()
	if _, err := s.Scope(k1, "work"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Scope after Close: %v", err)
	}
}

// TestOwnerShareOfSessions: one key filling its share gets a 429 of its
// own; the other keys still open sessions; ending one frees a place.
func TestOwnerShareOfSessions(t *testing.T) {
	s := newStore(t, Limits{MaxSessions: 8}, nil) // default share: 8/4 = 2
	if got := s.Stats().Limits.MaxSessionsPerKey; got != 2 {
		t.Fatalf("default share %d, want 2", got)
	}
	ownTurn(t, s, k1, "a", "1")
	ownTurn(t, s, k1, "b", "2")
	before := s.Stats()
	_, err := s.Begin(k1, "c")
	if !errors.Is(err, ErrOwnerTooMany) || !errors.Is(err, ErrTooMany) || HTTPStatus(err) != http.StatusTooManyRequests {
		t.Fatalf("k1 past its share: %v, want ErrOwnerTooMany/429", err)
	}
	after := s.Stats()
	if after.Active != before.Active || after.KeyArena.InUse != before.KeyArena.InUse || after.Refused.OwnerTooMany != 1 || after.Refused.TooMany != 0 {
		t.Fatalf("refusal changed state: %+v -> %+v", before, after)
	}
	// k1's existing sessions still work, and k2 is not locked out.
	ownTurn(t, s, k1, "a", "3")
	ownTurn(t, s, k2, "a", "k2")
	ownTurn(t, s, k2, "c", "k2")
	// Ending one of k1's frees its place.
	if _, err := s.End(k1, "b"); err != nil {
		t.Fatal(err)
	}
	ownTurn(t, s, k1, "c", "4")

	// Many keys together still meet the store's own limit, and that
	// refusal is the store's, not the key's.
	ownTurn(t, s, "key-3", "a", "5")
	ownTurn(t, s, "key-3", "b", "6")
	ownTurn(t, s, "key-4", "a", "7")
	ownTurn(t, s, "key-4", "b", "8")
	if _, err := s.Begin("key-5", "a"); !errors.Is(err, ErrTooMany) || errors.Is(err, ErrOwnerTooMany) {
		t.Fatalf("store full: %v, want ErrTooMany (not the key's share)", err)
	}
}

// TestOwnerShareOfBytes: one key filling its share of store memory gets a
// 413 of its own; another key can still store turns.
func TestOwnerShareOfBytes(t *testing.T) {
	s := newStore(t, Limits{MaxBytesPerSession: 2000, MaxTotalBytes: 8000, MaxBytesPerOwner: 3000}, nil)
	big := say(content.RoleAssistant, strings.Repeat("x", 1400))
	for _, id := range []string{"a", "b"} {
		tr, err := s.Begin(k1, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Commit(nil, big); err != nil {
			t.Fatalf("k1 %s: %v", id, err)
		}
	}
	tr, err := s.Begin(k1, "c")
	if err != nil {
		t.Fatal(err)
	}
	if r := tr.Room(); r >= 3000-2*1400 {
		t.Fatalf("Room %d ignores the key's share", r)
	}
	err = tr.Commit(nil, big)
	if !errors.Is(err, ErrOwnerFull) || !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrStoreFull) || HTTPStatus(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("k1 past its byte share: %v, want ErrOwnerFull/413", err)
	}
	if st := s.Stats(); st.Refused.OwnerTooLarge != 1 || st.Refused.TooLarge != 0 {
		t.Fatalf("refusals %+v", st.Refused)
	}
	tr, err = s.Begin(k2, "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Commit(nil, big); err != nil {
		t.Fatalf("k2 locked out by k1's bytes: %v", err)
	}
}

func TestLimitDefaults(t *testing.T) {
	for _, c := range []struct {
		in       Limits
		sessions int
		bytes    int64
	}{
		{Limits{}, DefaultMaxSessions / 4, DefaultMaxTotalBytes / 4},
		{Limits{MaxSessions: 3}, 1, DefaultMaxTotalBytes / 4},
		{Limits{MaxSessions: 1}, 1, DefaultMaxTotalBytes / 4},
		// The share never keeps one session below its own limit…
		{Limits{MaxBytesPerSession: 100 << 20}, DefaultMaxSessions / 4, 100 << 20},
		// …nor exceeds the store.
		{Limits{MaxBytesPerSession: 8 << 20, MaxTotalBytes: 4 << 20}, DefaultMaxSessions / 4, 4 << 20},
		{Limits{MaxSessionsPerOwner: 7, MaxBytesPerOwner: 99}, 7, 99},
	} {
		l := c.in.withDefaults()
		if l.MaxSessionsPerOwner != c.sessions || l.MaxBytesPerOwner != c.bytes {
			t.Errorf("%+v: share %d sessions, %d bytes; want %d, %d", c.in, l.MaxSessionsPerOwner, l.MaxBytesPerOwner, c.sessions, c.bytes)
		}
	}
}

// TestWipeRecordCarriesScopeUnmarshalled: a wipe names the session's
// scope for the backends, and the record's JSON (what is logged) leaves it
// out.
func TestWipeRecordCarriesScopeUnmarshalled(t *testing.T) {
	s := newStore(t, Limits{}, nil)
	ownTurn(t, s, k1, "work", "x")
	want, _ := s.Scope(k1, "work")
	rec, err := s.End(k1, "work")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Scope != want {
		t.Fatalf("record scope %q, want %q", rec.Scope, want)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), want) {
		t.Fatalf("the scope is marshalled: %s", b)
	}
}
