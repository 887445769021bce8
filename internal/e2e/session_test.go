package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/inference-relay/relay"
	"github.com/inference-relay/relay/internal/auth"
)

// upstreamSaw reports whether the last request a stand-in received holds s.
func upstreamSaw(last []byte, s string) bool { return strings.Contains(string(last), s) }

func (h *harness) endSession(t *testing.T, id string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.URL+"/v1/session/end", strings.NewReader(`{"session_id":"`+id+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.Key)
	resp := h.do(t, req)
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSessionOpenAISDK: with a session the client sends only its new turn;
// the relay sends the whole conversation upstream, through each backend,
// streaming and not, and End forgets it.
func TestSessionOpenAISDK(t *testing.T) {
	h := newHarness(t)
	c := openaiClient(h)
	ctx := context.Background()
	for _, b := range backendKinds {
		for _, streaming := range []bool{false, true} {
			id := "oa-" + b.name + map[bool]string{false: "-unary", true: "-stream"}[streaming]
			last := h.OpenAI.LastRequest
			if b.name == "anthropic" {
				last = h.Anthropic.LastRequest
			}
			send := func(text string) string {
				params := openai.ChatCompletionNewParams{Model: b.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
				msg, _ := chatOnce(ctx, t, c, params, streaming, ooption.WithHeader("X-Relay-Session", id))
				return msg.Content
			}
			if got := send("first turn alpha"); got != "echo: first turn alpha" {
				t.Fatalf("%s: turn 1 = %q", id, got)
			}
			if got := send("second turn beta"); got != "echo: second turn beta" {
				t.Fatalf("%s: turn 2 = %q", id, got)
			}
			// The upstream got the whole conversation: turn 1, its reply, turn 2.
			if l := last(); !upstreamSaw(l, "first turn alpha") || !upstreamSaw(l, "echo: first turn alpha") || !upstreamSaw(l, "second turn beta") {
				t.Fatalf("%s: upstream did not get the history: %s", id, l)
			}
			code, body := h.endSession(t, id)
			if code != 200 || !strings.Contains(body, `"messages":4`) {
				t.Fatalf("%s: end = %d %s", id, code, body)
			}
			if code, _ := h.endSession(t, id); code != 404 {
				t.Fatalf("%s: second end = %d, want 404", id, code)
			}
			// After End the session starts afresh.
			send("third turn gamma")
			if l := last(); upstreamSaw(l, "alpha") {
				t.Fatalf("%s: history survived End: %s", id, l)
			}
			h.endSession(t, id)
		}
	}
}

func TestSessionAnthropicSDK(t *testing.T) {
	h := newHarness(t)
	c := anthropicClient(h)
	ctx := context.Background()
	for _, b := range backendKinds {
		last := h.OpenAI.LastRequest
		if b.name == "anthropic" {
			last = h.Anthropic.LastRequest
		}
		id := "an-" + b.name
		for i, text := range []string{"first turn alpha", "second turn beta"} {
			params := anthropic.MessageNewParams{
				Model: anthropic.Model(b.model), MaxTokens: 64,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
			}
			var got string
			if i == 0 {
				msg, err := c.Messages.New(ctx, params, aoption.WithJSONSet("session_id", id))
				if err != nil {
					t.Fatal(err)
				}
				got = msg.Content[0].Text
			} else {
				s := c.Messages.NewStreaming(ctx, params, aoption.WithJSONSet("session_id", id))
				var acc anthropic.Message
				for s.Next() {
					acc.Accumulate(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				got = acc.Content[0].Text
			}
			if got != "echo: "+text {
				t.Fatalf("%s turn %d = %q", id, i, got)
			}
		}
		if l := last(); !upstreamSaw(l, "first turn alpha") || !upstreamSaw(l, "echo: first turn alpha") {
			t.Fatalf("%s: upstream did not get the history: %s", id, l)
		}
	}
	var doc struct {
		Sessions struct {
			Active int `json:"active"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(h.get(t, "/audit"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Sessions.Active != 2 {
		t.Fatalf("/audit sessions.active = %d, want 2", doc.Sessions.Active)
	}
	if n := h.Relay.Lockdown(); n != 2 {
		t.Fatalf("Lockdown wiped %d sessions, want 2", n)
	}
	if err := json.Unmarshal(h.get(t, "/audit"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Sessions.Active != 0 {
		t.Fatalf("after lockdown %d sessions remain", doc.Sessions.Active)
	}
}

func TestSessionLimits(t *testing.T) {
	// The key's share is set above the whole store, so that the store's own
	// limit is the one met (TestSessionsAcrossKeys covers the share).
	h := newHarness(t, func(c *relay.Config) {
		c.Sessions.MaxSessions = 1
		c.Sessions.MaxSessionsPerKey = 2
		c.Sessions.MaxBytesPerSession = 200
	})
	post := func(id, text string) (int, string) {
		req, _ := http.NewRequest("POST", h.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-standin","session_id":"`+id+`","messages":[{"role":"user","content":"`+text+`"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+h.Key)
		resp := h.do(t, req)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("one", "hi"); code != 200 {
		t.Fatalf("first session: %d %s", code, body)
	}
	if code, body := post("two", "hi"); code != 429 || !strings.Contains(body, "too many sessions") {
		t.Fatalf("second session: %d %s, want 429", code, body)
	}
	if code, body := post("one", strings.Repeat("x", 300)); code != 413 || !strings.Contains(body, "session is full") {
		t.Fatalf("oversized turn: %d %s, want 413", code, body)
	}
	// The refused turn changed nothing: the session still answers.
	if code, body := post("one", "still here"); code != 200 {
		t.Fatalf("after a refused turn: %d %s", code, body)
	}
	if code, _ := h.endSession(t, "nope"); code != 404 {
		t.Fatalf("ending an unknown session: %d", code)
	}
}

// secondKey adds a key to the harness's store and waits until the running
// relay accepts it (it re-reads the key file within a second).
func (h *harness) secondKey(t *testing.T) string {
	t.Helper()
	store, err := auth.Open(h.Relay.Config().StateDir)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := store.Create("second")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		req, _ := http.NewRequest("GET", h.URL+"/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		if resp := h.do(t, req); resp.StatusCode == 200 {
			return key
		}
		if i == 100 {
			t.Fatal("the relay never accepted the second key")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSessionsAcrossKeys: the red-team's session findings against the real
// relay, through both SDK shapes' routes. Key 2 naming key 1's session
// neither reads nor extends it, cannot end it (and learns nothing from
// trying: the answer is byte-identical to an unknown id's), and key 1
// filling its share of the store does not lock key 2 out.
func TestSessionsAcrossKeys(t *testing.T) {
	h := newHarness(t, func(c *relay.Config) { c.Sessions.MaxSessions = 8 }) // a share of 2 per key
	k1, k2 := h.Key, h.secondKey(t)
	post := func(key, id, text string) (int, string) {
		body, _ := json.Marshal(map[string]any{"model": "gpt-standin", "session_id": id, "messages": []any{map[string]string{"role": "user", "content": text}}})
		req, _ := http.NewRequest("POST", h.URL+"/v1/chat/completions", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp := h.do(t, req)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	end := func(key, id string) (int, string, string) {
		req, _ := http.NewRequest("POST", h.URL+"/v1/session/end", strings.NewReader(`{"session_id":"`+id+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp := h.do(t, req)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	ok := func(code int, body string) {
		t.Helper()
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
	}

	// Read and append.
	ok(post(k1, "work", "k1 secret alpha"))
	ok(post(k2, "work", "k2 turn beta"))
	if l := h.OpenAI.LastRequest(); upstreamSaw(l, "alpha") {
		t.Fatalf("key 2's request carried key 1's conversation upstream: %s", l)
	}
	ok(post(k1, "work", "k1 turn gamma"))
	if l := h.OpenAI.LastRequest(); !upstreamSaw(l, "alpha") || upstreamSaw(l, "beta") {
		t.Fatalf("key 1's history is not its own: %s", l)
	}

	// End and the existence oracle.
	ok(post(k1, "k1-only", "delta"))
	c1, t1, b1 := end(k2, "k1-only")
	c2, t2, b2 := end(k2, "never-existed")
	if c1 != 404 || c1 != c2 || t1 != t2 || b1 != b2 {
		t.Fatalf("key 2 ending key 1's session: %d %s %s\nan unknown id: %d %s %s", c1, t1, b1, c2, t2, b2)
	}
	ok(post(k1, "k1-only", "epsilon"))
	if l := h.OpenAI.LastRequest(); !upstreamSaw(l, "delta") {
		t.Fatalf("key 1's session did not survive key 2's end: %s", l)
	}
	if code, _, body := end(k1, "k1-only"); code != 200 || !strings.Contains(body, `"messages":4`) {
		t.Fatalf("key 1 ending its own: %d %s", code, body)
	}

	// Quota: key 1 holds "work"; one more fills its share of 2.
	ok(post(k1, "second", "x"))
	if code, body := post(k1, "third", "x"); code != 429 || !strings.Contains(body, "this API key") {
		t.Fatalf("key 1 past its share: %d %s", code, body)
	}
	ok(post(k2, "fresh", "x")) // key 2 holds "work" and now "fresh"

	var doc struct {
		Sessions struct {
			Active  int `json:"active"`
			Owners  int `json:"owners"`
			Refused struct {
				OwnerTooMany int `json:"owner_too_many"`
			} `json:"refused"`
			Limits struct {
				PerKey int `json:"max_sessions_per_key"`
			} `json:"limits"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(h.get(t, "/audit"), &doc); err != nil {
		t.Fatal(err)
	}
	if s := doc.Sessions; s.Active != 4 || s.Owners != 2 || s.Refused.OwnerTooMany != 1 || s.Limits.PerKey != 2 {
		t.Fatalf("/audit sessions: %+v", s)
	}
}
