package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/inference-relay/relay"
)

const okOpenAI = `{"model":"gpt-standin","messages":[{"role":"user","content":"hi"}]}`
const okAnthropic = `{"model":"claude-standin","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`

// errorShape checks that body is the named API's error shape and returns its
// message.
func errorShape(t *testing.T, api string, body []byte) string {
	t.Helper()
	if api == "anthropic" {
		var e struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
			t.Fatalf("not an Anthropic error body: %s", body)
		}
		return e.Error.Message
	}
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	return e.Error.Message
}

// TestFourXX is the table of every client-error path of the HTTP front.
func TestFourXX(t *testing.T) {
	h := newHarness(t, func(c *relay.Config) { c.MaxBodyBytes = 4096 })
	big := `{"model":"gpt-standin","messages":[{"role":"user","content":"` + strings.Repeat("a", 5000) + `"}]}`
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		noKey                    bool
		want                     int
		api                      string
		msg                      string // substring of the error message
	}{
		{name: "no key openai", method: "POST", path: "/v1/chat/completions", body: okOpenAI, noKey: true, want: 401, api: "openai", msg: "API key"},
		{name: "no key anthropic", method: "POST", path: "/v1/messages", body: okAnthropic, noKey: true, want: 401, api: "anthropic", msg: "API key"},
		{name: "wrong key", method: "POST", path: "/v1/chat/completions", body: okOpenAI, noKey: true, hdr: map[string]string{"Authorization": "Bearer relay-wrong"}, want: 401, api: "openai"},
		{name: "models needs key", method: "GET", path: "/v1/models", noKey: true, want: 401, api: "openai"},
		{name: "foreign host", method: "POST", path: "/v1/chat/completions", body: okOpenAI, hdr: map[string]string{"Host": "evil.example:8377"}, want: 403, api: "openai", msg: "host"},
		{name: "browser origin", method: "POST", path: "/v1/messages", body: okAnthropic, hdr: map[string]string{"Origin": "https://evil.example"}, want: 403, api: "anthropic", msg: "cross-origin"},
		{name: "sec-fetch-site cross-site", method: "POST", path: "/v1/chat/completions", body: okOpenAI, hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 403, api: "openai"},
		{name: "preflight", method: "OPTIONS", path: "/v1/chat/completions", hdr: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, want: 403, api: "openai"},
		{name: "too large", method: "POST", path: "/v1/chat/completions", body: big, want: 413, api: "openai", msg: "max_body_bytes"},
		{name: "too large anthropic", method: "POST", path: "/v1/messages", body: big, want: 413, api: "anthropic"},
		{name: "form content type", method: "POST", path: "/v1/chat/completions", body: okOpenAI, hdr: map[string]string{"Content-Type": "text/plain"}, want: 415, api: "openai", msg: "application/json"},
		{name: "malformed json", method: "POST", path: "/v1/chat/completions", body: `{"model":`, want: 400, api: "openai"},
		{name: "malformed json anthropic", method: "POST", path: "/v1/messages", body: `{"model":"x",`, want: 400, api: "anthropic"},
		// Unknown top-level fields are dropped, not refused (docs/ARCHITECTURE.md,
		// "Tomorrow's fields"); inside a message they are still an error.
		{name: "unknown field", method: "POST", path: "/v1/chat/completions", body: `{"model":"gpt-standin","messages":[{"role":"user","content":"hi","bogus":1}]}`, want: 400, api: "openai", msg: "bogus"},
		{name: "wrong type names field", method: "POST", path: "/v1/messages", body: `{"model":"claude-standin","max_tokens":"many","messages":[{"role":"user","content":"hi"}]}`, want: 400, api: "anthropic", msg: "max_tokens"},
		{name: "missing max_tokens", method: "POST", path: "/v1/messages", body: `{"model":"claude-standin","messages":[{"role":"user","content":"hi"}]}`, want: 400, api: "anthropic", msg: "max_tokens"},
		{name: "GET on chat", method: "GET", path: "/v1/chat/completions", want: 405, api: "openai"},
		{name: "GET on messages", method: "GET", path: "/v1/messages", want: 405, api: "anthropic"},
		{name: "unknown route", method: "GET", path: "/v2/whatever", want: 404, api: "openai"},
		{name: "unknown model", method: "POST", path: "/v1/chat/completions", body: `{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}`, want: 404, api: "openai", msg: "model not found"},
		{name: "unknown model anthropic", method: "POST", path: "/v1/messages", body: `{"model":"no-such-model","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, want: 404, api: "anthropic"},
		{name: "upstream 429", method: "POST", path: "/v1/chat/completions", body: `{"model":"local/fail-429","messages":[{"role":"user","content":"hi"}]}`, want: 429, api: "openai"},
		{name: "upstream 400 via anthropic front", method: "POST", path: "/v1/messages", body: `{"model":"local/fail-400","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, want: 400, api: "anthropic"},
		{name: "upstream 529 anthropic to openai front", method: "POST", path: "/v1/chat/completions", body: `{"model":"anthropic/fail-529","messages":[{"role":"user","content":"hi"}]}`, want: 529, api: "openai"},
		{name: "upstream 401 streaming", method: "POST", path: "/v1/messages", body: `{"model":"anthropic/fail-401","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, want: 401, api: "anthropic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, h.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if !tc.noKey {
				req.Header.Set("Authorization", "Bearer "+h.Key)
			}
			for k, v := range tc.hdr {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			resp := h.do(t, req)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.want, body)
			}
			msg := errorShape(t, tc.api, body)
			if tc.msg != "" && !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q lacks %q", msg, tc.msg)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Error("CORS header sent while CORS is off")
			}
		})
	}
}

func TestHealthzNeedsNoKey(t *testing.T) {
	h := newHarness(t)
	resp, err := http.Get(h.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
}

func TestBothAuthHeadersWork(t *testing.T) {
	h := newHarness(t)
	for _, hdr := range []string{"Authorization", "X-Api-Key"} {
		req, _ := http.NewRequest("GET", h.URL+"/v1/models", nil)
		v := h.Key
		if hdr == "Authorization" {
			v = "Bearer " + v
		}
		req.Header.Set(hdr, v)
		if resp := h.do(t, req); resp.StatusCode != 200 {
			t.Errorf("%s: status %d", hdr, resp.StatusCode)
		}
	}
}

// TestNoBackend503 starts a relay with nothing to route to: it still serves,
// and inference answers 503 saying how to add a backend.
func TestNoBackend503(t *testing.T) {
	h := newHarness(t, func(c *relay.Config) { c.Backends = nil })
	for _, tc := range []struct{ path, body, api string }{
		{"/v1/chat/completions", okOpenAI, "openai"},
		{"/v1/messages", okAnthropic, "anthropic"},
	} {
		req, _ := http.NewRequest("POST", h.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", h.Key)
		resp := h.do(t, req)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 503 {
			t.Fatalf("%s: status %d body %s", tc.path, resp.StatusCode, body)
		}
		if msg := errorShape(t, tc.api, body); !strings.Contains(msg, "relay doctor") {
			t.Errorf("503 message does not say how to add a backend: %q", msg)
		}
	}
}

// TestClientDisconnectCancelsUpstream: a client that goes away mid-request
// cancels the upstream request.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name, path, body string
		canceled         func() int
	}{
		{"openai-compatible", "/v1/chat/completions", `{"model":"local/hang","stream":true,"messages":[{"role":"user","content":"hi"}]}`, h.OpenAI.Canceled},
		{"anthropic", "/v1/messages", `{"model":"anthropic/hang","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, h.Anthropic.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.canceled()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", h.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-api-key", h.Key)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("request to a hanging upstream returned %d", resp.StatusCode)
			}
			deadline := time.Now().Add(5 * time.Second)
			for tc.canceled() == before {
				if time.Now().After(deadline) {
					t.Fatal("upstream never saw the cancel")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestSlowBodyTimesOut: a client that sends its headers and then trickles
// the body is cut off with 408 after the read timeout.
func TestSlowBodyTimesOut(t *testing.T) {
	h := newHarness(t, func(c *relay.Config) { c.ReadTimeout.Duration = 300 * time.Millisecond })
	u, _ := url.Parse(h.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":", u.Host, h.Key)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a stalled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	errorShape(t, "openai", body)
}

// TestMidStreamErrors: an upstream that fails after the first bytes ends
// the client's stream with an error event in the client's API shape.
func TestMidStreamErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/chat/completions", `{"model":"local/midstream-error","stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"error"`},
		{"/v1/messages", `{"model":"anthropic/midstream-error","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "event: error"},
		{"/v1/messages", `{"model":"local/cut","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "event: error"},
		{"/v1/chat/completions", `{"model":"anthropic/cut","stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"error"`},
	} {
		req, _ := http.NewRequest("POST", h.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", h.Key)
		resp := h.do(t, req)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d (a stream that started is 200)", tc.body, resp.StatusCode)
		}
		if !strings.Contains(string(body), tc.want) || strings.Contains(string(body), "[DONE]") || strings.Contains(string(body), "message_stop") {
			t.Errorf("%s: stream does not end in an error:\n%s", tc.body, body)
		}
	}
}
