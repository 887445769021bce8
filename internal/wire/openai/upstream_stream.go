package openai

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"sync"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
	"github.com/inference-relay/relay/internal/wire/sse"
)

// chunk is the part of a chat.completion.chunk the relay reads. Unknown
// fields are ignored: servers add their own.
type chunk struct {
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *chunkUsage   `json:"usage"`
	Error   *struct {
		Message text            `json:"message"`
		Type    json.RawMessage `json:"type"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

type chunkDelta struct {
	Content          text            `json:"content"`
	ReasoningContent text            `json:"reasoning_content"`
	Reasoning        text            `json:"reasoning"`
	Thinking         text            `json:"thinking"` // Ollama's name for it
	Refusal          text            `json:"refusal"`
	ToolCalls        []chunkToolCall `json:"tool_calls"`
}

type chunkToolCall struct {
	Index    *int `json:"index"`
	ID       text `json:"id"`
	Function struct {
		Name      text `json:"name"`
		Arguments text `json:"arguments"`
	} `json:"function"`
}

type chunkUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// toolSlot is a tool call seen in the stream. It keeps a hash of the call's
// id, not the id: enough to notice a server reusing an index for a new
// call, without holding content.
type toolSlot struct {
	block  int
	idHash uint64
}

// blockKind is what the open content block holds.
type blockKind uint8

const (
	blockNone blockKind = iota
	blockText
	blockThinking
	blockTool
)

// UpstreamStream reads an OpenAI-compatible SSE reply (chat.completion.chunk
// events ending with data: [DONE]) as content deltas. It satisfies
// provider.Stream: Recv, Status, Close.
type UpstreamStream struct {
	body      io.ReadCloser
	closeOnce sync.Once
	events    *sse.Reader
	reqBytes  int

	st       logic.Status
	refused  bool
	gotUsage bool
	finished bool // a finish_reason arrived
	outBytes int
	err      error // terminal: io.EOF or the failure, returned from then on

	pending []content.Delta // deltas of the last chunk, from head on
	head    int
	// Block bookkeeping: indexes are handed out in order of first
	// appearance; text and thinking continue the open block when it is of
	// the same kind, tool calls are addressed by OpenAI's tool index.
	next    int
	open    blockKind
	openIdx int
	tools   map[int]toolSlot // keyed by OpenAI's tool_calls[].index
	lastKey int              // tool index of the latest call, for servers that omit it
}

// NewUpstreamStream reads an upstream SSE body. r is the request that was
// sent, used only to estimate usage when the server reports none.
func NewUpstreamStream(body io.ReadCloser, r *content.Request) *UpstreamStream {
	s := &UpstreamStream{body: body, events: sse.NewReader(body), tools: make(map[int]toolSlot), lastKey: -1}
	if r != nil {
		s.reqBytes = r.Size()
	}
	return s
}

// completion is a non-streamed chat.completion: its message has the shape
// of a stream chunk's delta, so one code path reads both.
type completion struct {
	Model   string `json:"model"`
	Choices []struct {
		Index        int        `json:"index"`
		Message      chunkDelta `json:"message"`
		FinishReason *string    `json:"finish_reason"`
	} `json:"choices"`
	Usage *chunkUsage `json:"usage"`
	Error *struct {
		Message text            `json:"message"`
		Type    json.RawMessage `json:"type"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

// NewUpstreamResponse reads a whole non-streamed chat.completion body and
// returns it as the same deltas a streamed reply would give, then io.EOF.
// body is wiped once parsed.
func NewUpstreamResponse(body []byte, r *content.Request) *UpstreamStream {
	s := NewUpstreamStream(io.NopCloser(nil), r)
	defer clear(body)
	var c completion
	if err := json.Unmarshal(body, &c); err != nil {
		s.err = errBadChunk
		return s
	}
	if c.Error != nil {
		s.err = inBandError(c.Error.Message.b, c.Error.Type, c.Error.Code, "the backend reported an error")
		return s
	}
	s.st.Model = c.Model
	s.usage(c.Usage)
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue // the relay asks for one choice
		}
		s.delta(&ch.Message)
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			s.st.Stop = stopReason(*ch.FinishReason)
		}
	}
	s.end()
	s.err = io.EOF
	return s
}

