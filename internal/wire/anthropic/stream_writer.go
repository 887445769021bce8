package anthropic

import (
	"errors"
	"net/http"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire/sse"
)

// Errors a StreamWriter returns when its caller breaks the delta contract.
// They name no content.
var (
	ErrStreamDone   = errors.New("anthropic: stream already finished")
	ErrBlockClosed  = errors.New("anthropic: delta for a content block that is already closed")
	ErrKindMismatch = errors.New("anthropic: delta kind does not fit its content block")
	ErrUnknownDelta = errors.New("anthropic: unknown delta kind")
)

// noIndex is the lastIndex of a writer that has opened no block.
const noIndex = -1

type blockKind uint8

const (
	blockNone blockKind = iota
	blockText
	blockTool
	blockThinking
	blockSkip // a block type the relay does not carry (upstream side)
)

// StreamWriter writes a reply as the Messages API event stream:
// message_start, ping, content_block_start/delta/stop for each block,
// message_delta, message_stop. Every event carries an `event:` line, which
// the official SDKs require. Blocks are numbered 0, 1, 2… in the order they
// open; a delta for a new block closes the open one first.
//
// Nothing is written to the response until the first event, so that a
// failure before it can still go out as a plain HTTP error (see Fail).
type StreamWriter struct {
	w         http.ResponseWriter
	sse       *sse.Writer
	id, model string
	buf       []byte

	started, done bool
	open          blockKind // kind of the open block, blockNone when none
	openIndex     int       // content.Delta index of the open block
	lastIndex     int       // highest content.Delta index seen
	blocks        int       // blocks opened so far: the next wire index
}

// NewStreamWriter returns a writer for a reply with the given message id and
// model name. It writes nothing yet.
func NewStreamWriter(w http.ResponseWriter, id, model string) *StreamWriter {
	return &StreamWriter{w: w, id: id, model: model, lastIndex: noIndex}
}

func (s *StreamWriter) event(name string, data []byte) error {
	err := s.sse.Event(name, data)
	clear(data) // the event may have held content
	return err
}

// Start sends message_start (with the input token count st holds, which may
// be 0) and a ping. Delta and Finish call it when it has not been called;
// later calls do nothing.
func (s *StreamWriter) Start(st logic.Status) error {
	if s.done {
		return ErrStreamDone
	}
	if s.started {
		return nil
	}
	s.started = true
	s.sse = sse.NewWriter(s.w)
	b := append(s.buf[:0], `{"type":"message_start","message":{"id":`...)
	b = appendStr(b, s.id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendStr(b, s.model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = appendUsage(b, st.Usage)
	b = append(b, `}}`...)
	s.buf = b
	if err := s.event("message_start", b); err != nil {
		return err
	}
	return s.Ping()
}

// Ping sends a ping event, which clients ignore; a server may call it to
// keep an idle connection open while the backend thinks.
func (s *StreamWriter) Ping() error {
	if s.done {
		return ErrStreamDone
	}
	if !s.started {
		return s.Start(logic.Status{})
	}
	return s.sse.Event("ping", []byte(`{"type":"ping"}`))
}

// Delta writes one streamed piece, opening and closing blocks as needed.
func (s *StreamWriter) Delta(d content.Delta) error {
	if err := s.Start(logic.Status{}); err != nil {
		return err
	}
	if d.Kind < content.DeltaText || d.Kind > content.DeltaSignature {
		return ErrUnknownDelta
	}
	if s.open == blockNone || d.Index != s.openIndex {
		if d.Index <= s.lastIndex {
			return ErrBlockClosed
		}
		if err := s.closeBlock(); err != nil {
			return err
		}
		if err := s.openBlock(d); err != nil {
			return err
		}
	}
	b := append(s.buf[:0], `{"type":"content_block_delta","index":`...)
	b = appendInt(b, s.blocks-1)
	switch {
	case d.Kind == content.DeltaText && s.open == blockText:
		b = append(b, `,"delta":{"type":"text_delta","text":`...)
	case d.Kind == content.DeltaToolArgs && s.open == blockTool:
		b = append(b, `,"delta":{"type":"input_json_delta","partial_json":`...)
	case d.Kind == content.DeltaThinking && s.open == blockThinking:
		b = append(b, `,"delta":{"type":"thinking_delta","thinking":`...)
	case d.Kind == content.DeltaSignature && s.open == blockThinking:
		b = append(b, `,"delta":{"type":"signature_delta","signature":`...)
	case d.Kind == content.DeltaToolCall && s.open == blockTool:
		// The id and name went out with content_block_start; the Messages
		// API has no way to add to them.
		return nil
	default:
		return ErrKindMismatch
	}
	if d.Text.IsEmpty() {
		return nil
	}
	b = appendString(b, d.Text.Bytes())
	b = append(b, `}}`...)
	s.buf = b
	return s.event("content_block_delta", b)
}

// openBlock sends content_block_start for the block d opens.
func (s *StreamWriter) openBlock(d content.Delta) error {
	b := append(s.buf[:0], `{"type":"content_block_start","index":`...)
	b = appendInt(b, s.blocks)
	switch d.Kind {
	case content.DeltaText:
		s.open = blockText
		b = append(b, `,"content_block":{"type":"text","text":""}}`...)
	case content.DeltaToolCall, content.DeltaToolArgs:
		s.open = blockTool
		b = append(b, `,"content_block":{"type":"tool_use","id":`...)
		b = appendString(b, toolID(d.ToolID, s.blocks))
		b = append(b, `,"name":`...)
		b = appendString(b, d.ToolName.Bytes())
		b = append(b, `,"input":{}}}`...)
	default:
		s.open = blockThinking
		b = append(b, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`...)
	}
	s.openIndex, s.lastIndex = d.Index, d.Index
	s.blocks++
	s.buf = b
	return s.event("content_block_start", b)
}

// closeBlock sends content_block_stop for the open block, if any.
func (s *StreamWriter) closeBlock() error {
	if s.open == blockNone {
		return nil
	}
	s.open = blockNone
	b := append(s.buf[:0], `{"type":"content_block_stop","index":`...)
	b = appendInt(b, s.blocks-1)
	b = append(b, '}')
	s.buf = b
	return s.event("content_block_stop", b)
}

// Finish closes the open block and sends message_delta (stop reason, the
// matched stop sequence, final usage) and message_stop.
func (s *StreamWriter) Finish(st logic.Status, stopSeq []byte) error {
	if err := s.Start(st); err != nil {
		return err
	}
	if err := s.closeBlock(); err != nil {
		return err
	}
	s.done = true
	b := append(s.buf[:0], `{"type":"message_delta","delta":{`...)
	b = appendStop(b, st, stopSeq)
	b = append(b, `},"usage":`...)
	b = appendUsage(b, st.Usage)
	b = append(b, '}')
	s.buf = b
	if err := s.event("message_delta", b); err != nil {
		return err
	}
	return s.sse.Event("message_stop", []byte(`{"type":"message_stop"}`))
}

// Fail ends the stream with an error event. Before anything was sent it
// writes a plain HTTP error response instead, with the class's status, as
// the API does for errors found before a stream starts.
func (s *StreamWriter) Fail(class logic.ErrorClass, msg []byte) error {
	if s.done {
		return ErrStreamDone
	}
	s.done = true
	if !s.started {
		WriteError(s.w, 0, class, msg)
		return nil
	}
	b := appendErrorBody(s.buf[:0], class, msg)
	s.buf = b
	return s.event("error", b)
}
