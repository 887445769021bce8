package openai

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/secret"
	standin "github.com/inference-relay/relay/internal/standin/openai"
)

func tx(s string) content.Text { return content.FromString(s) }

func userRequest(text string) *content.Request {
	return &content.Request{Messages: []content.Message{{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: tx(text)}}}}}
}

func newStandin(t *testing.T, o standin.Options) (*standin.Server, *Provider) {
	t.Helper()
	s := standin.New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	p, err := New(Config{Name: "standin", BaseURL: srv.URL + "/v1", APIKey: secret.FromString(o.APIKey), Client: egress.New(egress.LoopbackOnly).HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

type delta struct {
	Kind           content.DeltaKind
	Index          int
	Text, ID, Name string
}

func recvAll(t *testing.T, s provider.Stream) ([]delta, error) {
	t.Helper()
	var out []delta
	for {
		d, err := s.Recv()
		if err != nil {
			return out, err
		}
		out = append(out, delta{d.Kind, d.Index, string(d.Text.Bytes()), string(d.ToolID.Bytes()), string(d.ToolName.Bytes())})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	hc := egress.New(nil).HTTPClient()
	for _, tc := range []struct {
		url  string
		want error
	}{
		{"https://api.openai.com/v1", nil},
		{"http://127.0.0.1:11434/v1", nil},
		{"http://localhost:8080/v1/", nil},
		{"http://[::1]:8000/v1", nil},
		{"http://api.openai.com/v1", ErrPlainHTTP},
		{"http://10.0.0.5:11434/v1", ErrPlainHTTP},
		{"ftp://example.com/v1", ErrBadURL},
		{"https://user:pass@example.com/v1", ErrBadURL},
		{"https://example.com/v1?x=1", ErrBadURL},
		{"/v1", ErrBadURL},
		{"", ErrBadURL},
	} {
		_, err := New(Config{Name: "n", BaseURL: tc.url, Client: hc})
		if err != tc.want {
			t.Errorf("New(%q) = %v, want %v", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pass") {
			t.Errorf("error echoes the URL: %v", err)
		}
	}
	if _, err := New(Config{Name: "n", BaseURL: "https://a.example"}); err != ErrNoClient {
		t.Errorf("no client: %v", err)
	}
	if _, err := New(Config{BaseURL: "https://a.example", Client: hc}); err != ErrNoName {
		t.Errorf("no name: %v", err)
	}
}

func TestStreamText(t *testing.T) {
	s, p := newStandin(t, standin.Options{APIKey: "sk-test"})
	st, err := p.Stream(context.Background(), logic.Target{Provider: "standin", Model: "gpt-standin"}, logic.Params{Stream: true}, userRequest("hello big world"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deltas, err := recvAll(t, st)
	if err != io.EOF {
		t.Fatalf("err %v", err)
	}
	want := []string{"echo:", " hello", " big", " world"}
	if len(deltas) != len(want) {
		t.Fatalf("deltas %+v", deltas)
	}
	for i, d := range deltas {
		if d.Kind != content.DeltaText || d.Index != 0 || d.Text != want[i] {
			t.Errorf("delta %d = %+v, want text %q at block 0", i, d, want[i])
		}
	}
	status := st.Status()
	if status.Stop != logic.StopEnd || status.Usage.Input != 3 || status.Usage.Output != 4 || status.Estimated || status.Model != "gpt-standin" {
		t.Errorf("status %+v", status)
	}
	// The request on the wire: streamed, with usage asked for.
	last := string(s.LastRequest())
	for _, frag := range []string{`"stream":true`, `"include_usage":true`, `"model":"gpt-standin"`} {
		if !strings.Contains(last, frag) {
			t.Errorf("request lacks %s: %s", frag, last)
		}
	}
}

func TestStreamToolCallRoundTrip(t *testing.T) {
	_, p := newStandin(t, standin.Options{})
	target := logic.Target{Provider: "standin", Model: "gpt-standin"}
	r := userRequest("find cats")
	r.Tools = []content.Tool{{Name: tx("search"), Description: tx("Search."), Schema: tx(`{"type":"object","properties":{"query":{"type":"string"}}}`)}}
	st, err := p.Stream(context.Background(), target, logic.Params{Stream: true}, r)
	if err != nil {
		t.Fatal(err)
	}
	deltas, err := recvAll(t, st)
	st.Close()
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(deltas) < 3 || deltas[0].Kind != content.DeltaToolCall || deltas[0].Name != "search" || !strings.HasPrefix(deltas[0].ID, "call_") {
		t.Fatalf("deltas %+v", deltas)
	}
	var args string
	for _, d := range deltas[1:] {
		if d.Kind != content.DeltaToolArgs || d.Index != deltas[0].Index {
			t.Fatalf("delta %+v", d)
		}
		args += d.Text
	}
	if args != `{"query":"find cats"}` {
		t.Errorf("args %s", args)
	}
	if st.Status().Stop != logic.StopToolUse {
		t.Errorf("stop %v", st.Status().Stop)
	}

	// Send the result back: assistant call + user turn with the result.
	r.Messages = append(r.Messages,
		content.Message{Role: content.RoleAssistant, Parts: []content.Part{{Kind: content.PartToolCall, ToolID: tx(deltas[0].ID), ToolName: tx("search"), Args: tx(args)}}},
		content.Message{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartToolResult, ToolID: tx(deltas[0].ID), Text: tx("three cats")}}},
	)
	st, err = p.Stream(context.Background(), target, logic.Params{Stream: true}, r)
	if err != nil {
		t.Fatal(err)
	}
	msg, status, err := provider.Collect(st)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Parts) != 1 || string(msg.Parts[0].Text.Bytes()) != "tool said: three cats" || status.Stop != logic.StopEnd {
		t.Errorf("reply %q, stop %v", msg.Parts[0].Text.Bytes(), status.Stop)
	}
}

func TestStreamLimits(t *testing.T) {
	_, p := newStandin(t, standin.Options{})
	target := logic.Target{Provider: "standin", Model: "gpt-standin"}
	st, err := p.Stream(context.Background(), target, logic.Params{MaxTokens: 2}, userRequest("a b c"))
	if err != nil {
		t.Fatal(err)
	}
	msg, status, err := provider.Collect(st)
	if err != nil || string(msg.Parts[0].Text.Bytes()) != "echo: a" || status.Stop != logic.StopMaxTokens {
		t.Errorf("max tokens: %q %+v %v", msg.Parts[0].Text.Bytes(), status, err)
	}
	r := userRequest("a b END c")
	r.Stop = []content.Text{tx(" END")}
	st, err = p.Stream(context.Background(), target, logic.Params{Stream: true}, r)
	if err != nil {
		t.Fatal(err)
	}
	msg, status, err = provider.Collect(st)
	if err != nil || string(msg.Parts[0].Text.Bytes()) != "echo: a b" || status.Stop != logic.StopEnd {
		t.Errorf("stop: %q %+v %v", msg.Parts[0].Text.Bytes(), status, err)
	}
}

func TestStreamFailures(t *testing.T) {
	_, p := newStandin(t, standin.Options{})
	for _, tc := range []struct {
		model     string
		class     logic.ErrorClass
		retryable bool
	}{
		{"fail-400", logic.ErrInvalidRequest, false},
		{"fail-401", logic.ErrAuthentication, false},
		{"fail-404", logic.ErrNotFound, false},
		{"fail-429", logic.ErrRateLimited, true},
		{"fail-500", logic.ErrUpstream, true},
		{"fail-503", logic.ErrOverloaded, true},
	} {
		st, err := p.Stream(context.Background(), logic.Target{Model: tc.model}, logic.Params{Stream: true}, userRequest("x"))
		if st != nil {
			t.Errorf("%s: got a stream", tc.model)
		}
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Fatalf("%s: err %T %v", tc.model, err, err)
		}
		if pe.Class != tc.class || pe.Retryable != tc.retryable || pe.HTTPStatus() != tc.class.HTTPStatus() || pe.Detail.IsEmpty() {
			t.Errorf("%s: %v retryable=%v status=%d detail=%d bytes", tc.model, pe.Class, pe.Retryable, pe.HTTPStatus(), pe.Detail.Len())
		}
	}
}

func TestAuthorization(t *testing.T) {
	s := standin.New(standin.Options{APIKey: "sk-right"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	hc := egress.New(egress.LoopbackOnly).HTTPClient()
	for key, wantErr := range map[string]bool{"sk-right": false, "sk-wrong": true, "": true} {
		p, err := New(Config{Name: "x", BaseURL: srv.URL + "/v1", APIKey: secret.FromString(key), Client: hc})
		if err != nil {
			t.Fatal(err)
		}
		st, err := p.Stream(context.Background(), logic.Target{Model: "gpt-standin"}, logic.Params{Stream: true}, userRequest("x"))
		if wantErr {
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Class != logic.ErrAuthentication {
				t.Errorf("key %q: err %v", key, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("key %q: %v", key, err)
			continue
		}
		st.Close()
	}
}

func TestHangCancel(t *testing.T) {
	s, p := newStandin(t, standin.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	// The upstream never answers: Stream returning at all is the cancel
	// working (a hung Stream fails the test at its timeout).
	_, err := p.Stream(ctx, logic.Target{Model: "hang"}, logic.Params{Stream: true}, userRequest("x"))
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Class != logic.ErrCanceled {
		t.Fatalf("err %v", err)
	}
	waitFor(t, func() bool { return s.Canceled() == 1 })
}

func TestCancelMidStream(t *testing.T) {
	s, p := newStandin(t, standin.Options{TokenDelay: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := p.Stream(ctx, logic.Target{Model: "gpt-standin"}, logic.Params{Stream: true}, userRequest("a b c d e f g h i j"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = recvAll(t, st)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Class != logic.ErrCanceled {
		t.Fatalf("err %v", err)
	}
	waitFor(t, func() bool { return s.Canceled() == 1 })
}

func TestMidstreamErrorAndCut(t *testing.T) {
	_, p := newStandin(t, standin.Options{})
	for _, model := range []string{"midstream-error", "cut"} {
		st, err := p.Stream(context.Background(), logic.Target{Model: model}, logic.Params{Stream: true}, userRequest("a b c d"))
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		deltas, err := recvAll(t, st)
		st.Close()
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Class != logic.ErrUpstream || pe.Detail.IsEmpty() {
			t.Errorf("%s: err %v", model, err)
		}
		if len(deltas) != 1 || deltas[0].Text != "echo:" {
			t.Errorf("%s: deltas before the failure %+v", model, deltas)
		}
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(standin.New(standin.Options{}))
	url := srv.URL
	srv.Close()
	p, err := New(Config{Name: "x", BaseURL: url + "/v1", Client: egress.New(egress.LoopbackOnly).HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Stream(context.Background(), logic.Target{Model: "m"}, logic.Params{Stream: true}, userRequest("x"))
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Class != logic.ErrUpstream || !pe.Retryable {
		t.Errorf("err %v", err)
	}
}

func TestModels(t *testing.T) {
	_, p := newStandin(t, standin.Options{Models: []string{"m1", "m2"}, APIKey: "k"})
	got, err := p.Models(context.Background())
	if err != nil || strings.Join(got, ",") != "m1,m2" {
		t.Errorf("models %v %v", got, err)
	}
}

// TestRequestBodyWiped checks that the encoded request is zeroed once the
// transport has written it.
func TestRequestBodyWiped(t *testing.T) {
	var mu sync.Mutex
	var sent []byte
	encode = func(tg logic.Target, pa logic.Params, r *content.Request) ([]byte, error) {
		b, err := encodeFor(tg, pa, r)
		mu.Lock()
		sent = b
		mu.Unlock()
		return b, err
	}
	defer func() { encode = encodeFor }()

	s, p := newStandin(t, standin.Options{})
	st, err := p.Stream(context.Background(), logic.Target{Model: "gpt-standin"}, logic.Params{Stream: true}, userRequest("very private words"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := provider.Collect(st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s.LastRequest()), "very private words") {
		t.Fatal("the stand-in did not get the request")
	}
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range sent {
			if c != 0 {
				return false
			}
		}
		return len(sent) > 0
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestUnaryReply: a client that does not stream gets its reply from a
// non-streamed upstream request, as the same deltas a stream would give.
func TestUnaryReply(t *testing.T) {
	s, p := newStandin(t, standin.Options{})
	st, err := p.Stream(context.Background(), logic.Target{Model: "gpt-standin"}, logic.Params{}, userRequest("hello big world"))
	if err != nil {
		t.Fatal(err)
	}
	deltas, err := recvAll(t, st)
	st.Close()
	if err != io.EOF || len(deltas) != 1 || deltas[0].Kind != content.DeltaText || deltas[0].Text != "echo: hello big world" {
		t.Fatalf("deltas %+v, err %v", deltas, err)
	}
	if status := st.Status(); status.Stop != logic.StopEnd || status.Usage.Input != 3 || status.Usage.Output != 4 || status.Estimated {
		t.Errorf("status %+v", status)
	}
	if last := string(s.LastRequest()); !strings.Contains(last, `"stream":false`) || strings.Contains(last, "include_usage") {
		t.Errorf("request on the wire: %s", last)
	}

	// A tool call in one piece.
	r := userRequest("find cats")
	r.Tools = []content.Tool{{Name: content.FromString("search"), Schema: content.FromString(`{"type":"object"}`)}}
	st, err = p.Stream(context.Background(), logic.Target{Model: "gpt-standin"}, logic.Params{}, r)
	if err != nil {
		t.Fatal(err)
	}
	deltas, err = recvAll(t, st)
	st.Close()
	if err != io.EOF || len(deltas) != 2 || deltas[0].Kind != content.DeltaToolCall || deltas[0].Name != "search" || deltas[1].Text != `{"query":"find cats"}` {
		t.Fatalf("tool deltas %+v, err %v", deltas, err)
	}
	if st.Status().Stop != logic.StopToolUse {
		t.Errorf("stop %v", st.Status().Stop)
	}

	// An upstream error status is still an error.
	if _, err := p.Stream(context.Background(), logic.Target{Model: "fail-500"}, logic.Params{}, userRequest("x")); err == nil {
		t.Fatal("fail-500 succeeded")
	}
}
