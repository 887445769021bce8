package anthropic_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	anthropic "github.com/inference-relay/relay/internal/provider/anthropic"
	"github.com/inference-relay/relay/internal/secret"
	standin "github.com/inference-relay/relay/internal/standin/anthropic"
)

func client() *http.Client { return egress.New(egress.LoopbackOnly).HTTPClient() }

// setup starts a stand-in and a provider pointed at it.
func setup(t *testing.T, o standin.Options) (*anthropic.Provider, *standin.Server) {
	t.Helper()
	s := standin.New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	p, err := anthropic.New(anthropic.Config{Name: "anthropic", BaseURL: srv.URL, APIKey: secret.FromString(o.APIKey), Client: client()})
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

func userText(s string) *content.Request {
	return &content.Request{Messages: []content.Message{{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: content.FromString(s)}}}}}
}

func target(model string) logic.Target { return logic.Target{Provider: "anthropic", Model: model} }

func str(t content.Text) string { return string(t.Bytes()) }

func TestNewValidates(t *testing.T) {
	ok := []string{"", "https://api.anthropic.com", "https://proxy.example/anthropic/", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"}
	for _, u := range ok {
		if _, err := anthropic.New(anthropic.Config{BaseURL: u, Client: client()}); err != nil {
			t.Errorf("%q refused: %v", u, err)
		}
	}
	bad := []string{"http://api.anthropic.com", "http://10.0.0.1", "ftp://x", "https://user:pw@x", "https://x/?q=1", "not a url", "/relative"}
	for _, u := range bad {
		if _, err := anthropic.New(anthropic.Config{BaseURL: u, Client: client()}); err == nil {
			t.Errorf("%q accepted", u)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("error echoes credentials: %v", err)
		}
	}
	if _, err := anthropic.New(anthropic.Config{}); err == nil {
		t.Error("missing client accepted")
	}
}

func TestStreamText(t *testing.T) {
	p, s := setup(t, standin.Options{APIKey: "sk-test"})
	r := userText("hello big world")
	r.System = []content.Text{content.FromString("be kind")}
	st, err := p.Stream(context.Background(), target("claude-standin"), logic.Params{MaxTokens: 50}, r)
	if err != nil {
		t.Fatal(err)
	}
	if early := st.Status(); early.Model != "claude-standin" || early.Usage.Input != 5 {
		t.Errorf("status before the first delta %+v", early)
	}
	var got []string
	for {
		d, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d.Kind != content.DeltaText || d.Index != 0 {
			t.Fatalf("delta kind %d index %d", d.Kind, d.Index)
		}
		got = append(got, str(d.Text))
	}
	if strings.Join(got, "|") != "echo:| hello| big| world" {
		t.Errorf("deltas %q", got)
	}
	status := st.Status()
	want := logic.Status{Model: "claude-standin", Stop: logic.StopEnd, Usage: logic.Usage{Input: 5, Output: 4}}
	if status != want {
		t.Errorf("status %+v, want %+v", status, want)
	}
	_ = st.Close()
	if !strings.Contains(string(s.LastRequest()), `"stream":true`) {
		t.Errorf("request %s", s.LastRequest())
	}
}

func TestStopSequenceAndMaxTokens(t *testing.T) {
	p, _ := setup(t, standin.Options{})
	r := userText("one two three four")
	r.Stop = []content.Text{content.FromString("nope"), content.FromString("three")}
	msg, st, err := provider.Collect(mustStream(t, p, "claude-standin", logic.Params{}, r))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stop != logic.StopSequence || st.StopSequence != 2 || str(msg.Parts[0].Text) != "echo: one two " {
		t.Errorf("stop sequence: %+v %q", st, str(msg.Parts[0].Text))
	}
	_, st, err = provider.Collect(mustStream(t, p, "claude-standin", logic.Params{MaxTokens: 2}, userText("a b c d")))
	if err != nil || st.Stop != logic.StopMaxTokens || st.Usage.Output != 2 {
		t.Errorf("max tokens: %+v %v", st, err)
	}
}

func mustStream(t *testing.T, p *anthropic.Provider, model string, params logic.Params, r *content.Request) provider.Stream {
	t.Helper()
	st, err := p.Stream(context.Background(), target(model), params, r)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestToolCallRoundTrip(t *testing.T) {
	p, s := setup(t, standin.Options{})
	r := userText("find cats")
	r.Tools = []content.Tool{{Name: content.FromString("lookup"), Description: content.FromString("d"), Schema: content.FromString(`{"type":"object"}`)}}
	msg, st, err := provider.Collect(mustStream(t, p, "claude-standin", logic.Params{}, r))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stop != logic.StopToolUse || len(msg.Parts) != 1 {
		t.Fatalf("status %+v parts %d", st, len(msg.Parts))
	}
	call := msg.Parts[0]
	if call.Kind != content.PartToolCall || str(call.ToolName) != "lookup" || str(call.Args) != `{"query":"find cats"}` || !strings.HasPrefix(str(call.ToolID), "toolu_") {
		t.Errorf("call %q %q %q", str(call.ToolID), str(call.ToolName), str(call.Args))
	}
	// Send the result back, OpenAI-style as a separate user message.
	r.Messages = append(r.Messages, msg, content.Message{Role: content.RoleUser, Parts: []content.Part{
		{Kind: content.PartToolResult, ToolID: call.ToolID, Text: content.FromString("two cats")},
	}})
	msg, st, err = provider.Collect(mustStream(t, p, "claude-standin", logic.Params{}, r))
	if err != nil {
		t.Fatal(err)
	}
	if str(msg.Parts[0].Text) != "tool said: two cats" || st.Stop != logic.StopEnd {
		t.Errorf("after the tool: %q %+v", str(msg.Parts[0].Text), st)
	}
	if !strings.Contains(string(s.LastRequest()), `"tool_use_id":"`+str(call.ToolID)+`"`) {
		t.Errorf("request %s", s.LastRequest())
	}
}

func TestFailures(t *testing.T) {
	p, _ := setup(t, standin.Options{})
	tests := []struct {
		model     string
		class     logic.ErrorClass
		status    int
		retryable bool
	}{
		{"fail-400", logic.ErrInvalidRequest, 400, false},
		{"fail-401", logic.ErrAuthentication, 401, false},
		{"fail-404", logic.ErrNotFound, 404, false},
		{"fail-429", logic.ErrRateLimited, 429, true},
		{"fail-500", logic.ErrUpstream, 502, true},
		{"fail-529", logic.ErrOverloaded, 529, true},
	}
	for _, tc := range tests {
		_, err := p.Stream(context.Background(), target(tc.model), logic.Params{}, userText("x"))
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %v", tc.model, err)
		}
		if pe.Class != tc.class || pe.HTTPStatus() != tc.status || pe.Retryable != tc.retryable || !strings.Contains(str(pe.Detail), "stand-in failure") {
			t.Errorf("%s: class %v status %d retryable %v detail %q", tc.model, pe.Class, pe.HTTPStatus(), pe.Retryable, str(pe.Detail))
		}
		if strings.Contains(pe.Error(), "stand-in") {
			t.Errorf("%s: Error() leaks the detail", tc.model)
		}
	}
}

// An error the API sends as the first event of a 200 stream fails Stream
// itself, so that the router can still try another backend.
func TestErrorEventBeforeContent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
	}))
	defer srv.Close()
	p, _ := anthropic.New(anthropic.Config{BaseURL: srv.URL, Client: client()})
	_, err := p.Stream(context.Background(), target("m"), logic.Params{}, userText("x"))
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Class != logic.ErrOverloaded || !pe.Retryable || str(pe.Detail) != "Overloaded" {
		t.Errorf("error %v", err)
	}
}

