package server

import (
	"net/http"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire/anthropic"
	"github.com/inference-relay/relay/internal/wire/openai"
)

// front is one client-facing API: how its requests decode and how its
// replies and errors are written.
type front interface {
	// name labels the front in metrics: "openai" or "anthropic".
	name() string
	// decode parses a request; unknown (may be nil) is told the name of
	// each top-level field the decoder dropped.
	decode(body []byte, unknown func(string)) (*content.Request, logic.Params, error)
	writeError(w http.ResponseWriter, status int, class logic.ErrorClass, msg []byte)
	newID() string
	respond(w http.ResponseWriter, id string, p logic.Params, r *content.Request, msg content.Message, st logic.Status) error
	stream(w http.ResponseWriter, id string, p logic.Params, st logic.Status) frontStream
}

// frontStream writes a streamed reply in one API's event format.
type frontStream interface {
	Delta(d content.Delta) error
	Finish(st logic.Status, r *content.Request) error
	Fail(class logic.ErrorClass, msg []byte) error
}

// --- OpenAI Chat Completions ---

type openaiFront struct{}

func (openaiFront) name() string { return "openai" }

func (openaiFront) decode(body []byte, unknown func(string)) (*content.Request, logic.Params, error) {
	return openai.DecodeRequestReporting(body, unknown)
}

func (openaiFront) writeError(w http.ResponseWriter, status int, class logic.ErrorClass, msg []byte) {
	openai.WriteError(w, status, class, msg)
}

func (openaiFront) newID() string { return "chatcmpl-" + randomHex(12) }

func (openaiFront) respond(w http.ResponseWriter, id string, p logic.Params, _ *content.Request, msg content.Message, st logic.Status) error {
	b, err := openai.EncodeResponse(id, p.Model, time.Now().Unix(), msg, st)
	if err != nil {
		return err
	}
	defer clear(b)
	return writeJSON(w, http.StatusOK, b)
}

func (openaiFront) stream(w http.ResponseWriter, id string, p logic.Params, _ logic.Status) frontStream {
	return openaiStream{openai.NewStreamWriter(w, id, p.Model, time.Now().Unix(), p.IncludeUsage)}
}

type openaiStream struct{ s *openai.StreamWriter }

func (o openaiStream) Delta(d content.Delta) error                      { return o.s.Delta(d) }
func (o openaiStream) Finish(st logic.Status, _ *content.Request) error { return o.s.Finish(st) }
func (o openaiStream) Fail(c logic.ErrorClass, msg []byte) error        { return o.s.Fail(c, msg) }

// --- Anthropic Messages ---

type anthropicFront struct{}

func (anthropicFront) name() string { return "anthropic" }

func (anthropicFront) decode(body []byte, unknown func(string)) (*content.Request, logic.Params, error) {
	return anthropic.DecodeRequestReporting(body, unknown)
}

func (anthropicFront) writeError(w http.ResponseWriter, status int, class logic.ErrorClass, msg []byte) {
	anthropic.WriteError(w, status, class, msg)
}

func (anthropicFront) newID() string { return "msg_" + randomHex(12) }

func (anthropicFront) respond(w http.ResponseWriter, id string, p logic.Params, r *content.Request, msg content.Message, st logic.Status) error {
	if !p.Thinking.Shown() {
		msg = withoutThinking(msg)
	}
	b, err := anthropic.EncodeResponse(id, p.Model, msg, st, stopSequence(r, st))
	if err != nil {
		return err
	}
	defer clear(b)
	return writeJSON(w, http.StatusOK, b)
}

func (anthropicFront) stream(w http.ResponseWriter, id string, p logic.Params, st logic.Status) frontStream {
	sw := anthropic.NewStreamWriter(w, id, p.Model)
	// message_start carries the input tokens the backend reported so far;
	// a failed write shows up again on the first Delta.
	_ = sw.Start(st)
	return anthropicStream{sw, p.Thinking.Shown()}
}

// anthropicStream passes a backend's reasoning on as thinking blocks only
// to a client whose request asked for thinking (logic.Thinking.Shown); to
// any other it is dropped, never turned into text.
type anthropicStream struct {
	s        *anthropic.StreamWriter
	thinking bool
}

func (a anthropicStream) Delta(d content.Delta) error {
	if !a.thinking && (d.Kind == content.DeltaThinking || d.Kind == content.DeltaSignature) {
		return nil
	}
	return a.s.Delta(d)
}
func (a anthropicStream) Finish(st logic.Status, r *content.Request) error {
	return a.s.Finish(st, stopSequence(r, st))
}
func (a anthropicStream) Fail(c logic.ErrorClass, msg []byte) error { return a.s.Fail(c, msg) }

// withoutThinking returns msg without its thinking parts, sharing the rest.
func withoutThinking(msg content.Message) content.Message {
	parts := make([]content.Part, 0, len(msg.Parts))
	for _, p := range msg.Parts {
		if p.Kind != content.PartThinking {
			parts = append(parts, p)
		}
	}
	return content.Message{Role: msg.Role, Parts: parts}
}

// stopSequence returns the bytes of the stop sequence that ended the reply,
// or nil.
func stopSequence(r *content.Request, st logic.Status) []byte {
	if st.StopSequence > 0 && st.StopSequence <= len(r.Stop) {
		return r.Stop[st.StopSequence-1].Bytes()
	}
	return nil
}
