package enginebench

import (
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/inference-relay/relay/internal/wire/sse"
)

// StreamStats is what one OpenAI chat-completions stream says about its
// timing and size.
type StreamStats struct {
	// FirstContent is the time from start to the first chunk whose delta
	// carries text (a role-only chunk does not count); 0 when none did.
	FirstContent time.Duration
	// ContentChunks counts the chunks that carried text.
	ContentChunks int
	// PromptTokens and CompletionTokens are the usage the stream reported.
	PromptTokens, CompletionTokens int
}

// Errors of ReadStream. None quotes the stream: a benchmark's failure
// message should not carry a model's output either.
var (
	ErrNoDone    = errors.New("enginebench: the stream ended without data: [DONE]")
	ErrNoUsage   = errors.New("enginebench: the stream reported no usage (send stream_options.include_usage)")
	ErrBadChunk  = errors.New("enginebench: a chunk is not a chat.completion.chunk object")
	ErrFailed    = errors.New("enginebench: the relay failed the stream")
	errNotOpenAI = errors.New("enginebench: not an OpenAI stream")
)

// chunk is the part of a chat.completion.chunk the benchmark reads.
type chunk struct {
	Object  string `json:"object"`
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// ReadStream reads an OpenAI chat-completions SSE stream to its
// data: [DONE], timing the first text against start. It fails on an error
// event, on a stream cut short, and on a stream without usage (the
// benchmarks count tokens from usage, as a client billing by them would).
func ReadStream(r io.Reader, start time.Time) (StreamStats, error) {
	var st StreamStats
	usage := false
	events := sse.NewReader(r)
	for {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return st, ErrNoDone
		}
		if err != nil {
			return st, err
		}
		if string(ev.Data) == "[DONE]" {
			if !usage {
				return st, ErrNoUsage
			}
			return st, nil
		}
		var c chunk
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			return st, ErrBadChunk
		}
		if len(c.Error) > 0 && string(c.Error) != "null" {
			return st, ErrFailed
		}
		if c.Object != "chat.completion.chunk" {
			return st, errNotOpenAI
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content == "" {
				continue
			}
			if st.ContentChunks == 0 {
				st.FirstContent = time.Since(start)
			}
			st.ContentChunks++
		}
		if c.Usage != nil {
			usage = true
			st.PromptTokens, st.CompletionTokens = c.Usage.PromptTokens, c.Usage.CompletionTokens
		}
	}
}
