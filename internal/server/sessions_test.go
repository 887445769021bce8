package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/route"
	"github.com/inference-relay/relay/internal/session"
)

// stateful is a backend that keeps per-session state, like the embedded
// engine: it records the session name and the conversation each request
// brings, and the names it is told to end.
type stateful struct {
	mu    sync.Mutex
	calls []call
	ended []string
}

type call struct {
	session string
	text    string // every message's text, joined
}

func (p *stateful) Stream(_ context.Context, _ logic.Target, lp logic.Params, r *content.Request) (provider.Stream, error) {
	var b bytes.Buffer
	for _, m := range r.Messages {
		for _, part := range m.Parts {
			b.Write(part.Text.Bytes())
			b.WriteByte('|')
		}
	}
	p.mu.Lock()
	p.calls = append(p.calls, call{lp.Session, b.String()})
	p.mu.Unlock()
	return &oneDelta{}, nil
}

func (p *stateful) EndSession(_ context.Context, name string) error {
	p.mu.Lock()
	p.ended = append(p.ended, name)
	p.mu.Unlock()
	return nil
}

func (p *stateful) last(t *testing.T) call {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		t.Fatal("the backend was never called")
	}
	return p.calls[len(p.calls)-1]
}

func (p *stateful) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

type oneDelta struct{ done bool }

func (s *oneDelta) Recv() (content.Delta, error) {
	if s.done {
		return content.Delta{}, io.EOF
	}
	s.done = true
	return content.Delta{Kind: content.DeltaText, Text: content.FromString("reply")}, nil
}
func (s *oneDelta) Status() logic.Status { return logic.Status{Stop: logic.StopEnd} }
func (s *oneDelta) Close() error         { return nil }

type sessionRig struct {
	srv      *Server
	url      string
	k1, k2   string
	backend  *stateful
	sessions *session.Store
}

func newSessionRig(t *testing.T, l session.Limits) *sessionRig {
	t.Helper()
	return newSessionRigAt(t, l, nil)
}

func newSessionRigAt(t *testing.T, l session.Limits, now func() time.Time) *sessionRig {
	t.Helper()
	keys, err := auth.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k1, _, err := keys.Create("one")
	if err != nil {
		t.Fatal(err)
	}
	k2, _, err := keys.Create("two")
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.New(l, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := config.Config{StateDir: t.TempDir()}
	cfg.Defaults()
	be := &stateful{}
	srv := New(Options{Config: cfg, Keys: keys, Sessions: store, Backends: &Backends{
		Providers: map[string]provider.Provider{"fake": be},
		Table:     route.New([]route.Backend{{Name: "fake", Models: []string{"m"}}}, nil),
	}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &sessionRig{srv: srv, url: hs.URL, k1: k1, k2: k2, backend: be, sessions: store}
}

type answer struct {
	code int
	ct   string
	body string
}

func (r *sessionRig) post(t *testing.T, path, key string, body []byte, header map[string]string) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", r.url+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

// chat sends one user turn in session id (the body's session_id).
func (r *sessionRig) chat(t *testing.T, key, id, text string) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": "m", "session_id": id, "messages": []any{map[string]string{"role": "user", "content": text}}})
	return r.post(t, "/v1/chat/completions", key, body, nil)
}

func (r *sessionRig) end(t *testing.T, key, id string) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"session_id": id})
	return r.post(t, "/v1/session/end", key, body, nil)
}

func mustOK(t *testing.T, a answer, what string) {
	t.Helper()
	if a.code != 200 {
		t.Fatalf("%s: %d %s", what, a.code, a.body)
	}
}

