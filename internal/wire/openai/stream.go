package openai

import (
	"errors"
	"net/http"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire/sse"
)

// ErrStreamDone is returned by StreamWriter calls after Finish or Fail.
var ErrStreamDone = errors.New("openai: stream already ended")

// StreamWriter renders a reply as chat.completion.chunk SSE events, the way
// the Chat Completions API streams.
type StreamWriter struct {
	sse          *sse.Writer
	head         []byte // {"id":..,"object":..,"created":..,"model":..,
	includeUsage bool
	started      bool
	done         bool
	// tools maps a content block index to OpenAI's tool_calls[].index,
	// which counts tool calls only.
	tools map[int]int
	j     jbuf
}

// NewStreamWriter sets the SSE headers on w (status 200) and returns a
// writer for one reply.
func NewStreamWriter(w http.ResponseWriter, id, model string, created int64, includeUsage bool) *StreamWriter {
	var h jbuf
	h.raw(`{"id":`)
	h.str(id)
	h.raw(`,"object":"chat.completion.chunk","created":`)
	h.num(created)
	h.raw(`,"model":`)
	h.str(model)
	h.raw(`,"system_fingerprint":null,`)
	return &StreamWriter{sse: sse.NewWriter(w), head: h.b, includeUsage: includeUsage, tools: make(map[int]int)}
}

// Delta writes one streamed piece of the reply. The first call also sends
// the chunk that opens the assistant message. Signatures have no place in
// this format and are dropped.
func (s *StreamWriter) Delta(d content.Delta) error {
	if s.done {
		return ErrStreamDone
	}
	if err := s.start(); err != nil {
		return err
	}
	j := s.beginChunk()
	switch d.Kind {
	case content.DeltaText, content.DeltaThinking:
		if d.Text.IsEmpty() {
			return nil
		}
		if d.Kind == content.DeltaText {
			j.raw(`{"content":`)
		} else {
			j.raw(`{"reasoning_content":`)
		}
		j.text(d.Text.Bytes())
		j.raw("}")
	case content.DeltaToolCall:
		j.raw(`{"tool_calls":[{"index":`)
		j.num(int64(s.toolIndex(d.Index)))
		j.raw(`,"id":`)
		j.text(d.ToolID.Bytes())
		j.raw(`,"type":"function","function":{"name":`)
		j.text(d.ToolName.Bytes())
		j.raw(`,"arguments":`)
		j.text(d.Text.Bytes()) // normally empty: arguments follow as DeltaToolArgs
		j.raw("}}]}")
	case content.DeltaToolArgs:
		if d.Text.IsEmpty() {
			return nil
		}
		j.raw(`{"tool_calls":[{"index":`)
		j.num(int64(s.toolIndex(d.Index)))
		j.raw(`,"function":{"arguments":`)
		j.text(d.Text.Bytes())
		j.raw("}}]}")
	default:
		return nil
	}
	return s.endChunk(`null`, nil)
}

// Finish writes the chunk with finish_reason, the usage (as its own chunk
// when the client asked with include_usage, else on the finish chunk), and
// data: [DONE].
func (s *StreamWriter) Finish(st logic.Status) error {
	if s.done {
		return ErrStreamDone
	}
	if err := s.start(); err != nil {
		return err
	}
	s.done = true
	j := s.beginChunk()
	j.raw("{}")
	reason := `"` + finishReason(st.Stop) + `"`
	if s.includeUsage {
		if err := s.endChunk(reason, nil); err != nil {
			return err
		}
		j = &s.j
		j.b = append(j.b[:0], s.head...)
		j.raw(`"choices":[],"usage":`)
		appendUsage(j, st.Usage)
		j.raw("}")
		if err := s.sse.Event("", j.b); err != nil {
			return err
		}
	} else if err := s.endChunk(reason, &st.Usage); err != nil {
		return err
	}
	return s.sse.Event("", []byte("[DONE]"))
}

// Fail reports an error in the middle of a stream, as OpenAI does: one
// data: {"error":{...}} event, and the stream ends without [DONE].
func (s *StreamWriter) Fail(class logic.ErrorClass, msg []byte) error {
	if s.done {
		return ErrStreamDone
	}
	s.done = true
	j := &s.j
	j.b = j.b[:0]
	appendErrorObject(j, class, msg)
	err := s.sse.Event("", j.b)
	clear(j.b)
	return err
}

// start sends the opening chunk once.
func (s *StreamWriter) start() error {
	if s.started {
		return nil
	}
	s.started = true
	j := s.beginChunk()
	j.raw(`{"role":"assistant","content":""}`)
	return s.endChunk("null", nil)
}

// beginChunk starts a chunk in the scratch buffer up to the delta value.
func (s *StreamWriter) beginChunk() *jbuf {
	j := &s.j
	j.b = append(j.b[:0], s.head...)
	j.raw(`"choices":[{"index":0,"delta":`)
	return j
}

// endChunk closes the chunk begun by beginChunk, sends it and wipes the
// scratch buffer. usage, when set, rides on this chunk.
func (s *StreamWriter) endChunk(finishReason string, usage *logic.Usage) error {
	j := &s.j
	j.raw(`,"logprobs":null,"finish_reason":`)
	j.raw(finishReason)
	j.raw("}]")
	switch {
	case usage != nil:
		j.raw(`,"usage":`)
		appendUsage(j, *usage)
	case s.includeUsage:
		j.raw(`,"usage":null`)
	}
	j.raw("}")
	err := s.sse.Event("", j.b)
	clear(j.b)
	return err
}

// toolIndex maps a block index to a tool_calls index, numbering tool calls
// from 0 in order of first appearance.
func (s *StreamWriter) toolIndex(block int) int {
	k, ok := s.tools[block]
	if !ok {
		k = len(s.tools)
		s.tools[block] = k
	}
	return k
}
