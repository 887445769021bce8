package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire/sse"
)

func text(i int, s string) content.Delta {
	return content.Delta{Kind: content.DeltaText, Index: i, Text: content.FromString(s)}
}

func TestStreamWriterSequence(t *testing.T) {
	rec := httptest.NewRecorder()
	s := NewStreamWriter(rec, "msg_1", "claude-x")
	if rec.Body.Len() != 0 {
		t.Fatal("NewStreamWriter wrote before the first event")
	}
	steps := []content.Delta{
		{Kind: content.DeltaThinking, Index: 0, Text: content.FromString("hmm")},
		{Kind: content.DeltaSignature, Index: 0, Text: content.FromString("sig")},
		text(1, "Hel"),
		text(1, "lo\n"),
		{Kind: content.DeltaToolCall, Index: 3, ToolID: content.FromString("toolu_9"), ToolName: content.FromString("f")},
		{Kind: content.DeltaToolArgs, Index: 3, Text: content.FromString(`{"a":`)},
		{Kind: content.DeltaToolArgs, Index: 3, Text: content.FromString(`1}`)},
	}
	if err := s.Start(logic.Status{Usage: logic.Usage{Input: 12}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range steps {
		if err := s.Delta(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish(logic.Status{Stop: logic.StopToolUse, Usage: logic.Usage{Input: 12, Output: 9}}, nil); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":0}}}",
		"event: ping\ndata: {\"type\":\"ping\"}",
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}",
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}",
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\\n\"}}",
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}",
		// Delta index 3 (2 was skipped) is wire index 2: Anthropic's indexes have no gaps.
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"f\",\"input\":{}}}",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}",
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":9}}",
		"event: message_stop\ndata: {\"type\":\"message_stop\"}",
	}, "\n\n") + "\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("stream mismatch\n got: %s\nwant: %s", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	if err := s.Delta(text(9, "late")); !errors.Is(err, ErrStreamDone) {
		t.Errorf("Delta after Finish: %v", err)
	}
}

// events parses a recorded stream.
func events(t *testing.T, b []byte) []sse.Event {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(b))
	var out []sse.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(ev.Data) {
			t.Fatalf("event %s has invalid JSON %s", ev.Name, ev.Data)
		}
		out = append(out, sse.Event{Name: ev.Name, Data: bytes.Clone(ev.Data)})
	}
}

func names(evs []sse.Event) string {
	var n []string
	for _, e := range evs {
		n = append(n, e.Name)
	}
	return strings.Join(n, ",")
}

func TestStreamWriterFinishWithoutDeltas(t *testing.T) {
	rec := httptest.NewRecorder()
	s := NewStreamWriter(rec, "id", "m")
	if err := s.Finish(logic.Status{Stop: logic.StopSequence, Usage: logic.Usage{Input: 3, Output: 1}}, []byte("END")); err != nil {
		t.Fatal(err)
	}
	evs := events(t, rec.Body.Bytes())
	if got := names(evs); got != "message_start,ping,message_delta,message_stop" {
		t.Fatalf("events %s", got)
	}
	if !bytes.Contains(evs[0].Data, []byte(`"input_tokens":3`)) {
		t.Errorf("message_start lacks input tokens from Finish's status: %s", evs[0].Data)
	}
	if !bytes.Contains(evs[2].Data, []byte(`"stop_reason":"stop_sequence","stop_sequence":"END"`)) {
		t.Errorf("message_delta %s", evs[2].Data)
	}
}

func TestStreamWriterContractErrors(t *testing.T) {
	rec := httptest.NewRecorder()
	s := NewStreamWriter(rec, "id", "m")
	if err := s.Delta(text(0, "a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delta(text(1, "b")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delta(text(0, "back")); !errors.Is(err, ErrBlockClosed) {
		t.Errorf("going back to a closed block: %v", err)
	}
	if err := s.Delta(content.Delta{Kind: content.DeltaToolArgs, Index: 1, Text: content.FromString("{}")}); !errors.Is(err, ErrKindMismatch) {
		t.Errorf("tool args in a text block: %v", err)
	}
	if err := s.Delta(content.Delta{Kind: 99, Index: 2}); !errors.Is(err, ErrUnknownDelta) {
		t.Errorf("unknown kind: %v", err)
	}
	// Empty text opens the block but sends no delta.
	if err := s.Delta(text(2, "")); err != nil {
		t.Fatal(err)
	}
	evs := events(t, rec.Body.Bytes())
	if got := names(evs); got != "message_start,ping,content_block_start,content_block_delta,content_block_stop,content_block_start,content_block_delta,content_block_stop,content_block_start" {
		t.Errorf("events %s", got)
	}
}

func TestStreamWriterFail(t *testing.T) {
	// Before anything was sent: a plain HTTP error.
	rec := httptest.NewRecorder()
	s := NewStreamWriter(rec, "id", "m")
	if err := s.Fail(logic.ErrRateLimited, []byte("slow down")); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 429 || rec.Body.String() != `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}` {
		t.Errorf("early fail: %d %s", rec.Code, rec.Body.String())
	}
	// After the stream started: an error event.
	rec = httptest.NewRecorder()
	s = NewStreamWriter(rec, "id", "m")
	_ = s.Delta(text(0, "partial"))
	if err := s.Fail(logic.ErrOverloaded, []byte("Overloaded")); err != nil {
		t.Fatal(err)
	}
	evs := events(t, rec.Body.Bytes())
	last := evs[len(evs)-1]
	if last.Name != "error" || string(last.Data) != `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}` {
		t.Errorf("last event %s %s", last.Name, last.Data)
	}
	if rec.Code != 200 {
		t.Errorf("status %d", rec.Code)
	}
	if err := s.Finish(logic.Status{}, nil); !errors.Is(err, ErrStreamDone) {
		t.Errorf("Finish after Fail: %v", err)
	}
}

// A tool call that arrives without DeltaToolCall (arguments first) still
// opens a tool_use block with an id.
func TestStreamWriterArgsFirst(t *testing.T) {
	rec := httptest.NewRecorder()
	s := NewStreamWriter(rec, "id", "m")
	_ = s.Delta(content.Delta{Kind: content.DeltaToolArgs, Index: 0, Text: content.FromString(`{}`)})
	_ = s.Finish(logic.Status{Stop: logic.StopToolUse}, nil)
	evs := events(t, rec.Body.Bytes())
	if !bytes.Contains(evs[2].Data, []byte(`"id":"toolu_relay_0"`)) {
		t.Errorf("block start %s", evs[2].Data)
	}
}