// inBandError turns an error object the backend sent with a 200 into a
// *StreamError; its message (which may echo content) is moved, not copied.
func inBandError(msg []byte, typ, code json.RawMessage, fallback string) *StreamError {
	m := capMessage(msg)
	clear(msg)
	if len(m) == 0 {
		m = []byte(fallback)
	}
	return &StreamError{Class: classForType(typ, code), Msg: m}
}

// usage records the token counts the backend reported, if it did.
func (s *UpstreamStream) usage(u *chunkUsage) {
	if u == nil {
		return
	}
	s.gotUsage = true
	s.st.Usage.Input = u.PromptTokens
	s.st.Usage.Output = u.CompletionTokens
	if d := u.PromptTokensDetails; d != nil {
		s.st.Usage.CacheRead = d.CachedTokens
	}
}

// Status reports what is known of the reply so far.
func (s *UpstreamStream) Status() logic.Status { return s.st }

// Close closes the body. It is safe to call more than once, and from
// another goroutine to abort a Recv that is waiting.
func (s *UpstreamStream) Close() error {
	err := errAlreadyClosed
	s.closeOnce.Do(func() { err = s.body.Close() })
	if err == errAlreadyClosed {
		return nil
	}
	return err
}

var (
	errAlreadyClosed = errors.New("already closed")
	errBadChunk      = &StreamError{Class: logic.ErrUpstream, Msg: []byte("the backend sent a malformed stream chunk")}
)

// Recv returns the next delta, io.EOF after the last, or an error: a
// *StreamError when the server reported one or sent nonsense,
// io.ErrUnexpectedEOF when the stream was cut off.
func (s *UpstreamStream) Recv() (content.Delta, error) {
	for {
		if s.head < len(s.pending) {
			d := s.pending[s.head]
			s.pending[s.head] = content.Delta{}
			s.head++
			return d, nil
		}
		s.pending, s.head = s.pending[:0], 0
		if s.err != nil {
			return content.Delta{}, s.err
		}
		s.err = s.step()
	}
}

// step reads one event and queues its deltas. It returns nil to go on, or
// the terminal error.
func (s *UpstreamStream) step() error {
	ev, err := s.events.Next()
	if err != nil {
		if err == io.EOF {
			if s.finished {
				// Some servers end after the finish chunk without [DONE].
				s.end()
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		if errors.Is(err, sse.ErrTooLong) {
			return errBadChunk
		}
		return err
	}
	data := wire.TrimSpace(ev.Data)
	if string(data) == "[DONE]" {
		s.end()
		return io.EOF
	}
	var c chunk
	if err := json.Unmarshal(data, &c); err != nil {
		return errBadChunk
	}
	if c.Error != nil {
		return inBandError(c.Error.Message.b, c.Error.Type, c.Error.Code, "the backend reported an error mid-stream")
	}
	if s.st.Model == "" && c.Model != "" {
		s.st.Model = c.Model
	}
	s.usage(c.Usage)
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue // the relay asks for one choice
		}
		s.delta(&ch.Delta)
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			s.finished = true
			s.st.Stop = stopReason(*ch.FinishReason)
		}
	}
	return nil
}

// delta queues the deltas of one chunk: reasoning first, as it precedes
// the answer it leads to, then text, then tool calls.
func (s *UpstreamStream) delta(d *chunkDelta) {
	// Engines name reasoning reasoning_content (llama.cpp, vLLM, DeepSeek),
	// reasoning (vLLM, Ollama, LM Studio) or thinking (Ollama); some send
	// two of them with the same text, so the first present is taken.
	think := d.ReasoningContent.b
	if len(think) == 0 {
		think = d.Reasoning.b
	}
	if len(think) == 0 {
		think = d.Thinking.b
	}
	if len(think) > 0 {
		s.queue(content.Delta{Kind: content.DeltaThinking, Index: s.block(blockThinking), Text: content.Of(think)}, len(think))
	}
	if len(d.Refusal.b) > 0 {
		s.refused = true
		s.queue(content.Delta{Kind: content.DeltaText, Index: s.block(blockText), Text: content.Of(d.Refusal.b)}, len(d.Refusal.b))
	}
	if len(d.Content.b) > 0 {
		s.queue(content.Delta{Kind: content.DeltaText, Index: s.block(blockText), Text: content.Of(d.Content.b)}, len(d.Content.b))
	}
	for i := range d.ToolCalls {
		s.toolCall(&d.ToolCalls[i])
	}
}