// TestSessionsBelongToTheirKey: key 2 naming key 1's session gets a
// session of its own: it neither reads key 1's conversation nor adds to it,
// and the backend knows the two by different names, neither the client's.
func TestSessionsBelongToTheirKey(t *testing.T) {
	r := newSessionRig(t, session.Limits{})
	mustOK(t, r.chat(t, r.k1, "work", "k1 secret alpha"), "k1 turn 1")
	k1Name := r.backend.last(t).session

	mustOK(t, r.chat(t, r.k2, "work", "k2 beta"), "k2 turn 1")
	c := r.backend.last(t)
	if strings.Contains(c.text, "alpha") {
		t.Fatalf("key 2 received key 1's conversation: %q", c.text)
	}
	k2Name := c.session

	mustOK(t, r.chat(t, r.k1, "work", "k1 gamma"), "k1 turn 2")
	c = r.backend.last(t)
	if !strings.Contains(c.text, "k1 secret alpha|reply|k1 gamma") || strings.Contains(c.text, "beta") {
		t.Fatalf("key 1's history: %q", c.text)
	}
	if c.session != k1Name {
		t.Fatalf("key 1's session changed name between turns: %s then %s", k1Name, c.session)
	}
	hexName := regexp.MustCompile(`^[0-9a-f]{32}$`)
	if k1Name == k2Name || !hexName.MatchString(k1Name) || !hexName.MatchString(k2Name) {
		t.Fatalf("backend session names: key 1 %q, key 2 %q; want two different scoped names", k1Name, k2Name)
	}

	// A stateless request carries no session name.
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`)
	mustOK(t, r.post(t, "/v1/chat/completions", r.k2, body, nil), "stateless")
	if s := r.backend.last(t).session; s != "" {
		t.Fatalf("stateless request got session %q", s)
	}
	// The header names the same session as the body.
	mustOK(t, r.post(t, "/v1/chat/completions", r.k2, body, map[string]string{"X-Relay-Session": "work"}), "header")
	if c := r.backend.last(t); c.session != k2Name || !strings.Contains(c.text, "k2 beta") {
		t.Fatalf("header session: %+v", c)
	}
}

// TestEndOfAnotherKeysSessionIsANeverExistingOne: ending key 1's session
// with key 2 answers byte for byte as ending an id nobody used, and
// leaves key 1's session and its backend state alone.
func TestEndOfAnotherKeysSessionIsANeverExistingOne(t *testing.T) {
	r := newSessionRig(t, session.Limits{})
	mustOK(t, r.chat(t, r.k1, "mine", "k1 secret alpha"), "k1 turn")
	k1Name := r.backend.last(t).session

	other := r.end(t, r.k2, "mine")
	never := r.end(t, r.k2, "never-existed")
	neverK1 := r.end(t, r.k1, "never-existed")
	if other.code != 404 || other != never || other != neverK1 {
		t.Fatalf("end of another key's session: %+v\nend of a never-existing one: %+v\n(key 1: %+v)", other, never, neverK1)
	}
	r.backend.mu.Lock()
	ended := len(r.backend.ended)
	r.backend.mu.Unlock()
	if ended != 0 {
		t.Fatal("a refused end reached the backend")
	}
	mustOK(t, r.chat(t, r.k1, "mine", "k1 again"), "k1 turn 2")
	if c := r.backend.last(t); !strings.Contains(c.text, "alpha") {
		t.Fatalf("key 1's session lost its history to key 2's end: %q", c.text)
	}

	// Key 1 ends its own: the backend is told the scoped name.
	a := r.end(t, r.k1, "mine")
	if a.code != 200 || !strings.Contains(a.body, `"messages":4`) {
		t.Fatalf("owner's end: %+v", a)
	}
	r.backend.mu.Lock()
	got := append([]string(nil), r.backend.ended...)
	r.backend.mu.Unlock()
	if len(got) != 1 || got[0] != k1Name {
		t.Fatalf("backend told to end %q, want [%s]", got, k1Name)
	}
}

// TestOneKeyCannotFillTheStore: key 1 at its share gets a 429 that says it
// is that key's limit; key 2 still opens sessions.
func TestOneKeyCannotFillTheStore(t *testing.T) {
	r := newSessionRig(t, session.Limits{MaxSessions: 8}) // a share of 2
	mustOK(t, r.chat(t, r.k1, "a", "1"), "k1 a")
	mustOK(t, r.chat(t, r.k1, "b", "2"), "k1 b")
	a := r.chat(t, r.k1, "c", "3")
	if a.code != 429 || !strings.Contains(a.body, "this API key") || !strings.Contains(a.body, "max_sessions_per_key") {
		t.Fatalf("key 1 past its share: %+v", a)
	}
	mustOK(t, r.chat(t, r.k2, "a", "4"), "k2 a")
	mustOK(t, r.chat(t, r.k2, "c", "5"), "k2 c")
	mustOK(t, r.chat(t, r.k1, "a", "6"), "k1's open sessions still work")
}

// TestSessionIDRule: the id is held to exactly the rule the error states,
// in the body, the header and /v1/session/end; a refused id reaches no
// backend and makes no session.
func TestSessionIDRule(t *testing.T) {
	r := newSessionRig(t, session.Limits{})
	bad := []string{
		"nul\x00inside", "new\nline", "cr\rhere", "tab\tbed", "with space", " lead",
		strings.Repeat("x", 129), strings.Repeat("x", 512), strings.Repeat("x", 4096),
		"café", "\u200b", "\x7f",
	}
	for _, id := range bad {
		a := r.chat(t, r.k1, id, "hello")
		if a.code != 400 || !strings.Contains(a.body, "1-128 characters, each a printable ASCII character other than space") {
			t.Fatalf("session_id %q: %+v", id, a)
		}
		if a := r.end(t, r.k1, id); a.code != 400 {
			t.Fatalf("end %q: %+v", id, a)
		}
	}
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`)
	for _, id := range []string{strings.Repeat("h", 129), "caf\xc3\xa9", "\xff"} {
		if a := r.post(t, "/v1/chat/completions", r.k1, body, map[string]string{"X-Relay-Session": id}); a.code != 400 {
			t.Fatalf("header %q: %+v", id, a)
		}
		if a := r.post(t, "/v1/session/end", r.k1, nil, map[string]string{"X-Relay-Session": id}); a.code != 400 {
			t.Fatalf("end header %q: %+v", id, a)
		}
	}
	if n := r.backend.count(); n != 0 {
		t.Fatalf("%d refused requests reached the backend", n)
	}
	if st := r.sessions.Stats(); st.Active != 0 {
		t.Fatalf("refused ids made %d sessions", st.Active)
	}
	for _, id := range []string{"x", strings.Repeat("y", 128), "user@host:conv/1_a.b-c", "~!#$%^&*()[]{}<>?=+"} {
		mustOK(t, r.chat(t, r.k1, id, "hello"), "valid id "+id)
	}
}

// TestReapEndsBackendState: an idle-reaped session is dropped by the
// backends too, by its scoped name, so its conversation does not live on
// in the engine's KV cache.
func TestReapEndsBackendState(t *testing.T) {
	var mu sync.Mutex
	clock := time.Unix(1_000_000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	r := newSessionRigAt(t, session.Limits{IdleTimeout: time.Minute}, now)
	mustOK(t, r.chat(t, r.k1, "idle", "x"), "k1 idle")
	name1 := r.backend.last(t).session
	mustOK(t, r.chat(t, r.k2, "idle", "y"), "k2 idle")
	name2 := r.backend.last(t).session
	if n := r.srv.ReapSessions(); n != 0 {
		t.Fatalf("reaped %d fresh sessions", n)
	}
	mu.Lock()
	clock = clock.Add(2 * time.Minute)
	mu.Unlock()
	if n := r.srv.ReapSessions(); n != 2 {
		t.Fatalf("reaped %d sessions, want 2", n)
	}
	r.backend.mu.Lock()
	got := strings.Join(r.backend.ended, ",")
	r.backend.mu.Unlock()
	if got != name1+","+name2 && got != name2+","+name1 {
		t.Fatalf("backend ended %q, want %s and %s", got, name1, name2)
	}
}
