package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/route"
	"github.com/inference-relay/relay/internal/session"
)

// scripted is a backend whose stream plays a fixed list of steps: a text
// delta, or an error.
type scripted struct {
	mu         sync.Mutex
	steps      []step
	started    int
	counts     int  // CountTokens calls
	panicCount bool // CountTokens panics
}

type step struct {
	text string
	err  error
	wipe *session.Store // wipe every session in it, then end the stream
}

func (p *scripted) Stream(context.Context, logic.Target, logic.Params, *content.Request) (provider.Stream, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started++
	return &scriptStream{steps: append([]step(nil), p.steps...)}, nil
}

func (p *scripted) CountTokens(context.Context, logic.Target, logic.Params, *content.Request) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts++
	if p.panicCount {
		panic("adapter bug")
	}
	return 42, nil
}

type scriptStream struct{ steps []step }

func (s *scriptStream) Recv() (content.Delta, error) {
	if len(s.steps) == 0 {
		return content.Delta{}, io.EOF
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	if st.wipe != nil {
		st.wipe.WipeAll(session.ReasonLockdown)
		return content.Delta{}, io.EOF
	}
	if st.err != nil {
		return content.Delta{}, st.err
	}
	return content.Delta{Kind: content.DeltaText, Text: content.FromString(st.text)}, nil
}
func (s *scriptStream) Status() logic.Status { return logic.Status{Stop: logic.StopEnd} }
func (s *scriptStream) Close() error         { return nil }

// events records what the server hands its recorders.
type events struct {
	mu  sync.Mutex
	evs []audit.Event
}

func (e *events) Record(ev audit.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) all() []audit.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]audit.Event(nil), e.evs...)
}

