package canary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	santhropic "github.com/inference-relay/relay/internal/standin/anthropic"
	sopenai "github.com/inference-relay/relay/internal/standin/openai"
)

const (
	// upstreamKeyEnv names the variable the child reads the Anthropic
	// stand-in's key from.
	upstreamKeyEnv = "CANARY_UPSTREAM_KEY"
	// tokenDelay slows the stand-ins' streams so a client can cancel, or
	// the relay be signalled, while one is in flight.
	tokenDelay = 15 * time.Millisecond
	// maxBody is the relay's body limit in this suite.
	maxBody = 4096
)

// syncBuffer is a bytes.Buffer safe for the child's output goroutine and
// the test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// relayProc is a relay child process in front of both stand-ins.
type relayProc struct {
	URL       string // the relay's base URL
	Key       string // a valid relay API key
	StateDir  string
	OpenAI    *sopenai.Server
	Anthropic *santhropic.Server
	HTTP      *http.Client

	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	keysOut        []byte // what `relay keys create` printed, both streams
	exited         chan struct{}
	exitErr        error

	// audited counts the requests the relay must record in its audit
	// trail: every request that reached an inference route or was refused
	// by a guard.
	audited atomic.Int64

	mu     sync.Mutex
	bodies []source // /metrics and /audit bodies
}

// startRelay starts the stand-ins on loopback listeners, writes a config,
// creates an API key with `relay keys create`, and starts `relay serve`.
// The child is killed when the test ends, whatever happened.
func startRelay(t *testing.T) *relayProc {
	t.Helper()
	const upstreamKey = "canary-upstream-key"
	oa := sopenai.New(sopenai.Options{TokenDelay: tokenDelay})
	an := santhropic.New(santhropic.Options{APIKey: upstreamKey, TokenDelay: tokenDelay})
	oaSrv := httptest.NewServer(oa)
	anSrv := httptest.NewServer(an)
	t.Cleanup(oaSrv.Close)
	t.Cleanup(anSrv.Close)

	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	cfgPath := filepath.Join(dir, "relay.toml")
	cfg := fmt.Sprintf(`autodetect = false
max_body_bytes = %d

[[backend]]
name = "local"
kind = "openai-compatible"
base_url = %q

[[backend]]
name = "anthropic"
kind = "anthropic"
base_url = %q
api_key_env = %q
models = ["claude-standin"]
`, maxBody, oaSrv.URL+"/v1", anSrv.URL, upstreamKeyEnv)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// A bare environment: nothing of the test runner's (RELAY_CONFIG,
	// provider keys) reaches the child.
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "xdg"), upstreamKeyEnv + "=" + upstreamKey}

	h := launchRelay(t, cfgPath, state, env, "canary-suite")
	h.OpenAI, h.Anthropic = oa, an
	return h
}

// launchRelay creates an API key with `relay keys create` and starts `relay
// serve` on the given config as a child with env, stdout and stderr
// captured, killed at the end of the test; it returns once the relay
// answers.
func launchRelay(t *testing.T, cfgPath, state string, env []string, keyName string) *relayProc {
	t.Helper()
	var keyOut, keyErr bytes.Buffer
	kc := exec.Command(relayBin, "keys", "--config", cfgPath, "--state-dir", state, "--name", keyName, "create")
	kc.Env, kc.Stdout, kc.Stderr = env, &keyOut, &keyErr
	if err := kc.Run(); err != nil {
		t.Fatalf("relay keys create: %v\n%s", err, keyErr.Bytes())
	}
	key := strings.TrimSpace(keyOut.String())
	if !strings.HasPrefix(key, "relay-") {
		t.Fatalf("relay keys create printed %q, not a key", key)
	}

	h := &relayProc{
		Key: key, StateDir: state,
		HTTP:    &http.Client{Timeout: 20 * time.Second},
		stdout:  &syncBuffer{},
		stderr:  &syncBuffer{},
		keysOut: append(keyOut.Bytes(), keyErr.Bytes()...),
		exited:  make(chan struct{}),
	}
	// Port 0: the kernel picks a free port and the relay announces it.
	h.cmd = exec.Command(relayBin, "serve", "--config", cfgPath, "--state-dir", state, "--listen", "127.0.0.1:0", "--no-detect")
	h.cmd.Env, h.cmd.Stdout, h.cmd.Stderr = env, h.stdout, h.stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		h.exitErr = h.cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-h.exited:
			return
		default:
		}
		_ = h.cmd.Process.Kill()
		select {
		case <-h.exited:
		case <-time.After(10 * time.Second):
			t.Error("the relay did not die after SIGKILL")
		}
	})
	h.URL = h.waitServing(t)
	return h
}

