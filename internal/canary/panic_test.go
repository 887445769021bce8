package canary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/audit/chain"
	"github.com/inference-relay/relay/internal/audit/metrics"
	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logging"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/route"
	"github.com/inference-relay/relay/internal/server"
	"github.com/inference-relay/relay/internal/session"
)

// userText is the text of the request's last user message, copied out of
// the content type the way a careless adapter would.
func userText(r *content.Request) string {
	var b strings.Builder
	for _, m := range r.Messages {
		if m.Role != content.RoleUser {
			continue
		}
		b.Reset()
		for _, p := range m.Parts {
			b.Write(p.Text.Bytes())
		}
	}
	return b.String()
}

// panicInStream is an adapter that panics as it starts, with the user's
// text in the panic value.
type panicInStream struct{}

func (panicInStream) Stream(_ context.Context, _ logic.Target, _ logic.Params, r *content.Request) (provider.Stream, error) {
	//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
	panic("adapter bug while encoding: " + userText(r))
}

// panicInRecv is an adapter whose stream sends one delta carrying the
// user's text and then panics with an error that holds it.
type panicInRecv struct{ model string }

func (p panicInRecv) Stream(_ context.Context, _ logic.Target, _ logic.Params, r *content.Request) (provider.Stream, error) {
	return &panickingStream{text: userText(r), model: p.model}, nil
}

type panickingStream struct {
	text  string
	model string
	sent  bool
}

func (s *panickingStream) Recv() (content.Delta, error) {
	if !s.sent {
		s.sent = true
		return content.Delta{Kind: content.DeltaText, Text: content.FromString("partial " + s.text)}, nil
	}
	panic(fmt.Errorf("adapter bug mid-stream after %q", s.text))
}

// Status reports a model name chosen by the "upstream": content too.
func (s *panickingStream) Status() logic.Status {
	return logic.Status{Model: s.model, Usage: logic.Usage{Input: 3, Output: 1}}
}

func (s *panickingStream) Close() error { return nil }

// chainRecorder appends to the audit chain, as the relay's own does.
type chainRecorder struct {
	t *testing.T
	l *chain.Log
}

func (c chainRecorder) Record(ev audit.Event) {
	if err := c.l.Append(ev); err != nil {
		c.t.Errorf("audit append: %v", err)
	}
}

