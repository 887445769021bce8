package anthropic

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire/sse"
)

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func sseBody(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		name, _, _ := strings.Cut(e, "|")
		_, data, _ := strings.Cut(e, "|")
		b.WriteString("event: " + name + "\ndata: " + data + "\n\n")
	}
	return b.String()
}

// drain reads s to the end and returns the deltas and the final error.
func drain(s *UpstreamStream) ([]content.Delta, error) {
	var out []content.Delta
	for {
		d, err := s.Recv()
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
}

type flat struct {
	Kind           content.DeltaKind
	Index          int
	Text, ID, Name string
}

func flatten(ds []content.Delta) []flat {
	var out []flat
	for _, d := range ds {
		out = append(out, flat{d.Kind, d.Index, str(d.Text), str(d.ToolID), str(d.ToolName)})
	}
	return out
}

func TestUpstreamStream(t *testing.T) {
	body := sseBody(
		`message_start|{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-real","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_read_input_tokens":4,"cache_creation_input_tokens":2,"output_tokens":1}}}`,
		`ping|{"type":"ping"}`,
		`content_block_start|{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
		`content_block_delta|{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`,
		`content_block_delta|{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}`,
		`content_block_stop|{"type":"content_block_stop","index":0}`,
		// A block type the relay does not carry, then an empty text block: neither leaves a gap.
		`content_block_start|{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"xx"}}`,
		`content_block_stop|{"type":"content_block_stop","index":1}`,
		`content_block_start|{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}`,
		`content_block_stop|{"type":"content_block_stop","index":2}`,
		`content_block_start|{"type":"content_block_start","index":3,"content_block":{"type":"text","text":""}}`,
		`content_block_delta|{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"Hi \u00e9\n"}}`,
		`content_block_delta|{"type":"content_block_delta","index":3,"delta":{"type":"citations_delta","citation":{}}}`,
		`content_block_delta|{"type":"content_block_delta","index":3,"delta":{"type":"future_delta","x":1}}`,
		`future_event|{"type":"future_event"}`,
		`content_block_stop|{"type":"content_block_stop","index":3}`,
		`content_block_start|{"type":"content_block_start","index":4,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}`,
		`content_block_delta|{"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":""}}`,
		`content_block_delta|{"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`,
		`content_block_delta|{"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"1}"}}`,
		`content_block_stop|{"type":"content_block_stop","index":4}`,
		`message_delta|{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":42}}`,
		`message_stop|{"type":"message_stop"}`,
		`content_block_start|{"type":"content_block_start","index":9,"content_block":{"type":"text","text":"after stop"}}`,
	)
	rc := &closeCounter{Reader: strings.NewReader(body)}
	s := NewUpstreamStream(rc, &content.Request{})
	ds, err := drain(s)
	if err != io.EOF {
		t.Fatalf("end error %v", err)
	}
	want := []flat{
		{content.DeltaThinking, 0, "hmm", "", ""},
		{content.DeltaSignature, 0, "sig", "", ""},
		{content.DeltaText, 1, "Hi é\n", "", ""},
		{content.DeltaToolCall, 2, "", "toolu_1", "f"},
		{content.DeltaToolArgs, 2, `{"a":`, "", ""},
		{content.DeltaToolArgs, 2, "1}", "", ""},
	}
	got := flatten(ds)
	if len(got) != len(want) {
		t.Fatalf("deltas %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("delta %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	st := s.Status()
	wantSt := logic.Status{Model: "claude-real", Stop: logic.StopToolUse, Usage: logic.Usage{Input: 16, CacheRead: 4, CacheWrite: 2, Output: 42}}
	if st != wantSt {
		t.Errorf("status %+v, want %+v", st, wantSt)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Errorf("Recv after end: %v", err)
	}
	_ = s.Close()
	_ = s.Close()
	if rc.closed != 1 {
		t.Errorf("body closed %d times", rc.closed)
	}
}

func TestUpstreamStreamStopSequence(t *testing.T) {
	body := sseBody(
		`message_start|{"type":"message_start","message":{"model":"m","usage":{"input_tokens":3}}}`,
		`message_delta|{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"B"},"usage":{"input_tokens":5,"output_tokens":2}}`,
		`message_stop|{"type":"message_stop"}`,
	)
	r := &content.Request{Stop: []content.Text{content.FromString("A"), content.FromString("B")}}
	s := NewUpstreamStream(io.NopCloser(strings.NewReader(body)), r)
	if _, err := drain(s); err != io.EOF {
		t.Fatal(err)
	}
	if st := s.Status(); st.Stop != logic.StopSequence || st.StopSequence != 2 || st.Usage.Input != 5 || st.Usage.Output != 2 {
		t.Errorf("status %+v", st)
	}
}

func TestUpstreamStreamStopReasons(t *testing.T) {
	for reason, want := range map[string]logic.StopReason{
		"end_turn": logic.StopEnd, "max_tokens": logic.StopMaxTokens, "tool_use": logic.StopToolUse,
		"refusal": logic.StopRefusal, "pause_turn": logic.StopEnd, "something_new": logic.StopUnknown,
	} {
		body := sseBody(`message_delta|{"type":"message_delta","delta":{"stop_reason":"`+reason+`"},"usage":{"output_tokens":1}}`, `message_stop|{"type":"message_stop"}`)
		s := NewUpstreamStream(io.NopCloser(strings.NewReader(body)), nil)
		if _, err := drain(s); err != io.EOF {
			t.Fatal(err)
		}
		if got := s.Status().Stop; got != want {
			t.Errorf("%s: stop %v, want %v", reason, got, want)
		}
	}
}

func TestUpstreamStreamFailures(t *testing.T) {
	start := `message_start|{"type":"message_start","message":{"model":"m","usage":{"input_tokens":3}}}`
	text := `content_block_start|{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`
	delta := `content_block_delta|{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`
	tests := []struct {
		name   string
		body   string
		deltas int
		check  func(error) bool
	}{
		{"error event", sseBody(start, text, delta, `error|{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`), 1, func(err error) bool {
			var se *StreamError
			return errors.As(err, &se) && se.Class == logic.ErrOverloaded && string(se.Msg) == "Overloaded"
		}},
		{"error event, bad JSON", sseBody(start, `error|nope`), 0, func(err error) bool {
			var se *StreamError
			return errors.As(err, &se) && se.Class == logic.ErrUpstream
		}},
		{"cut", sseBody(start, text, delta, delta), 2, func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"cut mid event", sseBody(start, text, delta) + "event: content_block_delta\n", 1, func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"empty", "", 0, func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"bad JSON", sseBody(start, `content_block_delta|{"type":`), 0, func(err error) bool { return err == ErrMalformed }},
		{"start without index", sseBody(start, `content_block_start|{"type":"content_block_start","content_block":{"type":"text"}}`), 0, func(err error) bool { return err == ErrMalformed }},
		{"duplicate start", sseBody(start, text, text), 0, func(err error) bool { return err == ErrMalformed }},
		{"too long", "data: " + strings.Repeat("x", sse.MaxEventBytes+10) + "\n\n", 0, func(err error) bool { return err == sse.ErrTooLong }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewUpstreamStream(io.NopCloser(strings.NewReader(tc.body)), nil)
			ds, err := drain(s)
			if len(ds) != tc.deltas {
				t.Errorf("got %d deltas, want %d", len(ds), tc.deltas)
			}
			if !tc.check(err) {
				t.Errorf("error %v", err)
			}
			if _, again := s.Recv(); again != err {
				t.Errorf("error not sticky: %v then %v", err, again)
			}
		})
	}
}

func TestStreamErrorKeepsMessageOut(t *testing.T) {
	e := &StreamError{Class: logic.ErrOverloaded, Msg: []byte("secret prompt echo")}
	if strings.Contains(e.Error(), "secret") {
		t.Errorf("Error() = %q leaks the message", e.Error())
	}
}

func TestUpstreamStreamWaitStart(t *testing.T) {
	start := `message_start|{"type":"message_start","message":{"model":"m","usage":{"input_tokens":7}}}`
	text := `content_block_start|{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"hi"}}`
	s := NewUpstreamStream(io.NopCloser(strings.NewReader(sseBody(`ping|{"type":"ping"}`, start, text, `message_stop|{"type":"message_stop"}`))), nil)
	if err := s.WaitStart(); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.Model != "m" || st.Usage.Input != 7 {
		t.Errorf("status after WaitStart %+v", st)
	}
	ds, err := drain(s)
	if err != io.EOF || len(ds) != 1 || str(ds[0].Text) != "hi" {
		t.Errorf("after WaitStart: %d deltas, %v", len(ds), err)
	}

	s = NewUpstreamStream(io.NopCloser(strings.NewReader(sseBody(`error|{"type":"error","error":{"type":"overloaded_error","message":"busy"}}`))), nil)
	var se *StreamError
	if err := s.WaitStart(); !errors.As(err, &se) || se.Class != logic.ErrOverloaded {
		t.Errorf("error first: %v", err)
	}
	s = NewUpstreamStream(io.NopCloser(strings.NewReader("")), nil)
	if err := s.WaitStart(); err != io.ErrUnexpectedEOF {
		t.Errorf("empty: %v", err)
	}
}