// atLeast waits until n events are recorded (the server records after the
// reply is sent, so a client can see its answer first) and returns them.
// The minute is a hang guard, not a timing.
func (e *events) atLeast(t *testing.T, n int) []audit.Event {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if evs := e.all(); len(evs) >= n || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type rig struct {
	url     string
	key     string
	backend *scripted
	events  *events
}

func newRig(t *testing.T, steps []step, edit func(*config.Config), store *session.Store) *rig {
	t.Helper()
	keys, err := auth.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := keys.Create("test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{StateDir: t.TempDir()}
	cfg.Defaults()
	if edit != nil {
		edit(&cfg)
	}
	be := &scripted{steps: steps}
	ev := &events{}
	srv := New(Options{Config: cfg, Keys: keys, Sessions: store, Recorders: []Recorder{ev}, Backends: &Backends{
		Providers: map[string]provider.Provider{"fake": be},
		Table:     route.New([]route.Backend{{Name: "fake", Models: []string{"m"}}}, nil),
	}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &rig{url: hs.URL, key: key, backend: be, events: ev}
}

func (r *rig) do(t *testing.T, method, path string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, r.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
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

const chatBody = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
const chatStreamBody = `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
const messagesBody = `{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`

// The guards run in a fixed order — Host, then Origin, then the key — so a
// request that fails several is refused by the first, and nothing past a
// refusal runs.
func TestGuardOrder(t *testing.T) {
	r := newRig(t, []step{{text: "ok"}}, nil, nil)
	auth := map[string]string{"Authorization": "Bearer " + "wrong"}
	for _, tc := range []struct {
		name   string
		header map[string]string
		code   int
		says   string
	}{
		{"bad host, bad origin, no key", map[string]string{"Host": "rebind.example", "Origin": "https://evil.example"}, 403, "host not allowed"},
		{"bad host, wrong key", map[string]string{"Host": "rebind.example", "Authorization": auth["Authorization"]}, 403, "host not allowed"},
		{"good host, bad origin, no key", map[string]string{"Origin": "https://evil.example"}, 403, "cross-origin"},
		{"good host, cross-site fetch, no key", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
		{"good host, no origin, wrong key", auth, 401, "missing or invalid API key"},
		{"good host, no origin, no key", nil, 401, "missing or invalid API key"},
	} {
		a := r.do(t, "POST", "/v1/chat/completions", []byte(chatBody), tc.header)
		if a.code != tc.code || !strings.Contains(a.body, tc.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.name, a.code, a.body, tc.code, tc.says)
		}
	}
	if r.backend.started != 0 {
		t.Errorf("the backend was called %d times by refused requests", r.backend.started)
	}
	// Passing every guard reaches the backend.
	if a := r.do(t, "POST", "/v1/chat/completions", []byte(chatBody), map[string]string{"Authorization": "Bearer " + r.key}); a.code != 200 {
		t.Fatalf("keyed request: %d %s", a.code, a.body)
	}
	// Refusals are counted, not recorded one by one: the one audit event is
	// the request that got through.
	if evs := r.events.atLeast(t, 1); len(evs) != 1 || evs[0].Status != audit.Status2xx {
		t.Errorf("audit events %+v, want exactly one, for the keyed request", evs)
	}
}

// Each refusal is in the API's own error shape, chosen by the route.
func TestRefusalsInTheRoutesShape(t *testing.T) {
	r := newRig(t, nil, nil, nil)
	a := r.do(t, "POST", "/v1/messages", []byte(messagesBody), nil)
	if a.code != 401 || !strings.Contains(a.body, `"type":"error"`) || !strings.Contains(a.body, `"authentication_error"`) {
		t.Errorf("Messages route: %d %s, want Anthropic's error shape", a.code, a.body)
	}
	a = r.do(t, "POST", "/v1/chat/completions", []byte(chatBody), nil)
	var oe struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if a.code != 401 || json.Unmarshal([]byte(a.body), &oe) != nil || oe.Error.Message == "" {
		t.Errorf("Chat Completions route: %d %s, want OpenAI's error shape", a.code, a.body)
	}
}

// readBody's limit: one byte over max_body_bytes is a 413 in the route's
// shape, and the backend never sees it; exactly the limit is read.
func TestBodyLimit(t *testing.T) {
	const limit = 4096
	r := newRig(t, []step{{text: "ok"}}, func(c *config.Config) { c.MaxBodyBytes = limit }, nil)
	key := map[string]string{"Authorization": "Bearer " + r.key}
	pad := func(n int) []byte {
		// A valid body of exactly n bytes: the padding is white space.
		b := []byte(chatBody)
		return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
	}
	if a := r.do(t, "POST", "/v1/chat/completions", pad(limit), key); a.code != 200 {
		t.Errorf("a body of exactly the limit: %d %s", a.code, a.body)
	}
	a := r.do(t, "POST", "/v1/chat/completions", pad(limit+1), key)
	if a.code != 413 || !strings.Contains(a.body, `"error"`) {
		t.Errorf("one byte over the limit: %d %s, want 413", a.code, a.body)
	}
	a = r.do(t, "POST", "/v1/messages", append([]byte(messagesBody), bytes.Repeat([]byte(" "), limit)...), key)
	if a.code != 413 || !strings.Contains(a.body, `"type":"error"`) {
		t.Errorf("Messages over the limit: %d %s, want 413 in Anthropic's shape", a.code, a.body)
	}
	if r.backend.started != 1 {
		t.Errorf("backend started %d times, want once (only the request within the limit)", r.backend.started)
	}
}

// A stream that fails before its first delta still gets a proper error
// status: the server does not commit to 200 until it has something to send.
func TestNoOKBeforeTheFirstDelta(t *testing.T) {
	fail := provider.Errorf(logic.ErrOverloaded, "the backend is overloaded")
	r := newRig(t, []step{{err: fail}}, nil, nil)
	key := map[string]string{"Authorization": "Bearer " + r.key}
	for _, body := range []string{chatBody, chatStreamBody} {
		a := r.do(t, "POST", "/v1/chat/completions", []byte(body), key)
		if a.code != fail.HTTPStatus() || strings.Contains(a.ct, "event-stream") {
			t.Errorf("%s: %d %q %s, want %d and a JSON error", body, a.code, a.ct, a.body, fail.HTTPStatus())
		}
	}
	// A failure after the first delta arrives in the stream, after a 200.
	r = newRig(t, []step{{text: "partial"}, {err: fail}}, nil, nil)
	a := r.do(t, "POST", "/v1/chat/completions", []byte(chatStreamBody), map[string]string{"Authorization": "Bearer " + r.key})
	if a.code != 200 || !strings.Contains(a.body, "partial") || !strings.Contains(a.body, `"error"`) {
		t.Errorf("failure mid-stream: %d %s, want 200 with the delta and then an error event", a.code, a.body)
	}
}

// When a streamed reply cannot be stored in its session (the session was
// ended while the request ran), the stream ends in an error event instead
// of a normal finish, so the client knows the turn was not kept.
func TestCommitFailureMidStream(t *testing.T) {
	store, err := session.New(session.Limits{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	r := newRig(t, nil, nil, store)
	// The backend wipes every session between its delta and its end: the
	// commit that follows finds the session gone.
	r.backend.steps = []step{{text: "kept?"}, {wipe: store}}
	body := `{"model":"m","stream":true,"session_id":"s1","messages":[{"role":"user","content":"hi"}]}`
	a := r.do(t, "POST", "/v1/chat/completions", []byte(body), map[string]string{"Authorization": "Bearer " + r.key})
	if a.code != 200 || !strings.Contains(a.body, "kept?") {
		t.Fatalf("%d %s", a.code, a.body)
	}
	if strings.Contains(a.body, `"finish_reason":"stop"`) {
		t.Errorf("the stream finished normally although its turn was not stored: %s", a.body)
	}
	if !strings.Contains(a.body, "ended while the request ran") {
		t.Errorf("the error event does not say the session was ended: %s", a.body)
	}
}

// count_tokens: exact from a backend that counts, in Anthropic's shape;
// refused methods and bodies in that shape too.
func TestCountTokens(t *testing.T) {
	r := newRig(t, nil, nil, nil)
	key := map[string]string{"Authorization": "Bearer " + r.key}
	a := r.do(t, "POST", "/v1/messages/count_tokens", []byte(`{"model":"m","messages":[{"role":"user","content":"hi there"}]}`), key)
	if a.code != 200 || a.body != `{"input_tokens":42}` {
		t.Errorf("count_tokens: %d %s, want 200 {\"input_tokens\":42}", a.code, a.body)
	}
	if r.backend.counts != 1 {
		t.Errorf("backend counted %d times, want 1", r.backend.counts)
	}
	req, _ := http.NewRequest("POST", r.url+"/v1/messages/count_tokens", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.Header.Get(CountHeader) != "exact" {
		t.Errorf("a counting backend's answer: %v %v, want %s: exact", err, resp.Header, CountHeader)
	} else {
		resp.Body.Close()
	}
	a = r.do(t, "POST", "/v1/messages/count_tokens", []byte(`{"model":"m","messages":[`), key)
	if a.code != 400 || !strings.Contains(a.body, `"invalid_request_error"`) {
		t.Errorf("malformed count_tokens: %d %s", a.code, a.body)
	}
	a = r.do(t, "GET", "/v1/messages/count_tokens", nil, key)
	if a.code != 405 || !strings.Contains(a.body, `"type":"error"`) {
		t.Errorf("GET count_tokens: %d %s", a.code, a.body)
	}
	// A model no backend serves is estimated, not refused, and says so.
	req, _ = http.NewRequest("POST", r.url+"/v1/messages/count_tokens", strings.NewReader(`{"model":"unknown","messages":[{"role":"user","content":"hi there"}]}`))
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"input_tokens":`) || resp.Header.Get(CountHeader) != "estimate" {
		t.Errorf("count_tokens for an unrouted model: %d %s %v", resp.StatusCode, body, resp.Header)
	}
}

// The route table is the one list of routes: the mux, the log's templates,
// the 404 text and the error shapes all come from it.
func TestRouteTable(t *testing.T) {
	r := newRig(t, []step{{text: "ok"}}, nil, nil)
	srv := New(Options{Config: func() config.Config { c := config.Config{StateDir: t.TempDir()}; c.Defaults(); return c }(), Metrics: http.NotFoundHandler()})
	for _, rt := range srv.routes {
		if got := srv.template(rt.path); got != rt.path {
			t.Errorf("template(%q) = %q", rt.path, got)
		}
		if rt.listed && !strings.Contains(srv.notFoundMsg, rt.path) {
			t.Errorf("the 404 text does not name %s: %s", rt.path, srv.notFoundMsg)
		}
	}
	for _, p := range []string{"/v1/chat/completions/x", "/secret/path", "/v1/model"} {
		if got := srv.template(p); got != "other" {
			t.Errorf("template(%q) = %q, want other", p, got)
		}
	}
	key := map[string]string{"Authorization": "Bearer " + r.key}
	// Under the Messages route, Anthropic's shape; elsewhere OpenAI's
	// unless the client says it speaks Anthropic's.
	if a := r.do(t, "GET", "/v1/messages/batches", nil, key); a.code != 404 || !strings.Contains(a.body, `"type":"not_found_error"`) {
		t.Errorf("/v1/messages/batches: %d %s", a.code, a.body)
	}
	if a := r.do(t, "GET", "/nowhere", nil, key); a.code != 404 || strings.Contains(a.body, `"type":"error"`) || !strings.Contains(a.body, "/v1/chat/completions") {
		t.Errorf("/nowhere: %d %s", a.code, a.body)
	}
	anth := map[string]string{"Authorization": "Bearer " + r.key, "Anthropic-Version": "2023-06-01"}
	if a := r.do(t, "GET", "/nowhere", nil, anth); a.code != 404 || !strings.Contains(a.body, `"type":"error"`) {
		t.Errorf("/nowhere with anthropic-version: %d %s", a.code, a.body)
	}
	for path, allow := range map[string]string{"/v1/chat/completions": "POST", "/v1/models": "GET", "/v1/session/end": "POST", "/audit": "GET"} {
		method := "DELETE"
		req, _ := http.NewRequest(method, r.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+r.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q", method, path, resp.StatusCode, resp.Header.Get("Allow"), allow)
		}
	}
	// A refused method on an inference route is audited like the request.
	// (The DELETE on the chat route above was one such event.)
	before := len(r.events.atLeast(t, 1))
	r.do(t, "GET", "/v1/chat/completions", nil, key)
	if evs := r.events.atLeast(t, before+1); len(evs) != before+1 || evs[len(evs)-1].Status != audit.Status4xx {
		t.Errorf("a 405 on an inference route left %d new events, want one 4xx", len(evs)-before)
	}
}

// count_tokens takes the same path as every request: audited, and a panic
// in the backend's adapter is an upstream error, not a crash.
func TestCountTokensAuditedAndPanicSafe(t *testing.T) {
	r := newRig(t, nil, nil, nil)
	key := map[string]string{"Authorization": "Bearer " + r.key}
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi there"}]}`)
	if a := r.do(t, "POST", "/v1/messages/count_tokens", body, key); a.code != 200 {
		t.Fatalf("count_tokens: %d %s", a.code, a.body)
	}
	r.backend.panicCount = true
	a := r.do(t, "POST", "/v1/messages/count_tokens", body, key)
	if a.code != logic.ErrUpstream.HTTPStatus() || !strings.Contains(a.body, `"type":"error"`) {
		t.Errorf("a panicking counter: %d %s, want %d in Anthropic's shape", a.code, a.body, logic.ErrUpstream.HTTPStatus())
	}
	evs := r.events.atLeast(t, 2)
	if len(evs) != 2 || evs[0].Status != audit.Status2xx || evs[1].Error != logic.ErrUpstream {
		t.Errorf("audit events %+v, want a 2xx and an upstream failure", evs)
	}
}