func TestWrongKey(t *testing.T) {
	s := standin.New(standin.Options{APIKey: "right"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	p, _ := anthropic.New(anthropic.Config{BaseURL: srv.URL, APIKey: secret.FromString("wrong"), Client: client()})
	_, err := p.Stream(context.Background(), target("m"), logic.Params{}, userText("x"))
	if pe := provider.AsError(err); pe == nil || pe.Class != logic.ErrAuthentication {
		t.Errorf("wrong key: %v", err)
	}
}

func TestMidstreamFailures(t *testing.T) {
	p, _ := setup(t, standin.Options{})
	for model, class := range map[string]logic.ErrorClass{"midstream-error": logic.ErrOverloaded, "cut": logic.ErrUpstream} {
		msg, _, err := provider.Collect(mustStream(t, p, model, logic.Params{}, userText("a b c")))
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Class != class || !pe.Retryable {
			t.Errorf("%s: %v", model, err)
		}
		if len(msg.Parts) != 1 || msg.Parts[0].Text.IsEmpty() {
			t.Errorf("%s: the deltas before the failure were lost", model)
		}
	}
}

func TestHangCancel(t *testing.T) {
	p, s := setup(t, standin.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	// The upstream never answers: Stream returning at all is the cancel
	// working (a hung Stream fails the test at its timeout).
	_, err := p.Stream(ctx, target("hang"), logic.Params{}, userText("x"))
	if pe := provider.AsError(err); pe == nil || pe.Class != logic.ErrCanceled {
		t.Errorf("error %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Canceled() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Canceled() != 1 {
		t.Errorf("stand-in saw %d cancels", s.Canceled())
	}
}

// Canceling while the reply streams stops Recv and reaches the upstream.
func TestCancelMidStream(t *testing.T) {
	p, s := setup(t, standin.Options{TokenDelay: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := p.Stream(ctx, target("claude-standin"), logic.Params{}, userText("a b c d e f g h i j k l m n o p"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		if _, err = st.Recv(); err != nil {
			break
		}
	}
	if pe := provider.AsError(err); pe.Class != logic.ErrCanceled {
		t.Errorf("error after cancel: %v", err)
	}
	_ = st.Close()
	deadline := time.Now().Add(2 * time.Second)
	for s.Canceled() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Canceled() != 1 {
		t.Errorf("stand-in saw %d cancels", s.Canceled())
	}
}

func TestCountTokensAndModels(t *testing.T) {
	p, s := setup(t, standin.Options{Models: []string{"claude-a", "claude-b"}})
	r := userText("one two three")
	r.System = []content.Text{content.FromString("sys")}
	n, err := p.CountTokens(context.Background(), target("claude-a"), logic.Params{MaxTokens: 5}, r)
	if err != nil || n != 4 {
		t.Errorf("count tokens %d %v", n, err)
	}
	if body := string(s.LastRequest()); strings.Contains(body, "max_tokens") || strings.Contains(body, "stream") {
		t.Errorf("count_tokens body carries sampling fields: %s", body)
	}
	if _, err := p.CountTokens(context.Background(), target("fail-429"), logic.Params{}, r); provider.AsError(err).Class != logic.ErrRateLimited {
		t.Errorf("count tokens failure: %v", err)
	}
	ids, err := p.Models(context.Background())
	if err != nil || strings.Join(ids, ",") != "claude-a,claude-b" {
		t.Errorf("models %v %v", ids, err)
	}
}

// Models follows has_more pages.
func TestModelsPaging(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("after_id") {
		case "":
			_, _ = io.WriteString(w, `{"data":[{"id":"a"},{"id":"b"}],"has_more":true,"last_id":"b"}`)
		case "b":
			_, _ = io.WriteString(w, `{"data":[{"id":"c"}],"has_more":false,"last_id":"c"}`)
		}
	}))
	defer srv.Close()
	p, _ := anthropic.New(anthropic.Config{BaseURL: srv.URL, Client: client()})
	ids, err := p.Models(context.Background())
	if err != nil || strings.Join(ids, ",") != "a,b,c" {
		t.Errorf("models %v %v", ids, err)
	}
}

// The request carries the key and version headers, and the transport
// closes its body (which zeroes it: see TestWipingReader).
func TestHeadersAndBodyWipe(t *testing.T) {
	var mu sync.Mutex
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hdr = r.Header.Clone()
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	}))
	defer srv.Close()
	var seen []*recordingBody
	c := client()
	base := c.Transport
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rb := &recordingBody{ReadCloser: r.Body}
		seen = append(seen, rb)
		r.Body = rb
		return base.RoundTrip(r)
	})
	p, _ := anthropic.New(anthropic.Config{BaseURL: srv.URL, APIKey: secret.FromString("sk-123"), Version: "2099-01-01", Client: c})
	if _, _, err := provider.Collect(mustStream(t, p, "m", logic.Params{}, userText("a secret prompt"))); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hdr.Get("x-api-key") != "sk-123" || hdr.Get("anthropic-version") != "2099-01-01" || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", hdr)
	}
	if len(seen) != 1 || !seen[0].isClosed() || !strings.Contains(seen[0].String(), "a secret prompt") {
		t.Fatalf("body not read or not closed")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type recordingBody struct {
	io.ReadCloser
	mu     sync.Mutex
	read   strings.Builder
	closed bool
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	b.read.Write(p[:n])
	b.mu.Unlock()
	return n, err
}

func (b *recordingBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.ReadCloser.Close()
}

func (b *recordingBody) isClosed() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.closed }
func (b *recordingBody) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.read.String() }
