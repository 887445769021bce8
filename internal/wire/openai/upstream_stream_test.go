package openai

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
)

// sseBody joins chunks as "data: ..." events.
func sseBody(chunks ...string) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString("data: " + c + "\n\n")
	}
	return b.String()
}

// got is a delta in comparable form.
type got struct {
	Kind           content.DeltaKind
	Index          int
	Text, ID, Name string
}

func drain(t *testing.T, s *UpstreamStream) ([]got, error) {
	t.Helper()
	var out []got
	for i := 0; i < 10000; i++ {
		d, err := s.Recv()
		if err != nil {
			return out, err
		}
		out = append(out, got{d.Kind, d.Index, string(d.Text.Bytes()), string(d.ToolID.Bytes()), string(d.ToolName.Bytes())})
	}
	t.Fatal("stream never ended")
	return nil, nil
}

func newStream(body string, r *content.Request) *UpstreamStream {
	return NewUpstreamStream(io.NopCloser(strings.NewReader(body)), r)
}

func TestUpstreamStreamText(t *testing.T) {
	body := ": keep-alive comment\n\n" + sseBody(
		`{"id":"c","object":"chat.completion.chunk","model":"gpt-4o-2024","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}],"usage":null}`,
		`{"id":"c","model":"gpt-4o-2024","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null}`,
		`{"id":"c","model":"gpt-4o-2024","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}],"usage":null}`,
		`{"id":"c","model":"gpt-4o-2024","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":null}`,
		`{"id":"c","model":"gpt-4o-2024","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":3}}}`,
		`[DONE]`,
	)
	s := newStream(body, nil)
	deltas, err := drain(t, s)
	if err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
	want := []got{{Kind: content.DeltaText, Index: 0, Text: "Hel"}, {Kind: content.DeltaText, Index: 0, Text: "lo"}}
	if d := cmp.Diff(want, deltas); d != "" {
		t.Errorf("deltas (-want +got):\n%s", d)
	}
	wantSt := logic.Status{Stop: logic.StopMaxTokens, Model: "gpt-4o-2024", Usage: logic.Usage{Input: 9, Output: 2, CacheRead: 3}}
	if d := cmp.Diff(wantSt, s.Status()); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Errorf("Recv after the end: %v", err)
	}
}

