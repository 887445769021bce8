package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inference-relay/relay"
	"github.com/inference-relay/relay/internal/wire/anthropic"
)

// The real Claude Code CLI as a client of the relay, in front of the
// OpenAI-compatible stand-in. scripts/setup-claude-code installs the pinned
// binary (scripts/test runs it, so CI always has it); elsewhere the tests
// skip with a message saying how to install it.

// claudeCodeVersion is the CLI version these tests and the fixture in
// testdata/claude-code were made with; scripts/setup-claude-code pins the
// same one (TestClaudeCodeSetupPinsTheTestedVersion).
const claudeCodeVersion = "2.1.337"

// claudeCodeTimeout bounds one CLI run so that a hang fails the test
// instead of the suite; it is no statement about speed.
const claudeCodeTimeout = 3 * time.Minute

// claudeBinary returns the CLI to run: $RELAY_CLAUDE_CODE, else the pinned
// install in the state directory. Without one the test skips, or fails
// under CI=true, where scripts/test installs it first.
func claudeBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("RELAY_CLAUDE_CODE")
	if path == "" {
		state := os.Getenv("RELAY_STATE_DIR")
		if state == "" && os.Getenv("XDG_STATE_HOME") != "" {
			state = filepath.Join(os.Getenv("XDG_STATE_HOME"), "inference-relay")
		}
		if state == "" {
			home, _ := os.UserHomeDir()
			state = filepath.Join(home, ".local", "state", "inference-relay")
		}
		path = filepath.Join(state, "claude-code", claudeCodeVersion, "claude")
	}
	if _, err := os.Stat(path); err != nil {
		msg := "Claude Code " + claudeCodeVersion + " is not installed (" + path + "): run scripts/setup-claude-code, or set RELAY_CLAUDE_CODE to a claude binary"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

func TestClaudeCodeSetupPinsTheTestedVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "setup-claude-code"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\nVERSION="+claudeCodeVersion+"\n")) {
		t.Fatalf("scripts/setup-claude-code does not pin VERSION=%s", claudeCodeVersion)
	}
}

// canaryToken is a fresh random marker to find later in files.
func canaryToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "CANARY-" + hex.EncodeToString(b)
}

// ccRun is one isolated Claude Code invocation.
type ccRun struct {
	home string // HOME and, under it, CLAUDE_CONFIG_DIR
	dir  string // working directory
}

