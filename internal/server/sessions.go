package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/session"
)

// keyIDKey is the context key under which the guard stores the id of the
// API key a request was authenticated with.
type keyIDKey struct{}

func withKeyID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyIDKey{}, id)
}

// localOwner owns the sessions of in-process callers, which present no
// API key. A key's owner name is "key:<id>", so no key can be taken for it.
const localOwner = "local:"

// sessionOwner names the owner of the sessions a request may use: the API
// key it was authenticated with (every HTTP route but /healthz passes the
// guard), or the in-process caller.
func sessionOwner(ctx context.Context) string {
	if id, ok := ctx.Value(keyIDKey{}).(string); ok && id != "" {
		return "key:" + id
	}
	return localOwner
}

// sessionError turns a session store error into the client's error: the
// status the store assigns and a message the relay wrote.
func sessionError(err error) *provider.Error {
	code := session.HTTPStatus(err)
	var class logic.ErrorClass
	var msg string
	switch {
	case errors.Is(err, session.ErrInvalidID):
		class, msg = logic.ErrInvalidRequest, "session id is not valid: use "+session.IDRule
	case errors.Is(err, session.ErrOwnerTooMany):
		class, msg = logic.ErrRateLimited, "this API key has as many sessions open as it may (its share of the relay's sessions, [sessions] max_sessions_per_key); end one (POST /v1/session/end) or wait for idle ones to expire"
	case errors.Is(err, session.ErrOwnerFull):
		class, msg = logic.ErrTooLarge, "this API key's sessions hold as much as they may (its share of session memory, [sessions] max_bytes_per_key): this turn was not stored; end a session to make room"
	case errors.Is(err, session.ErrTooMany):
		class, msg = logic.ErrRateLimited, "too many sessions are open; end one (POST /v1/session/end) or wait for idle ones to expire"
	case errors.Is(err, session.ErrBusy):
		class, msg = logic.ErrInvalidRequest, "this session is answering another request; send one turn at a time"
	case errors.Is(err, session.ErrWiped):
		class, msg = logic.ErrInvalidRequest, "this session was ended while the request ran; its reply was not stored"
	case errors.Is(err, session.ErrTooLarge):
		class, msg = logic.ErrTooLarge, "the session is full: this turn would exceed its size limit and was not stored; end the session and start a new one"
	case errors.Is(err, session.ErrNotFound):
		class, msg = logic.ErrNotFound, "no such session (it may have been ended or expired)"
	case errors.Is(err, session.ErrClosed):
		class, msg = logic.ErrUnavailable, "sessions are closed: the relay is shutting down"
	default:
		class, msg = logic.ErrInternal, "the session could not be read"
	}
	return &provider.Error{Class: class, Status: code, Detail: content.FromString(msg)}
}

// beginTurn opens the client's session for this request, if it named one:
// the session of that id that belongs to the request's API key (ctx); the
// stored history goes in front of the new turn. It replaces p.Session with
// the session's scoped name (session.Store.Scope), so that backends and the
// audit never see the client's id and two keys' sessions of one id never
// share a backend's state (the engine's KV cache); an invalid id is
// cleared. The caller must call turn.Abort (a no-op after Commit) and
// commit before wiping r.
func (s *Server) beginTurn(ctx context.Context, p *logic.Params, r *content.Request) (*session.Turn, []content.Message, *provider.Error) {
	if p.Session == "" {
		return nil, nil, nil
	}
	id := p.Session
	p.Session = ""
	if !session.ValidID(id) {
		return nil, nil, sessionError(session.ErrInvalidID)
	}
	if s.sessions == nil {
		return nil, nil, provider.Errorf(logic.ErrUnavailable, "sessions are not enabled on this relay")
	}
	t, err := s.sessions.Begin(sessionOwner(ctx), id)
	if err != nil {
		return nil, nil, sessionError(err)
	}
	p.Session = t.Scope()
	fresh := r.Messages
	if session.SealedSize(fresh...) > t.Room() {
		t.Abort()
		return nil, nil, sessionError(session.ErrTooLarge)
	}
	r.Messages = append(slices.Clip(t.History()), fresh...)
	return t, fresh, nil
}