func (s *UpstreamStream) toolCall(tc *chunkToolCall) {
	id := tc.ID.b
	key := s.lastKey
	switch {
	case tc.Index != nil:
		key = *tc.Index
	case len(id) > 0 || key < 0:
		// No index: an id opens a new call, anything else continues the
		// latest one.
		key = 0
		for {
			if _, taken := s.tools[key]; !taken {
				break
			}
			key++
		}
	}
	slot, known := s.tools[key]
	if !known || len(id) > 0 && slot.idHash != hashID(id) {
		slot = toolSlot{block: s.next, idHash: hashID(id)}
		s.next++
		s.tools[key] = slot
		s.queue(content.Delta{Kind: content.DeltaToolCall, Index: slot.block, ToolID: content.Of(id), ToolName: content.Of(tc.Function.Name.b)}, len(tc.Function.Name.b))
	}
	s.lastKey = key
	s.open, s.openIdx = blockTool, slot.block
	if args := tc.Function.Arguments.b; len(args) > 0 {
		s.queue(content.Delta{Kind: content.DeltaToolArgs, Index: slot.block, Text: content.Of(args)}, len(args))
	}
}

func hashID(id []byte) uint64 {
	if len(id) == 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write(id)
	return h.Sum64()
}

// block returns the index for a text or thinking delta: the open block if
// it is of that kind, else a new one.
func (s *UpstreamStream) block(k blockKind) int {
	if s.open != k {
		s.open, s.openIdx = k, s.next
		s.next++
	}
	return s.openIdx
}

func (s *UpstreamStream) queue(d content.Delta, n int) {
	s.outBytes += n
	s.pending = append(s.pending, d)
}

// end settles the status at a normal end of stream.
func (s *UpstreamStream) end() {
	switch {
	case s.st.Stop == logic.StopUnknown:
		s.st.Stop = logic.StopEnd
	case s.refused && s.st.Stop == logic.StopEnd:
		s.st.Stop = logic.StopRefusal
	}
	if !s.gotUsage {
		s.st.Usage = logic.Usage{Input: max(1, s.reqBytes/4), Output: max(1, s.outBytes/4)}
		s.st.Estimated = true
	}
}

func stopReason(r string) logic.StopReason {
	switch r {
	case "length":
		return logic.StopMaxTokens
	case "tool_calls", "function_call":
		return logic.StopToolUse
	case "content_filter":
		return logic.StopRefusal
	default: // "stop", and engines' own words for a natural end
		return logic.StopEnd
	}
}

// classForType classifies an in-stream error by its type or code, the only
// hints a stream carries (its HTTP status was already 200).
func classForType(typ, code json.RawMessage) logic.ErrorClass {
	for _, raw := range []json.RawMessage{typ, code} {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		switch s {
		case "invalid_request_error", "context_length_exceeded":
			return logic.ErrInvalidRequest
		case "authentication_error", "invalid_api_key":
			return logic.ErrAuthentication
		case "permission_error":
			return logic.ErrPermission
		case "not_found_error", "model_not_found":
			return logic.ErrNotFound
		case "rate_limit_error", "rate_limit_exceeded", "requests", "tokens", "insufficient_quota":
			return logic.ErrRateLimited
		case "overloaded_error", "service_unavailable_error", "server_overloaded":
			return logic.ErrOverloaded
		case "timeout_error":
			return logic.ErrTimeout
		}
	}
	return logic.ErrUpstream
}
