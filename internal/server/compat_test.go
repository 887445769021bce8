package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/route"
)

// reasoner is a backend that reasons before it answers, as reasoning
// models behind OpenAI-compatible engines do.
type reasoner struct{}

func (reasoner) Stream(context.Context, logic.Target, logic.Params, *content.Request) (provider.Stream, error) {
	return &deltaList{ds: []content.Delta{
		{Kind: content.DeltaThinking, Index: 0, Text: content.FromString("REASONING-7c1")},
		{Kind: content.DeltaText, Index: 1, Text: content.FromString("ANSWER-7c1")},
	}}, nil
}

type deltaList struct{ ds []content.Delta }

func (s *deltaList) Recv() (content.Delta, error) {
	if len(s.ds) == 0 {
		return content.Delta{}, io.EOF
	}
	d := s.ds[0]
	s.ds = s.ds[1:]
	return d, nil
}
func (s *deltaList) Status() logic.Status { return logic.Status{Stop: logic.StopEnd} }
func (s *deltaList) Close() error         { return nil }

// fieldCounter counts refusals and dropped fields, as the metrics do.
type fieldCounter struct {
	mu     sync.Mutex
	fields []string
}

func (c *fieldCounter) Refused(audit.RefusalReason) {}
func (c *fieldCounter) UnknownField(front, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fields = append(c.fields, front+":"+name)
}

func compatRelay(t *testing.T, counter *fieldCounter) (url, key string) {
	t.Helper()
	keys, err := auth.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key, _, err = keys.Create("test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{StateDir: t.TempDir()}
	cfg.Defaults()
	srv := New(Options{Config: cfg, Keys: keys, Refusals: counter, Backends: &Backends{
		Providers: map[string]provider.Provider{"r": reasoner{}},
		Table:     route.New([]route.Backend{{Name: "r", Models: []string{"m"}}}, nil),
	}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL, key
}

func post(t *testing.T, url, key, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("Anthropic-Beta", "claude-code-20250219,interleaved-thinking-2025-05-14,some-future-beta")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Claude Code probes /api/hello without a key before its first request:
// HEAD and GET get a 200 with no body, anything else a 405.
func TestHelloProbe(t *testing.T) {
	url, _ := compatRelay(t, &fieldCounter{})
	for _, m := range []string{http.MethodHead, http.MethodGet} {
		req, _ := http.NewRequest(m, url+HelloPath, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(b) != 0 || resp.ContentLength != 0 {
			t.Errorf("%s %s: %d, %d bytes", m, HelloPath, resp.StatusCode, len(b))
		}
	}
	resp, err := http.Post(url+HelloPath, "application/json", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d", HelloPath, resp.StatusCode)
	}
	// The exemption is this path only.
	resp, err = http.Get(url + HelloPath + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET %s/x without a key: %d, want 401", HelloPath, resp.StatusCode)
	}
}

// Reasoning reaches an Anthropic client as thinking blocks when it asked
// for thinking, and not at all otherwise; never as text. An OpenAI client
// gets it as reasoning_content.
func TestReasoningReachesEachFrontItsOwnWay(t *testing.T) {
	url, key := compatRelay(t, &fieldCounter{})
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		name, thinking string
		shown          bool
	}{
		{"not asked", ``, false},
		{"disabled", `"thinking":{"type":"disabled"},`, false},
		{"omitted", `"thinking":{"type":"adaptive","display":"omitted"},`, false},
		{"adaptive", `"thinking":{"type":"adaptive"},`, true},
		{"enabled", `"thinking":{"type":"enabled","budget_tokens":1024},`, true},
	} {
		for _, stream := range []bool{false, true} {
			body := `{"model":"m","max_tokens":4096,` + tc.thinking + msgs + `}`
			if stream {
				body = `{"model":"m","max_tokens":4096,"stream":true,` + tc.thinking + msgs + `}`
			}
			code, out := post(t, url, key, "/v1/messages?beta=true", body)
			if code != http.StatusOK {
				t.Fatalf("%s: %d %s", tc.name, code, out)
			}
			if !strings.Contains(out, "ANSWER-7c1") {
				t.Errorf("%s (stream %v): answer missing: %s", tc.name, stream, out)
			}
			if got := strings.Contains(out, "REASONING-7c1"); got != tc.shown {
				t.Errorf("%s (stream %v): reasoning shown %v, want %v: %s", tc.name, stream, got, tc.shown, out)
			}
			if tc.shown {
				want := `"type":"thinking","thinking":"REASONING-7c1"`
				if stream {
					want = `"delta":{"type":"thinking_delta","thinking":"REASONING-7c1"}`
				}
				if !strings.Contains(out, want) {
					t.Errorf("%s (stream %v): no thinking block: %s", tc.name, stream, out)
				}
			}
			if strings.Contains(out, `"text":"REASONING`) || strings.Contains(out, `"text_delta","text":"REASONING`) {
				t.Errorf("%s: reasoning reached the client as text", tc.name)
			}
		}
	}
	for _, stream := range []string{"false", "true"} {
		code, out := post(t, url, key, "/v1/chat/completions", `{"model":"m","stream":`+stream+`,`+msgs+`}`)
		if code != http.StatusOK || !strings.Contains(out, `"reasoning_content":"REASONING-7c1"`) {
			t.Errorf("openai (stream %s): %d %s", stream, code, out)
		}
	}
}

// Unknown top-level fields pass on both fronts and reach the counter by
// name; unknown fields inside a message are still a 400.
func TestUnknownTopLevelFieldsCounted(t *testing.T) {
	c := &fieldCounter{}
	url, key := compatRelay(t, c)
	if code, out := post(t, url, key, "/v1/messages", `{"model":"m","max_tokens":16,"future_option":{"a":1},"messages":[{"role":"user","content":"hi"}]}`); code != http.StatusOK {
		t.Fatalf("anthropic: %d %s", code, out)
	}
	if code, out := post(t, url, key, "/v1/chat/completions", `{"model":"m","a key with spaces":1,"messages":[{"role":"user","content":"hi"}]}`); code != http.StatusOK {
		t.Fatalf("openai: %d %s", code, out)
	}
	if code, out := post(t, url, key, "/v1/messages/count_tokens", `{"model":"m","future_option":1,"messages":[{"role":"user","content":"hi"}]}`); code != http.StatusOK {
		t.Fatalf("count_tokens: %d %s", code, out)
	}
	if code, _ := post(t, url, key, "/v1/messages", `{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hi","future_option":1}]}`); code != http.StatusBadRequest {
		t.Fatalf("unknown field inside a message: %d, want 400", code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if got := strings.Join(c.fields, ","); got != "anthropic:future_option,openai:other,anthropic:future_option" {
		t.Errorf("counted %q", got)
	}
}