// endSession serves POST /v1/session/end: the session named by the body's
// session_id (or the X-Relay-Session header) is wiped now.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	f := s.frontFor(r)
	id := r.Header.Get("X-Relay-Session")
	if r.ContentLength != 0 {
		body, perr := s.readBody(w, r)
		if perr != nil {
			f.writeError(w, perr.HTTPStatus(), perr.Class, perr.Detail.Bytes())
			return
		}
		var req struct {
			SessionID string `json:"session_id"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err := dec.Decode(&req)
		clear(body)
		if err != nil {
			f.writeError(w, http.StatusBadRequest, logic.ErrInvalidRequest, []byte("body must be {\"session_id\": \"...\"}"))
			return
		}
		if req.SessionID != "" {
			id = req.SessionID
		}
	}
	if id == "" {
		f.writeError(w, http.StatusBadRequest, logic.ErrInvalidRequest, []byte("name the session: session_id in the body or the X-Relay-Session header"))
		return
	}
	if !session.ValidID(id) {
		pe := sessionError(session.ErrInvalidID)
		f.writeError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
		return
	}
	if s.sessions == nil {
		pe := sessionError(session.ErrNotFound)
		f.writeError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
		return
	}
	// Only the request's own key's session: another key's of this id is,
	// for this request, an id that does not exist (the same 404).
	rec, err := s.sessions.End(sessionOwner(r.Context()), id)
	if err != nil {
		pe := sessionError(err)
		f.writeError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
		return
	}
	s.logWipe(rec)
	s.endBackendSessions(r.Context(), rec)
	b, _ := json.Marshal(map[string]any{"ended": true, "messages": rec.Messages})
	_ = writeJSON(w, http.StatusOK, b)
}

// endBackendSessions has the backends that keep per-session state (the
// engine's KV cache) drop what they hold for the wiped sessions, which
// they know by their scoped names only (never the client's id, so one
// key's session never ends or reuses another key's state).
func (s *Server) endBackendSessions(ctx context.Context, recs ...session.WipeRecord) {
	for _, p := range s.backends.Providers {
		e, ok := p.(interface {
			EndSession(context.Context, string) error
		})
		if !ok {
			continue
		}
		for _, rec := range recs {
			if rec.Scope != "" {
				_ = e.EndSession(ctx, rec.Scope)
			}
		}
	}
}

// logWipe writes the metadata-only wipe log line.
func (s *Server) logWipe(rec session.WipeRecord) {
	s.log.Info("session wiped", "session", rec.Session, "count", rec.Messages, "reason", rec.Reason.String(), "duration_ms", rec.Took.Milliseconds())
}

// WipeSessions wipes every session for reason (shutdown, lockdown) and logs
// each wipe.
func (s *Server) WipeSessions(reason session.Reason) int {
	if s.sessions == nil {
		return 0
	}
	recs := s.sessions.WipeAll(reason)
	for _, rec := range recs {
		s.logWipe(rec)
	}
	return len(recs)
}

// reapBackendTimeout bounds how long the reaper waits on backends.
const reapBackendTimeout = 10 * time.Second

// ReapSessions wipes the sessions idle past their timeout, logs each and
// has the backends drop their state for them (or an idle-reaped
// conversation would live on in the engine's KV cache). Shutdown and
// lockdown need not: the engine child is stopped or restarted then.
func (s *Server) ReapSessions() int {
	if s.sessions == nil {
		return 0
	}
	recs := s.sessions.Reap()
	for _, rec := range recs {
		s.logWipe(rec)
	}
	if len(recs) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), reapBackendTimeout)
		s.endBackendSessions(ctx, recs...)
		cancel()
	}
	return len(recs)
}

// RestartChildren restarts every backend that runs a child process (the
// engine): lockdown wants their memory gone.
func (s *Server) RestartChildren() {
	for _, p := range s.backends.Providers {
		if r, ok := p.(interface{ Restart() error }); ok {
			if err := r.Restart(); err != nil {
				s.log.Error("backend restart failed", "component", "engine", "err_kind", "restart")
			}
		}
	}
}

// CloseBackends releases backends that hold resources (the engine child).
func (s *Server) CloseBackends() {
	for _, p := range s.backends.Providers {
		if c, ok := p.(io.Closer); ok {
			_ = c.Close()
		}
	}
}
