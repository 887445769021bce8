package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire/sse"
)

// ErrMalformed is returned when the upstream sends an event that is not the
// published shape. It names no content.
var ErrMalformed = errors.New("anthropic: malformed event from the backend")

// maxBlocks bounds the content blocks one reply may open, so a broken
// upstream cannot grow the block table without limit.
const maxBlocks = 1 << 12

// UpstreamStream reads a Messages API event stream and returns its content
// as deltas. It satisfies provider.Stream.
//
// Deltas are numbered 0, 1, 2… in order of first appearance, whatever
// indexes the upstream used; blocks the relay does not carry (redacted
// thinking, server tool results, future types) and unknown event or delta
// types are skipped, so a newer API does not break an older relay.
type UpstreamStream struct {
	body   io.ReadCloser
	events *sse.Reader
	stop   []content.Text

	blocks map[int]*upBlock // by upstream index
	next   int              // the next delta index to hand out
	queue  []content.Delta
	err    error // sticky: io.EOF after message_stop, or the failure
	// started is set by message_start.
	started bool

	mu                    sync.Mutex // guards the fields below, read by Status
	st                    logic.Status
	in, cacheRead, cacheW int

	closeOnce sync.Once
	closeErr  error
}

type upBlock struct {
	kind  blockKind
	index int // delta index, -1 until the block yields its first delta
}

// NewUpstreamStream reads events from body. r is the request that was sent:
// its stop sequences tell which one matched.
func NewUpstreamStream(body io.ReadCloser, r *content.Request) *UpstreamStream {
	s := &UpstreamStream{body: body, events: sse.NewReader(body), blocks: make(map[int]*upBlock)}
	if r != nil {
		s.stop = r.Stop
	}
	return s
}

// Recv returns the next delta; io.EOF after message_stop; *StreamError for
// an error event; io.ErrUnexpectedEOF when the stream ends before
// message_stop; ErrMalformed for an event it cannot read.
func (s *UpstreamStream) Recv() (content.Delta, error) {
	for {
		if len(s.queue) > 0 {
			d := s.queue[0]
			s.queue[0] = content.Delta{}
			s.queue = s.queue[1:]
			return d, nil
		}
		if s.err != nil {
			return content.Delta{}, s.err
		}
		ev, err := s.events.Next()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			s.err = err
			continue
		}
		s.handle(ev)
	}
}

// WaitStart reads until the upstream's message_start, so that a failure the
// API reports as the stream's first event (overloaded, typically) comes
// back before any content and can still go to another backend, and so that
// Status holds the model and input usage before the first delta. It
// returns nil once message_start (or some content) has arrived, and the
// stream's error otherwise.
func (s *UpstreamStream) WaitStart() error {
	for !s.started && len(s.queue) == 0 {
		if s.err != nil {
			if s.err == io.EOF {
				return nil // message_stop without message_start: an empty reply
			}
			return s.err
		}
		ev, err := s.events.Next()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			s.err = err
			continue
		}
		s.handle(ev)
	}
	return nil
}

// Status returns what the upstream has reported so far.
func (s *UpstreamStream) Status() logic.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// Close releases the upstream connection. It is safe to call more than once.
func (s *UpstreamStream) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.body.Close() })
	return s.closeErr
}

// upEvent is every field of every event type this package reads.
type upEvent struct {
	Type    string `json:"type"`
	Message *struct {
		Model string   `json:"model"`
		Usage *upUsage `json:"usage"`
	} `json:"message"`
	Index        *int `json:"index"`
	ContentBlock *struct {
		Type      string          `json:"type"`
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
		Text      string          `json:"text"`
		Thinking  string          `json:"thinking"`
		Signature string          `json:"signature"`
	} `json:"content_block"`
	Delta *struct {
		Type         string  `json:"type"`
		Text         string  `json:"text"`
		PartialJSON  string  `json:"partial_json"`
		Thinking     string  `json:"thinking"`
		Signature    string  `json:"signature"`
		StopReason   *string `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage *upUsage `json:"usage"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// upUsage counts are pointers: message_delta leaves out those it does not
// update.
type upUsage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
}

func (s *UpstreamStream) handle(ev sse.Event) {
	var e upEvent
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		if ev.Name == "error" {
			s.err = &StreamError{Class: logic.ErrUpstream}
		} else {
			s.err = ErrMalformed
		}
		return
	}
	typ := e.Type
	if ev.Name == "error" || typ == "" {
		typ = ev.Name
	}
	switch typ {
	case "message_start":
		if e.Message == nil {
			s.err = ErrMalformed
			return
		}
		s.started = true
		s.mu.Lock()
		s.st.Model = e.Message.Model
		s.usage(e.Message.Usage)
		s.mu.Unlock()
	case "content_block_start":
		s.start(&e)
	case "content_block_delta":
		s.delta(&e)
	case "message_delta":
		s.messageDelta(&e)
	case "message_stop":
		s.err = io.EOF
	case "error":
		se := &StreamError{Class: logic.ErrUpstream}
		if e.Error != nil {
			se.Class, _ = classOf(e.Error.Type)
			se.Msg = []byte(e.Error.Message)
		}
		s.err = se
	}
	// content_block_stop, ping and types this package does not know need
	// nothing.
}

