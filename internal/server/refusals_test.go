package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/audit/chain"
	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/logging"
	"github.com/inference-relay/relay/internal/server"
)

type staticKey []byte

func (k staticKey) Bytes() []byte { return k }

// chainRec appends to the audit chain as relay.go's recorder does.
type chainRec struct{ l *chain.Log }

func (c chainRec) Record(ev audit.Event)           { _ = c.l.Append(ev) }
func (c chainRec) RecordRefusals(r audit.Refusals) { _ = c.l.Append(r) }

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// 10,000 refused requests add one summary record to the audit file and
// one log line per reason, not one each.
func TestRefusalsAddBoundedAuditBytes(t *testing.T) {
	dir := t.TempDir()
	keys, err := auth.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.jsonl")
	l, err := chain.OpenKeyed(path, chain.Options{Key: staticKey(bytes.Repeat([]byte{7}, 32)), HeadPath: filepath.Join(dir, "keys", "audit.head")})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuf
	cfg := config.Config{StateDir: dir}
	cfg.Defaults()
	srv := server.New(server.Options{Config: cfg, Keys: keys, Logger: logging.New(&logs, slog.LevelInfo), Recorders: []server.Recorder{chainRec{l}}})
	h := srv.Handler()
	for i := range 10000 {
		var req *http.Request
		switch i % 3 {
		case 0:
			req = httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader("{}"))
		case 1:
			req = httptest.NewRequest("POST", "/v1/messages", strings.NewReader("{}"))
			req.Header.Set("X-Api-Key", "relay-wrong")
		case 2:
			req = httptest.NewRequest("GET", "/v1/models", nil)
			req.Host = "rebind.example"
		}
		if i%3 != 2 {
			req.Host = "127.0.0.1"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 401 && rec.Code != 403 {
			t.Fatalf("request %d: status %d", i, rec.Code)
		}
	}
	sum := srv.FlushRefusals()
	if sum.Counts[audit.RefusedAuth] != 6667 || sum.Counts[audit.RefusedHost] != 3333 {
		t.Errorf("summary counts = %+v", sum.Counts)
	}
	if again := srv.FlushRefusals(); again.Total() != 0 {
		t.Errorf("a second flush counted %d", again.Total())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 1024 {
		t.Errorf("10,000 refusals wrote %d bytes to the audit file, want one summary record (< 1 KiB)", fi.Size())
	}
	b, _ := os.ReadFile(path)
	if n := bytes.Count(b, []byte("\n")); n != 1 || !bytes.Contains(b, []byte(`"kind":"refusals"`)) || !bytes.Contains(b, []byte(`"auth":6667`)) {
		t.Errorf("audit file: %s", b)
	}
	if n := strings.Count(logs.b.String(), "\n"); n > int(audit.NumRefusalReasons) {
		t.Errorf("%d log lines for 10,000 refusals, want at most one per reason:\n%s", n, logs.b.String())
	}
	if rep, err := chain.VerifySet(path, filepath.Join(dir, "keys", "audit.head"), staticKey(bytes.Repeat([]byte{7}, 32)), nil); err != nil || !rep.OK() {
		t.Errorf("chain with a summary record: %+v, %v", rep, err)
	}
}