func TestUpstreamStreamBlocks(t *testing.T) {
	body := sseBody(
		`{"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Let me ","content":null}}]}`,
		`{"choices":[{"index":0,"delta":{"reasoning":"think.","reasoning_content":"think."}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"Sure."}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"search","arguments":""}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"q\":"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"now","arguments":"{}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"More."}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`[DONE]`,
	)
	s := newStream(body, nil)
	deltas, err := drain(t, s)
	if err != io.EOF {
		t.Fatal(err)
	}
	want := []got{
		{Kind: content.DeltaThinking, Index: 0, Text: "Let me "},
		{Kind: content.DeltaThinking, Index: 0, Text: "think."},
		{Kind: content.DeltaText, Index: 1, Text: "Sure."},
		{Kind: content.DeltaToolCall, Index: 2, ID: "call_a", Name: "search"},
		{Kind: content.DeltaToolArgs, Index: 2, Text: `{"q":`},
		{Kind: content.DeltaToolCall, Index: 3, ID: "call_b", Name: "now"},
		{Kind: content.DeltaToolArgs, Index: 3, Text: `{}`},
		{Kind: content.DeltaToolArgs, Index: 2, Text: `1}`},
		{Kind: content.DeltaText, Index: 4, Text: "More."},
	}
	if d := cmp.Diff(want, deltas); d != "" {
		t.Errorf("deltas (-want +got):\n%s", d)
	}
	if s.Status().Stop != logic.StopToolUse {
		t.Errorf("stop %v", s.Status().Stop)
	}
}

func TestUpstreamStreamToolCallsWithoutIndex(t *testing.T) {
	// Some engines send each call whole, reusing index 0 or omitting it.
	body := sseBody(
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\":1}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"c","function":{"name":"h","arguments":"{"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	) // and no [DONE]: accepted after a finish_reason
	deltas, err := drain(t, newStream(body, nil))
	if err != io.EOF {
		t.Fatal(err)
	}
	want := []got{
		{Kind: content.DeltaToolCall, Index: 0, ID: "a", Name: "f"},
		{Kind: content.DeltaToolArgs, Index: 0, Text: `{"x":1}`},
		{Kind: content.DeltaToolCall, Index: 1, ID: "b", Name: "g"},
		{Kind: content.DeltaToolArgs, Index: 1, Text: `{}`},
		{Kind: content.DeltaToolCall, Index: 2, ID: "c", Name: "h"},
		{Kind: content.DeltaToolArgs, Index: 2, Text: `{`},
		{Kind: content.DeltaToolArgs, Index: 2, Text: `}`},
	}
	if d := cmp.Diff(want, deltas); d != "" {
		t.Errorf("deltas (-want +got):\n%s", d)
	}
}

func TestUpstreamStreamEstimatesUsage(t *testing.T) {
	r := &content.Request{Messages: []content.Message{{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: tx(strings.Repeat("a", 40))}}}}}
	s := newStream(sseBody(
		`{"choices":[{"index":0,"delta":{"content":"12345678"}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`[DONE]`), r)
	if _, err := drain(t, s); err != io.EOF {
		t.Fatal(err)
	}
	want := logic.Status{Stop: logic.StopEnd, Estimated: true, Usage: logic.Usage{Input: 10, Output: 2}}
	if d := cmp.Diff(want, s.Status()); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
	// Nothing at all still counts at least one token each way.
	s = newStream(sseBody(`[DONE]`), nil)
	if _, err := drain(t, s); err != io.EOF {
		t.Fatal(err)
	}
	if u := s.Status().Usage; u.Input != 1 || u.Output != 1 || !s.Status().Estimated || s.Status().Stop != logic.StopEnd {
		t.Errorf("status %+v", s.Status())
	}
}

func TestUpstreamStreamRefusal(t *testing.T) {
	s := newStream(sseBody(
		`{"choices":[{"index":0,"delta":{"refusal":"I can't."}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, `[DONE]`), nil)
	deltas, err := drain(t, s)
	if err != io.EOF || len(deltas) != 1 || deltas[0].Text != "I can't." {
		t.Fatalf("%v %v", deltas, err)
	}
	if s.Status().Stop != logic.StopRefusal {
		t.Errorf("stop %v", s.Status().Stop)
	}
}

func TestUpstreamStreamErrors(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		class logic.ErrorClass // for *StreamError
		err   error            // otherwise
		text  int              // deltas before the error
	}{
		{"in-stream error", sseBody(`{"choices":[{"index":0,"delta":{"content":"a"}}]}`, `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`), logic.ErrUpstream, nil, 1},
		{"in-stream rate limit", sseBody(`{"error":{"message":"slow","type":"requests","code":"rate_limit_exceeded"}}`), logic.ErrRateLimited, nil, 0},
		{"in-stream overload", sseBody(`{"error":{"message":"busy","type":"overloaded_error"}}`), logic.ErrOverloaded, nil, 0},
		{"in-stream context length", sseBody(`{"error":{"message":"long","code":"context_length_exceeded"}}`), logic.ErrInvalidRequest, nil, 0},
		{"cut before finish", sseBody(`{"choices":[{"index":0,"delta":{"content":"a"}}]}`), 0, io.ErrUnexpectedEOF, 1},
		{"empty body", "", 0, io.ErrUnexpectedEOF, 0},
		{"malformed chunk", sseBody(`{"choices":[`), logic.ErrUpstream, nil, 0},
		{"not JSON", sseBody(`hello`), logic.ErrUpstream, nil, 0},
		{"event too long", "data: " + strings.Repeat("x", 5<<20) + "\n\n", logic.ErrUpstream, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(tc.body, nil)
			deltas, err := drain(t, s)
			if len(deltas) != tc.text {
				t.Errorf("%d deltas before the error, want %d", len(deltas), tc.text)
			}
			if tc.err != nil {
				if err != tc.err {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			var se *StreamError
			if !errors.As(err, &se) {
				t.Fatalf("err = %T %v, want *StreamError", err, err)
			}
			if se.Class != tc.class {
				t.Errorf("class %v, want %v", se.Class, tc.class)
			}
			if strings.Contains(se.Error(), "boom") || strings.Contains(se.Error(), "slow") {
				t.Error("Error() carries the backend's message")
			}
			if _, again := s.Recv(); again != err {
				t.Errorf("Recv after an error returned %v", again)
			}
		})
	}
}

func TestUpstreamStreamErrorMessageKept(t *testing.T) {
	_, err := drain(t, newStream(sseBody(`{"error":{"message":"model overloaded \u00e9"}}`), nil))
	var se *StreamError
	if !errors.As(err, &se) || string(se.Msg) != "model overloaded é" {
		t.Fatalf("err %v", err)
	}
}

func TestUpstreamStreamCloseUnblocksRecv(t *testing.T) {
	pr, pw := io.Pipe()
	s := NewUpstreamStream(pr, nil)
	done := make(chan error, 1)
	go func() {
		_, err := s.Recv()
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || err == io.EOF {
			t.Errorf("Recv after Close returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv still blocked after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	pw.Close()
}

func TestParseUpstreamError(t *testing.T) {
	tests := []struct {
		status int
		body   string
		class  logic.ErrorClass
		msg    string
	}{
		{400, `{"error":{"message":"bad thing","type":"invalid_request_error","param":null,"code":null}}`, logic.ErrInvalidRequest, "bad thing"},
		{401, `{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}}`, logic.ErrAuthentication, "Incorrect API key"},
		{404, `{"error":{"message":"no model"}}`, logic.ErrNotFound, "no model"},
		{429, `{"error":{"message":"slow down"}}`, logic.ErrRateLimited, "slow down"},
		{500, `Internal Server Error`, logic.ErrUpstream, "Internal Server Error"},
		{503, `{"error":"plain string"}`, logic.ErrOverloaded, "the backend answered with status 503"},
		{502, `<html>bad gateway</html>`, logic.ErrUpstream, "the backend answered with status 502"},
		{500, ``, logic.ErrUpstream, "the backend answered with status 500"},
		{200, `{"error":{"message":"odd"}}`, logic.ErrUpstream, "odd"},
	}
	for _, tc := range tests {
		class, msg := ParseUpstreamError(tc.status, []byte(tc.body))
		if class != tc.class || string(msg) != tc.msg {
			t.Errorf("ParseUpstreamError(%d, %q) = %v, %q; want %v, %q", tc.status, tc.body, class, msg, tc.class, tc.msg)
		}
	}
	long := strings.Repeat("é", 5000)
	_, msg := ParseUpstreamError(500, []byte(long))
	if len(msg) > maxErrorMessage || !strings.HasPrefix(long, string(msg)) {
		t.Errorf("long message not capped on a rune boundary: %d bytes", len(msg))
	}
}

func FuzzUpstreamStream(f *testing.F) {
	f.Add([]byte(sseBody(`{"choices":[{"index":0,"delta":{"content":"hi"}}]}`, `{"choices":[],"usage":{"prompt_tokens":1}}`, `[DONE]`)))
	f.Add([]byte(sseBody(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":3,"id":"x","function":{"name":"f","arguments":"{"}}]}}]}`, `{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"}"}}]},"finish_reason":"tool_calls"}]}`)))
	f.Add([]byte("data: {\"error\":{\"message\":\"x\"}}\n\n"))
	f.Add([]byte("event: x\ndata: [DONE]\r\n\r\n"))
	f.Add([]byte("data:\ndata: {}\n\n:comment\nretry: 5\n\n"))
	f.Add([]byte("\xff\x00garbage"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := NewUpstreamStream(io.NopCloser(strings.NewReader(string(body))), nil)
		defer s.Close()
		// Each delta needs at least one byte of input, so a stream that
		// yields more deltas than it had bytes (plus slack) is looping.
		for n := 0; ; n++ {
			if n > len(body)+8 {
				t.Fatalf("%d deltas from %d bytes: the stream does not end", n, len(body))
			}
			d, err := s.Recv()
			if err != nil {
				return
			}
			if d.Index < 0 {
				t.Fatalf("negative block index %d", d.Index)
			}
		}
	})
}

// FuzzUpstreamResponse: an arbitrary non-streamed body never panics, and
// its deltas end in io.EOF or an error.
func FuzzUpstreamResponse(f *testing.F) {
	f.Add([]byte(`{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`))
	f.Add([]byte(`{"error":{"message":"no","type":"invalid_request_error"}}`))
	f.Add([]byte(`{"choices":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := NewUpstreamResponse(body, nil)
		for i := 0; ; i++ {
			if i > len(body)+2 {
				t.Fatal("more deltas than body bytes")
			}
			if _, err := s.Recv(); err != nil {
				return
			}
		}
	})
}

// Every name engines give reasoning becomes thinking, never text, in a
// stream and in a whole reply: reasoning_content, reasoning, and Ollama's
// thinking.
func TestUpstreamReasoningNames(t *testing.T) {
	for _, field := range []string{"reasoning_content", "reasoning", "thinking"} {
		body := sseBody(
			`{"choices":[{"index":0,"delta":{"role":"assistant","`+field+`":"hmm"}}]}`,
			`{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`,
			`[DONE]`,
		)
		deltas, err := drain(t, newStream(body, nil))
		if err != io.EOF {
			t.Fatal(err)
		}
		want := []got{{Kind: content.DeltaThinking, Index: 0, Text: "hmm"}, {Kind: content.DeltaText, Index: 1, Text: "ok"}}
		if d := cmp.Diff(want, deltas); d != "" {
			t.Errorf("%s, streamed (-want +got):\n%s", field, d)
		}
		whole := NewUpstreamResponse([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","`+field+`":"hmm","content":"ok"},"finish_reason":"stop"}]}`), nil)
		deltas, err = drain(t, whole)
		if err != io.EOF {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, deltas); d != "" {
			t.Errorf("%s, whole reply (-want +got):\n%s", field, d)
		}
	}
}