// TestPanickingProviderWritesNoCanary builds the relay's server in-process
// around adapters that panic (the one failure that cannot be provoked in
// the child) and checks that the client gets a 502 in its API shape and
// that the log, the audit file and /metrics hold no canary — not even the
// panic values, which carry the content.
func TestPanickingProviderWritesNoCanary(t *testing.T) {
	dir := t.TempDir()
	var reg registry
	var logBuf syncBuffer
	logger := logging.New(&logBuf, slog.LevelDebug)

	keys, err := auth.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := keys.Create("canary-suite")
	if err != nil {
		t.Fatal(err)
	}
	keyer, err := audit.OpenKeyer(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(dir, "audit.jsonl")
	auditLog, err := chain.Open(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			auditLog.Close()
		}
	})
	m := metrics.New()
	cfg := config.Config{StateDir: dir, Listen: []string{"127.0.0.1:0"}}
	cfg.Defaults()
	b := &server.Backends{
		Providers: map[string]provider.Provider{
			"boom":    panicInStream{},
			"midboom": panicInRecv{model: reg.Token("panic/recv", "model name the upstream reports")},
		},
		Table: route.New([]route.Backend{
			{Name: "boom", Models: []string{"boom-model"}},
			{Name: "midboom", Models: []string{"midboom-model"}},
		}, nil),
		Infos: []server.BackendInfo{
			{Name: "boom", Kind: config.KindOpenAICompatible, BaseURL: "http://127.0.0.1:1/v1", Models: []string{"boom-model"}},
			{Name: "midboom", Kind: config.KindOpenAICompatible, BaseURL: "http://127.0.0.1:1/v1", Models: []string{"midboom-model"}},
		},
		Started: time.Now().UTC(),
	}
	idents := &audit.Registry{}
	if err := idents.Add(b.Names(cfg)...); err != nil {
		t.Fatal(err)
	}
	sessions, err := session.New(session.Limits{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sessions.Close() })
	srv := server.New(server.Options{
		Config: cfg, Keys: keys, Backends: b, Logger: logger, Sessions: sessions,
		Idents: idents, Keyer: keyer,
		Recorders: []server.Recorder{chainRecorder{t, auditLog}, m},
		Metrics:   m.Handler(),
		Controls: []server.Control{server.ControlFunc{Key: "audit_chain", Fn: func() any {
			seq, head := auditLog.Head()
			return map[string]any{"file": auditPath, "records": seq, "head": head}
		}}},
	})
	hs := httptest.NewUnstartedServer(srv.Handler())
	// net/http's own complaints (a panic that escapes a handler, above
	// all) go to the same logger, as in relay.Serve.
	hs.Config.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	hs.Start()
	t.Cleanup(hs.Close)
	hc := &http.Client{Timeout: 20 * time.Second}

	sent := 0
	for _, front := range fronts {
		for _, stream := range []bool{false, true} {
			// A panic in Stream: 502 in the client's API shape, streamed
			// or not (nothing was sent yet, so the status line says it).
			path := "panic/stream/" + front + "/" + mode(stream)
			user := reg.Text(path, "user message text")
			c := chatTurns{model: "boom-model", system: reg.Text(path, "system prompt"), turns: []turn{{role: "user", text: user}}}
			sent++
			err := withTimeout(5*time.Second, func(ctx context.Context) error {
				_, err := send(ctx, hc, hs.URL, key, front, stream, c, map[string]string{"X-Relay-Session": reg.Token(path, "X-Relay-Session header")}, nil, nil)
				return err
			})
			if got := apiStatus(err); got != http.StatusBadGateway {
				t.Errorf("%s: status %d (%v), want 502", path, got, err)
			} else if told, err := apiErrorText(front, err); err != nil {
				t.Errorf("%s: %v", path, err)
			} else if strings.Contains(told, tokenHead(user)) {
				t.Errorf("%s: the error repeats the panic value: %q", path, told)
			}

			// A panic in Recv after a first delta.
			path = "panic/recv/" + front + "/" + mode(stream)
			c = chatTurns{model: "midboom-model", system: reg.Text(path, "system prompt"), turns: []turn{{role: "user", text: reg.Text(path, "user message text")}}}
			sent++
			err = withTimeout(5*time.Second, func(ctx context.Context) error {
				_, err := send(ctx, hc, hs.URL, key, front, stream, c, nil, nil, nil)
				return err
			})
			switch {
			case err == nil, errors.Is(err, context.DeadlineExceeded):
				t.Errorf("%s: err %v, want the failure reported", path, err)
			case !stream && apiStatus(err) != http.StatusBadGateway:
				// Not streamed, the reply is assembled first: still a 502.
				t.Errorf("%s: status %d (%v), want 502", path, apiStatus(err), err)
			}
		}
	}

	bodies := map[string][]byte{}
	for _, p := range []string{"/metrics", "/audit"} {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", p, resp.StatusCode, err)
		}
		bodies[p] = body
	}
	hs.Close() // waits for the handlers: every record is written
	closed = true
	if err := auditLog.Close(); err != nil {
		t.Fatal(err)
	}
	auditFile, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	srcs := []source{
		{Name: "log", Data: logBuf.Bytes()},
		{Name: "GET /metrics", Data: bodies["/metrics"]},
		{Name: "GET /audit", Data: bodies["/audit"]},
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			srcs = append(srcs, source{Name: "state/" + e.Name(), Data: b})
		}
	}
	assertNoCanary(t, srcs, reg.All())

	if n := strings.Count(string(auditFile), "\n"); n < sent {
		t.Errorf("the audit file holds %d records for %d requests", n, sent)
	}
	if n := strings.Count(string(logBuf.Bytes()), `"request_id"`); n < sent {
		t.Errorf("the log holds %d request records for %d requests", n, sent)
	}
	if !strings.Contains(string(bodies["/metrics"]), "relay_requests_total{") {
		t.Errorf("/metrics counted no request:\n%.500s", bodies["/metrics"])
	}
}

// apiErrorText checks that err is an API error in the shape of front's
// API and returns what it told the client.
func apiErrorText(front string, err error) (string, error) {
	if front == frontOpenAI {
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.Message == "" || oe.Type == "" {
			return "", fmt.Errorf("not an OpenAI error: %v", err)
		}
		return oe.Message, nil
	}
	var ae *anthropic.Error
	if !errors.As(err, &ae) {
		return "", fmt.Errorf("not an Anthropic error: %v", err)
	}
	body := ae.RawJSON()
	return body, errorShape("anthropic", []byte(body))
}