var servingLine = regexp.MustCompile(`serving: (http://127\.0\.0\.1:[0-9]+)`)

// waitServing waits for the relay to announce its address and answer
// /healthz.
func (h *relayProc) waitServing(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var base string
	for base == "" {
		if m := servingLine.FindSubmatch(h.stderr.Bytes()); m != nil {
			base = string(m[1])
			break
		}
		select {
		case <-h.exited:
			t.Fatalf("the relay exited before serving (%v):\n%s", h.exitErr, h.stderr.Bytes())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay did not announce its address in time:\n%s", h.stderr.Bytes())
		}
	}
	for {
		resp, err := h.HTTP.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered 200 (last error %v):\n%s", err, h.stderr.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectAudit notes n requests the relay must record.
func (h *relayProc) expectAudit(n int) { h.audited.Add(int64(n)) }

// newRequest builds a raw request to the relay with the API key and a
// JSON content type.
func (h *relayProc) newRequest(ctx context.Context, method, path string, body io.Reader) *http.Request {
	req, err := http.NewRequestWithContext(ctx, method, h.URL+path, body)
	if err != nil {
		panic(err) // the suite's own method and path: a bug in the test
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.Key)
	return req
}

// do sends req and returns the status and body.
func (h *relayProc) do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := h.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	return resp.StatusCode, b
}

// fetchReports keeps the bodies of GET /metrics and GET /audit for the
// scan.
func (h *relayProc) fetchReports(t *testing.T) {
	t.Helper()
	for _, path := range []string{"/metrics", "/audit"} {
		code, body := h.do(t, h.newRequest(context.Background(), http.MethodGet, path, nil))
		if code != http.StatusOK || len(body) == 0 {
			t.Fatalf("GET %s: status %d, %d bytes", path, code, len(body))
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, source{Name: "GET " + path, Data: body})
		h.mu.Unlock()
	}
}

// terminate sends SIGTERM and waits for the relay to exit, at most 15 s.
// It returns how long the exit took, and an error if the relay did not
// exit cleanly in time. It may run on any goroutine.
func (h *relayProc) terminate() (time.Duration, error) {
	start := time.Now()
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-h.exited:
	case <-time.After(15 * time.Second):
		return time.Since(start), errors.New("the relay did not exit within 15 s of SIGTERM")
	}
	if h.exitErr != nil {
		return time.Since(start), fmt.Errorf("the relay did not exit cleanly after SIGTERM: %w", h.exitErr)
	}
	return time.Since(start), nil
}

// running reports whether the relay has not exited yet.
func (h *relayProc) running() bool {
	select {
	case <-h.exited:
		return false
	default:
		return true
	}
}

// outputs is every byte the relay produced: its streams, the output of
// `relay keys create`, every file under the state directory, and the
// report bodies. The relay must have exited.
func (h *relayProc) outputs(t *testing.T) []source {
	t.Helper()
	select {
	case <-h.exited:
	default:
		t.Fatal("outputs read while the relay still runs")
	}
	srcs := []source{
		{Name: "relay serve stdout", Data: h.stdout.Bytes()},
		{Name: "relay serve stderr", Data: h.stderr.Bytes()},
		{Name: "relay keys create output", Data: h.keysOut},
	}
	err := filepath.WalkDir(h.StateDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(h.StateDir, p)
		srcs = append(srcs, source{Name: "state/" + filepath.ToSlash(rel), Data: b})
		return nil
	})
	if err != nil {
		t.Fatalf("reading the state directory: %v", err)
	}
	h.mu.Lock()
	srcs = append(srcs, h.bodies...)
	h.mu.Unlock()
	return srcs
}
