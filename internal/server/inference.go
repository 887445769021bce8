package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/route"
	"github.com/inference-relay/relay/internal/wire/anthropic"
	"github.com/inference-relay/relay/internal/wire/openai"
)

// NoBackendMessage tells the user how to give the relay somewhere to send
// requests.
const NoBackendMessage = "no inference backend is available: point the embedded engine at a GGUF model " +
	"([[model]] name/path in the config; 'relay demo' writes a tiny test model; an Ollama model store is found by itself), " +
	"or start a local engine on its usual port (Ollama 11434, LM Studio 1234, llama.cpp server 8080, vLLM 8000) and restart the relay, " +
	"or add a [[backend]] to the config file; 'relay doctor' shows what was found"

// Start resolves p.Model to a backend and starts the request there. The
// returned stream must be closed. It is the one pipeline the HTTP handlers
// and the in-process library client share.
func (s *Server) Start(ctx context.Context, p logic.Params, r *content.Request) (provider.Stream, logic.Target, *provider.Error) {
	target, err := s.backends.Table.Resolve(p.Model)
	switch {
	case errors.Is(err, route.ErrNoBackends):
		return nil, target, provider.Errorf(logic.ErrUnavailable, NoBackendMessage)
	case err != nil:
		return nil, target, &provider.Error{Class: logic.ErrNotFound, Detail: content.FromString("model not found: no backend serves it; GET /v1/models lists the models, and a [[route]] in the config maps other names")}
	}
	prov, ok := s.backends.Providers[target.Provider]
	if !ok {
		return nil, target, provider.Errorf(logic.ErrUnavailable, NoBackendMessage)
	}
	st, serr := safeStart(ctx, prov, target, p, r)
	if serr != nil {
		return nil, target, provider.AsError(serr)
	}
	return &safeStream{s: st}, target, nil
}

// safeStart turns a provider panic into an upstream error: one faulty
// adapter must not take the relay down or leave the client without an
// answer.
func safeStart(ctx context.Context, prov provider.Provider, t logic.Target, p logic.Params, r *content.Request) (st provider.Stream, err error) {
	defer func() {
		if v := recover(); v != nil {
			st, err = nil, provider.Errorf(logic.ErrUpstream, "the backend adapter failed")
		}
	}()
	return prov.Stream(ctx, t, p, r)
}

// safeStream recovers panics in a provider's stream the same way.
type safeStream struct{ s provider.Stream }

func (s *safeStream) Recv() (d content.Delta, err error) {
	defer func() {
		if v := recover(); v != nil {
			d, err = content.Delta{}, provider.Errorf(logic.ErrUpstream, "the backend adapter failed")
		}
	}()
	return s.s.Recv()
}

func (s *safeStream) Status() logic.Status { return s.s.Status() }

func (s *safeStream) Close() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errors.New("provider: close failed")
		}
	}()
	return s.s.Close()
}

// inference serves one API's inference route.
func (s *Server) inference(f front) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := s.newOutcome()
		defer s.record(o)
		w.Header().Set("X-Request-Id", o.id.String())
		fail := func(pe *provider.Error) {
			o.fail(pe.Class, pe.HTTPStatus())
			f.writeError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
		}
		body, perr := s.readBody(w, r)
		if perr != nil {
			fail(perr)
			return
		}
		req, params, err := f.decode(body, s.unknownFields(f))
		clear(body)
		if err != nil {
			o.fail(logic.ErrInvalidRequest, http.StatusBadRequest)
			f.writeError(w, http.StatusBadRequest, logic.ErrInvalidRequest, []byte(err.Error()))
			return
		}
		defer req.Wipe()
		if sid := r.Header.Get("X-Relay-Session"); sid != "" && params.Session == "" {
			params.Session = sid
		}
		turn, fresh, perr := s.beginTurn(r.Context(), &params, req)
		o.params = params // the session as backends and the audit know it: scoped to the key
		if perr != nil {
			fail(perr)
			return
		}
		if turn != nil {
			defer turn.Abort() // a no-op once committed
		}
		st, perr := s.startRecorded(r.Context(), o, params, req)
		if perr != nil {
			f.writeError(w, perr.HTTPStatus(), perr.Class, perr.Detail.Bytes())
			return
		}
		defer st.Close() // records o
		// commit stores the turn and its reply in the session, before the
		// request is wiped.
		commit := func(reply content.Message) *provider.Error {
			if turn == nil {
				return nil
			}
			if err := turn.Commit(fresh, reply); err != nil {
				return sessionError(err)
			}
			return nil
		}
		if params.Stream {
			s.streamReply(w, f, o, req, st, commit)
		} else {
			s.collectReply(w, f, o, req, st, commit)
		}
	})
}

// committer stores a finished reply in the request's session (a no-op
// without one); an error means the client must be told it was not stored.
type committer func(reply content.Message) *provider.Error

func (s *Server) collectReply(w http.ResponseWriter, f front, o *outcome, r *content.Request, st provider.Stream, commit committer) {
	var c content.Collector
	for {
		d, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil { // noted in o by the recorded stream
			pe := provider.AsError(err)
			f.writeError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
			msg := c.Message()
			msg.Wipe()
			return
		}
		c.Add(d) // copies the bytes
		d.Text.Wipe()
	}
	msg := c.Message()
	defer msg.Wipe()
	if pe := commit(msg); pe != nil {
		o.fail(pe.Class, pe.HTTPStatus())
		f.writeError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout.Duration))
	if err := f.respond(w, f.newID(), o.params, r, msg, st.Status()); err != nil {
		o.fail(logic.ErrCanceled, 499)
		return
	}
	// Send the response now: the audit record and the wipes run after
	// this handler returns, and the client need not wait for them.
	_ = http.NewResponseController(w).Flush()
}