// usage folds reported counts into the status; the caller holds mu.
func (s *UpstreamStream) usage(u *upUsage) {
	if u == nil {
		return
	}
	set := func(dst *int, src *int) {
		if src != nil && *src >= 0 {
			*dst = *src
		}
	}
	set(&s.in, u.InputTokens)
	set(&s.cacheRead, u.CacheReadInputTokens)
	set(&s.cacheW, u.CacheCreationInputTokens)
	set(&s.st.Usage.Output, u.OutputTokens)
	s.st.Usage.Input = s.in + s.cacheRead + s.cacheW
	s.st.Usage.CacheRead, s.st.Usage.CacheWrite = s.cacheRead, s.cacheW
}

func (s *UpstreamStream) start(e *upEvent) {
	if e.Index == nil || e.ContentBlock == nil || len(s.blocks) >= maxBlocks {
		s.err = ErrMalformed
		return
	}
	if _, dup := s.blocks[*e.Index]; dup {
		s.err = ErrMalformed
		return
	}
	b := &upBlock{index: -1}
	s.blocks[*e.Index] = b
	cb := e.ContentBlock
	switch cb.Type {
	case "text":
		b.kind = blockText
		s.emit(b, content.Delta{Kind: content.DeltaText, Text: content.FromString(cb.Text)})
	case "tool_use":
		b.kind = blockTool
		s.emit(b, content.Delta{Kind: content.DeltaToolCall, ToolID: content.FromString(cb.ID), ToolName: content.FromString(cb.Name)})
		// The API starts with input {} and streams the arguments; an
		// upstream that sends them whole at the start is passed on.
		if in := bytes.TrimSpace(cb.Input); len(in) > 0 && !isEmptyObject(in) {
			s.emit(b, content.Delta{Kind: content.DeltaToolArgs, Text: content.Of(in)})
		}
	case "thinking":
		b.kind = blockThinking
		s.emit(b, content.Delta{Kind: content.DeltaThinking, Text: content.FromString(cb.Thinking)})
		s.emit(b, content.Delta{Kind: content.DeltaSignature, Text: content.FromString(cb.Signature)})
	default:
		b.kind = blockSkip
	}
}

func isEmptyObject(raw []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && len(m) == 0
}

func (s *UpstreamStream) delta(e *upEvent) {
	if e.Index == nil || e.Delta == nil {
		s.err = ErrMalformed
		return
	}
	b, ok := s.blocks[*e.Index]
	if !ok {
		return // a delta for a block never started: nothing to add it to
	}
	d := e.Delta
	switch {
	case d.Type == "text_delta" && b.kind == blockText:
		s.emit(b, content.Delta{Kind: content.DeltaText, Text: content.FromString(d.Text)})
	case d.Type == "input_json_delta" && b.kind == blockTool:
		s.emit(b, content.Delta{Kind: content.DeltaToolArgs, Text: content.FromString(d.PartialJSON)})
	case d.Type == "thinking_delta" && b.kind == blockThinking:
		s.emit(b, content.Delta{Kind: content.DeltaThinking, Text: content.FromString(d.Thinking)})
	case d.Type == "signature_delta" && b.kind == blockThinking:
		s.emit(b, content.Delta{Kind: content.DeltaSignature, Text: content.FromString(d.Signature)})
	}
	// citations_delta and future delta types are skipped.
}

// emit queues d for block b. Empty pieces are dropped, except a tool call's
// opening, and a block gets its delta index only when it first yields
// something, so that skipped or empty blocks leave no gap.
func (s *UpstreamStream) emit(b *upBlock, d content.Delta) {
	if d.Kind != content.DeltaToolCall && d.Text.IsEmpty() {
		return
	}
	if b.index < 0 {
		b.index = s.next
		s.next++
	}
	d.Index = b.index
	s.queue = append(s.queue, d)
}

func (s *UpstreamStream) messageDelta(e *upEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage(e.Usage)
	if e.Delta == nil || e.Delta.StopReason == nil {
		return
	}
	switch *e.Delta.StopReason {
	case "end_turn", "pause_turn":
		s.st.Stop = logic.StopEnd
	case "max_tokens", "model_context_window_exceeded":
		s.st.Stop = logic.StopMaxTokens
	case "stop_sequence":
		s.st.Stop = logic.StopSequence
		if seq := e.Delta.StopSequence; seq != nil {
			for i, t := range s.stop {
				if string(t.Bytes()) == *seq {
					s.st.StopSequence = i + 1
					break
				}
			}
		}
	case "tool_use":
		s.st.Stop = logic.StopToolUse
	case "refusal":
		s.st.Stop = logic.StopRefusal
	default:
		s.st.Stop = logic.StopUnknown
	}
}