func newCCRun(t *testing.T) *ccRun {
	t.Helper()
	root := t.TempDir()
	r := &ccRun{home: filepath.Join(root, "home"), dir: filepath.Join(root, "work")}
	for _, d := range []string{r.home, r.dir, filepath.Join(r.home, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// run starts claude with args against the relay at baseURL. The
// environment is built from nothing: isolated home and config directory,
// no proxy, every kind of nonessential traffic off (the relay is the only
// server it may reach).
func (r *ccRun) run(t *testing.T, baseURL, key string, args ...string) (stdout, stderr string, err error) {
	return r.runEnv(t, baseURL, key, true, args...)
}

// runEnv is run; with quiet false the CLI's connection warm-up and other
// nonessential requests are allowed (telemetry, error reports and updates
// stay off): the fixture refresh uses it to record the probes the CLI
// sends before its first request.
func (r *ccRun) runEnv(t *testing.T, baseURL, key string, quiet bool, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := claudeBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), claudeCodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = r.dir
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + r.home,
		"CLAUDE_CONFIG_DIR=" + filepath.Join(r.home, ".claude"),
		"TMPDIR=" + filepath.Join(r.home, "tmp"),
		"XDG_CONFIG_HOME=" + filepath.Join(r.home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(r.home, ".cache"),
		"XDG_STATE_HOME=" + filepath.Join(r.home, ".local", "state"),
		"ANTHROPIC_BASE_URL=" + baseURL,
		"ANTHROPIC_API_KEY=" + key,
		"DISABLE_TELEMETRY=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_BUG_COMMAND=1",
		"CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY=1",
		"CLAUDE_CODE_DISABLE_TERMINAL_TITLE=1",
		"NO_COLOR=1",
	}
	if quiet {
		cmd.Env = append(cmd.Env, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1")
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = nil
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// ccEvent is one line of --output-format stream-json.
type ccEvent struct {
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	IsError bool   `json:"is_error"`
	Result  string `json:"result"`
	Message struct {
		Content []struct {
			Type     string          `json:"type"`
			Text     string          `json:"text"`
			Thinking string          `json:"thinking"`
			Name     string          `json:"name"`
			ID       string          `json:"id"`
			Input    json.RawMessage `json:"input"`
		} `json:"content"`
	} `json:"message"`
}

func parseStreamJSON(t *testing.T, out string) []ccEvent {
	t.Helper()
	var evs []ccEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] != '{' {
			continue
		}
		var ev ccEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("stream-json line does not parse: %v", err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// result returns the final result event, failing when there is none or it
// is an error.
func result(t *testing.T, evs []ccEvent, stdout, stderr string) ccEvent {
	t.Helper()
	for _, ev := range evs {
		if ev.Type == "result" {
			if ev.IsError {
				t.Fatalf("Claude Code reported an error: %s\nstdout: %.2000s\nstderr: %.2000s", ev.Result, stdout, stderr)
			}
			return ev
		}
	}
	t.Fatalf("no result event\nstdout: %.2000s\nstderr: %.2000s", stdout, stderr)
	return ccEvent{}
}

// claudeHarness starts the relay in front of the stand-ins and returns it
// with its state directory.
func claudeHarness(t *testing.T) (*harness, string) {
	t.Helper()
	var state string
	h := newHarness(t, func(c *relay.Config) { state = c.StateDir })
	return h, state
}

// noCanaryUnder fails when any file under the directories holds the canary.
func noCanaryUnder(t *testing.T, canary string, dirs ...string) {
	t.Helper()
	needles := [][]byte{[]byte(canary), []byte(hex.EncodeToString([]byte(canary)))}
	files := 0
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("cannot read %s to scan it: %v", path, err)
				return nil
			}
			files++
			for _, n := range needles {
				if i := bytes.Index(b, n); i >= 0 {
					t.Errorf("the canary is in %s at byte %d", path, i)
				}
			}
			return nil
		})
	}
	if files == 0 {
		t.Error("the canary scan found no files at all: it would prove nothing")
	}
}

// claude -p, plain text out: the reply comes back, nothing is an error,
// and the prompt is stored nowhere.
func TestClaudeCodePrint(t *testing.T) {
	claudeBinary(t)
	h, state := claudeHarness(t)
	cc := newCCRun(t)
	canary := canaryToken()
	out, errOut, err := cc.run(t, h.URL, h.Key, "-p", "repeat "+canary, "--model", "gpt-standin", "--no-session-persistence")
	if err != nil {
		t.Fatalf("claude -p: %v\nstdout: %.2000s\nstderr: %.2000s", err, out, errOut)
	}
	// The stand-in echoes the user's turn, so the reply holds the prompt.
	if !strings.Contains(out, "echo:") || !strings.Contains(out, canary) {
		t.Fatalf("unexpected reply: %.2000s\nstderr: %.2000s", out, errOut)
	}
	noCanaryUnder(t, canary, cc.home, state)
}

// --output-format stream-json --verbose: a result that is not an error.
func TestClaudeCodeStreamJSON(t *testing.T) {
	claudeBinary(t)
	h, state := claudeHarness(t)
	cc := newCCRun(t)
	canary := canaryToken()
	out, errOut, err := cc.run(t, h.URL, h.Key, "-p", "say "+canary, "--model", "gpt-standin",
		"--output-format", "stream-json", "--verbose", "--no-session-persistence")
	if err != nil {
		t.Fatalf("claude: %v\nstdout: %.2000s\nstderr: %.2000s", err, out, errOut)
	}
	res := result(t, parseStreamJSON(t, out), out, errOut)
	if !strings.Contains(res.Result, "echo:") {
		t.Errorf("result %q", res.Result)
	}
	noCanaryUnder(t, canary, cc.home, state)
}

// A turn where the backend calls a tool reaches Claude Code as a tool_use
// block. Claude Code is given only Bash and the dontAsk permission mode, so
// the call is refused, never run; the refusal goes back as a tool result
// and the stand-in ends the turn.
func TestClaudeCodeToolUse(t *testing.T) {
	claudeBinary(t)
	h, state := claudeHarness(t)
	cc := newCCRun(t)
	canary := canaryToken()
	marker := filepath.Join(cc.dir, "must-not-exist")
	out, errOut, err := cc.run(t, h.URL, h.Key, "-p", "touch "+marker+" "+canary, "--model", "local/tool-call",
		"--tools", "Bash", "--permission-mode", "dontAsk",
		"--output-format", "stream-json", "--verbose", "--no-session-persistence", "--max-turns", "3")
	if err != nil {
		t.Fatalf("claude: %v\nstdout: %.3000s\nstderr: %.2000s", err, out, errOut)
	}
	evs := parseStreamJSON(t, out)
	var uses []string
	for _, ev := range evs {
		if ev.Type != "assistant" {
			continue
		}
		for _, c := range ev.Message.Content {
			if c.Type == "tool_use" {
				uses = append(uses, c.Name)
				if !strings.Contains(string(c.Input), canary) {
					t.Errorf("tool_use input does not carry the arguments the backend sent: %s", c.Input)
				}
			}
		}
	}
	if len(uses) == 0 {
		t.Fatalf("no tool_use reached Claude Code\nstdout: %.3000s", out)
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the tool ran: %s exists (%v)", marker, err)
	}
	result(t, evs, out, errOut)
	noCanaryUnder(t, canary, cc.home, state)
}

// Reasoning from the engine reaches Claude Code (which asks for adaptive
// thinking) as a thinking block, never as text.
func TestClaudeCodeThinking(t *testing.T) {
	claudeBinary(t)
	h, state := claudeHarness(t)
	cc := newCCRun(t)
	canary := canaryToken()
	out, errOut, err := cc.run(t, h.URL, h.Key, "-p", "think "+canary, "--model", "local/reasoner",
		"--output-format", "stream-json", "--verbose", "--no-session-persistence")
	if err != nil {
		t.Fatalf("claude: %v\nstdout: %.3000s\nstderr: %.2000s", err, out, errOut)
	}
	evs := parseStreamJSON(t, out)
	thinking := false
	for _, ev := range evs {
		for _, c := range ev.Message.Content {
			if c.Type == "thinking" && strings.Contains(c.Thinking, "reasoning about:") {
				thinking = true
			}
			if c.Type == "text" && strings.Contains(c.Text, "reasoning about:") {
				t.Errorf("reasoning reached Claude Code as text")
			}
		}
	}
	if !thinking {
		t.Errorf("no thinking block reached Claude Code\nstdout: %.3000s", out)
	}
	res := result(t, evs, out, errOut)
	if strings.Contains(res.Result, "reasoning about:") {
		t.Errorf("reasoning in the result text: %q", res.Result)
	}
	noCanaryUnder(t, canary, cc.home, state)
}

// --- The fixture of real requests ---

// fixtureDir holds the requests the pinned CLI sends, captured by
// TestClaudeCodeCapture (scripts/refresh-claude-code-fixture) with every
// piece of content replaced by a canary-style placeholder.
const fixtureDir = "testdata/claude-code"

// captured is one request as the fixture stores it.
type captured struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"` // with the query
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// keptHeaders are the request headers the fixture keeps: what says which
// API version and features the client speaks. Keys, ids and the like are
// left out.
var keptHeaders = []string{"Anthropic-Version", "Anthropic-Beta", "Content-Type", "Accept", "X-App"}

// capture records every request to next.
type capture struct {
	next http.Handler
	mu   sync.Mutex
	reqs []captured
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := captured{Method: r.Method, Path: r.URL.RequestURI(), Headers: map[string]string{}}
	for _, h := range keptHeaders {
		if v := r.Header.Get(h); v != "" {
			rec.Headers[strings.ToLower(h)] = v
		}
	}
	if len(body) > 0 {
		rec.Body = body
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, rec)
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

// structuralKeys hold strings that are not content: the request's shape,
// options and the names of tools and schema keywords. Every other string
// in a captured body is replaced.
var structuralKeys = map[string]bool{
	"type": true, "role": true, "model": true, "effort": true, "display": true, "ttl": true,
	"keep": true, "name": true, "$schema": true, "format": true, "required": true,
	"media_type": true, "service_tier": true, "additionalProperties": true,
}

// scrub replaces content strings with numbered placeholders, in place.
func scrub(v any, key string, n *int) any {
	switch x := v.(type) {
	case map[string]any:
		// In key order, so that a refresh numbers placeholders the same
		// way every time and the diff shows only what changed.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			x[k] = scrub(x[k], k, n)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = scrub(e, key, n)
		}
		return x
	case string:
		if structuralKeys[key] {
			return x
		}
		*n++
		return fmt.Sprintf("CANARY-FIXTURE-%04d", *n)
	}
	return v
}

// TestClaudeCodeCapture runs the CLI through a capturing front of the
// relay. With RELAY_REFRESH_FIXTURE=1 (scripts/refresh-claude-code-fixture)
// it rewrites testdata/claude-code from what the CLI sent, its connection
// probes included; otherwise it checks that what the CLI sends today has
// the fixture's shape (the same requests with the same top-level fields).
func TestClaudeCodeCapture(t *testing.T) {
	claudeBinary(t)
	refresh := os.Getenv("RELAY_REFRESH_FIXTURE") == "1"
	h, _ := claudeHarness(t)
	cap := &capture{next: h.Relay.Handler()}
	srv := httptest.NewServer(cap)
	t.Cleanup(srv.Close)
	runs := []struct {
		name  string
		quiet bool
		args  []string
	}{
		// The print run lets the CLI probe the relay as it does by
		// default, when refreshing: that is how HEAD /api/hello got into
		// the fixture (TestClaudeCodeFixture replays it).
		{"print", !refresh, []string{"-p", "say hi", "--model", "gpt-standin", "--no-session-persistence"}},
		{"tool-use", true, []string{"-p", "list files", "--model", "local/tool-call", "--tools", "Bash", "--permission-mode", "dontAsk",
			"--output-format", "stream-json", "--verbose", "--no-session-persistence", "--max-turns", "3"}},
	}
	var all []captured
	for _, run := range runs {
		cap.mu.Lock()
		cap.reqs = nil
		cap.mu.Unlock()
		cc := newCCRun(t)
		if out, errOut, err := cc.runEnv(t, srv.URL, h.Key, run.quiet, run.args...); err != nil {
			t.Fatalf("%s: %v\nstdout: %.2000s\nstderr: %.2000s", run.name, err, out, errOut)
		}
		cap.mu.Lock()
		reqs := append([]captured(nil), cap.reqs...)
		cap.mu.Unlock()
		for i := range reqs {
			if len(reqs[i].Body) == 0 {
				continue
			}
			var v any
			if err := json.Unmarshal(reqs[i].Body, &v); err != nil {
				t.Fatalf("%s: request %d body: %v", run.name, i, err)
			}
			n := 0
			b, _ := json.MarshalIndent(scrub(v, "", &n), "", "  ")
			reqs[i].Body = b
		}
		all = append(all, reqs...)
		if refresh {
			writeFixture(t, run.name, reqs)
		}
	}
	if refresh {
		return
	}
	if got, exp := shapes(all), shapes(readFixture(t)); !slices.Equal(got, exp) {
		t.Errorf("Claude Code %s sends requests of another shape than testdata/claude-code holds; run scripts/refresh-claude-code-fixture and review the diff\n got: %q\nwant: %q", claudeCodeVersion, got, exp)
	}
}

// shapes summarises the requests that carry a body as "METHOD path
// fields…", sorted. Bodiless probes are left out: the CLI sends them only
// when its nonessential traffic is on.
func shapes(reqs []captured) []string {
	var out []string
	for _, r := range reqs {
		if len(r.Body) == 0 {
			continue
		}
		s := r.Method + " " + r.Path
		var top map[string]json.RawMessage
		if json.Unmarshal(r.Body, &top) == nil {
			var keys []string
			for k := range top {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			s += " " + strings.Join(keys, ",")
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func writeFixture(t *testing.T, name string, reqs []captured) {
	t.Helper()
	if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(fixtureDir, name+"-*.json"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	for i, r := range reqs {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(fixtureDir, fmt.Sprintf("%s-%02d.json", name, i))
		if err := os.WriteFile(f, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(fixtureDir, "VERSION"), []byte(claudeCodeVersion+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFixture(t *testing.T) []captured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture in %s (%v): run scripts/refresh-claude-code-fixture", fixtureDir, err)
	}
	slices.Sort(files)
	var out []captured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c captured
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, c)
	}
	return out
}

// Every request in the fixture decodes with the Anthropic decoder, with no
// top-level field it does not know (a new one is accepted at run time, but
// here it asks for a decision: map it or say why it is dropped), and the
// relay answers each one, probes included, with a success.
func TestClaudeCodeFixture(t *testing.T) {
	reqs := readFixture(t)
	h, _ := claudeHarness(t)
	bodies := 0
	for i, r := range reqs {
		if len(r.Body) > 0 {
			bodies++
			var unknown []string
			if _, _, err := anthropic.DecodeRequestReporting(r.Body, func(n string) { unknown = append(unknown, n) }); err != nil {
				t.Errorf("request %d (%s %s): %v", i, r.Method, r.Path, err)
			}
			if len(unknown) > 0 {
				t.Errorf("request %d (%s %s) has top-level fields the decoder does not know: %q", i, r.Method, r.Path, unknown)
			}
		}
		req, err := http.NewRequest(r.Method, h.URL+r.Path, bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range r.Headers {
			req.Header.Set(k, v)
		}
		if r.Path != "/api/hello" {
			req.Header.Set("X-Api-Key", h.Key)
		}
		resp := h.do(t, req)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Errorf("request %d (%s %s): %d %.500s", i, r.Method, r.Path, resp.StatusCode, b)
		}
	}
	if bodies == 0 {
		t.Fatal("the fixture holds no request with a body")
	}
}