func (s *Server) streamReply(w http.ResponseWriter, f front, o *outcome, r *content.Request, st provider.Stream, commit committer) {
	// Wait for the first delta before committing to 200: an upstream that
	// fails at once still gets a proper error status.
	d, err := st.Recv()
	if err != nil && err != io.EOF { // noted in o by the recorded stream
		pe := provider.AsError(err)
		f.writeError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
		return
	}
	out := f.stream(&deadlineWriter{ResponseWriter: w, d: s.cfg.WriteTimeout.Duration}, f.newID(), o.params, st.Status())
	// With a session the reply is also assembled, to be stored.
	var c *content.Collector
	if o.params.Session != "" {
		c = &content.Collector{}
		defer func() { m := c.Message(); m.Wipe() }()
	}
	for err == nil {
		werr := out.Delta(d)
		if c != nil {
			c.Add(d)
		}
		d.Text.Wipe()
		if werr != nil {
			o.fail(logic.ErrCanceled, 499) // the client went away; closing st cancels upstream
			return
		}
		d, err = st.Recv()
	}
	if err != io.EOF {
		// The status line (200) is gone and the error travels as an event;
		// the recorded stream noted the status the failure would have had.
		pe := provider.AsError(err)
		_ = out.Fail(pe.Class, pe.Detail.Bytes())
		return
	}
	if c != nil {
		if pe := commit(c.Message()); pe != nil {
			// The reply was streamed but could not be stored: the stream
			// ends in an error rather than a normal finish, so the client
			// knows the session does not hold this turn.
			o.fail(pe.Class, pe.HTTPStatus())
			_ = out.Fail(pe.Class, pe.Detail.Bytes())
			return
		}
	}
	if out.Finish(st.Status(), r) != nil {
		o.fail(logic.ErrCanceled, 499)
	}
}

// countTokens serves POST /v1/messages/count_tokens: exact when the backend
// can count, estimated (4 bytes a token) otherwise.
func (s *Server) countTokens(w http.ResponseWriter, r *http.Request) {
	f := anthropicFront{}
	o := s.newOutcome()
	defer s.record(o)
	fail := func(pe *provider.Error) {
		o.fail(pe.Class, pe.HTTPStatus())
		f.writeError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
	}
	body, perr := s.readBody(w, r)
	if perr != nil {
		fail(perr)
		return
	}
	req, params, err := anthropic.DecodeCountTokensReporting(body, s.unknownFields(f))
	clear(body)
	if err != nil {
		fail(&provider.Error{Class: logic.ErrInvalidRequest, Status: http.StatusBadRequest, Detail: content.FromString(err.Error())})
		return
	}
	defer req.Wipe()
	o.params = params
	// Exact where the backend counts (the embedded engine through its own
	// template and tokenizer; the Anthropic API); otherwise an estimate,
	// and the response says which in its CountHeader.
	n, how := EstimateTokens(req.Size()), "estimate"
	if target, err := s.backends.Table.Resolve(params.Model); err == nil {
		o.target = target
		if tc, ok := s.backends.Providers[target.Provider].(provider.TokenCounter); ok {
			exact, err := safeCount(r.Context(), tc, target, params, req)
			if err != nil {
				fail(provider.AsError(err))
				return
			}
			n, how = exact, "exact"
		}
	}
	w.Header().Set(CountHeader, how)
	_ = writeJSON(w, http.StatusOK, anthropic.EncodeCountTokens(n))
}

// CountHeader says whether a count_tokens answer is "exact" (counted by
// the backend that would serve the request) or an "estimate" (the backend
// cannot count: about four bytes a token, without its template's tokens).
const CountHeader = "X-Relay-Token-Count"

// EstimateTokens approximates a token count from a byte count (about four
// bytes a token for English text with BPE tokenizers), at least 1.
func EstimateTokens(bytes int) int {
	if bytes <= 0 {
		return 1
	}
	return (bytes + 3) / 4
}

// models serves GET /v1/models in the asking SDK's shape: Anthropic's when
// the request carries an anthropic-version header, OpenAI's otherwise.
func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	isAnthropic := r.Header.Get("Anthropic-Version") != ""
	list := s.backends.Table.Models()
	if isAnthropic {
		ms := make([]anthropic.Model, len(list))
		for i, m := range list {
			ms[i] = anthropic.Model{ID: m.ID, DisplayName: m.ID, Created: s.backends.Started}
		}
		_ = writeJSON(w, http.StatusOK, anthropic.EncodeModels(ms))
		return
	}
	ms := make([]openai.Model, len(list))
	for i, m := range list {
		ms[i] = openai.Model{ID: m.ID, OwnedBy: m.Backend, Created: s.backends.Started.Unix()}
	}
	_ = writeJSON(w, http.StatusOK, openai.EncodeModels(ms))
}

// deadlineWriter bounds each write, so a client that stops reading a stream
// fails it (and so cancels the upstream request) instead of holding it
// open forever.
type deadlineWriter struct {
	http.ResponseWriter
	d time.Duration
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	if w.d > 0 {
		_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(w.d))
	}
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
