// Package server is the relay's HTTP front: the OpenAI and Anthropic routes,
// the guards every request passes (Host allowlist, cross-origin refusal, API
// key, body size and read time limits), and the pipeline that sends a decoded
// request to its backend and streams the reply back.
//
// Every error a client sees is in its API's own error shape. Logs carry
// route templates, status codes and durations, never a body or a header.
package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/route"
	"github.com/inference-relay/relay/internal/session"
)

// Options builds a Server.
type Options struct {
	Config   config.Config // after Defaults
	Keys     *auth.Store
	Backends *Backends
	Logger   *slog.Logger // nil: discard
	// Idents are the names the audit may record verbatim; others read
	// "unknown".
	Idents *audit.Registry
	// Keyer hashes session ids for the audit (nil: sessions not recorded).
	Keyer *audit.Keyer
	// Recorders receive one event per request.
	Recorders []Recorder
	// Metrics serves GET /metrics when set.
	Metrics http.Handler
	// Controls adds sections to GET /audit (the audit chain, sinks, …).
	Controls []Control
	// Sessions keeps client-named conversations; nil disables them.
	Sessions *session.Store
	// LocalToken, when set, is one more key the server accepts, as key
	// id LocalKeyID: the token `relay serve` hands its own command-line
	// tools through the discovery file (internal/discovery). It lives as
	// long as the process.
	LocalToken string
	// Refusals is told of each refused request as it happens (the
	// metrics); nil: none. Refusals reach the audit trail only as
	// per-interval summaries, through the Recorders that implement
	// SummaryRecorder (see FlushRefusals).
	Refusals RefusalCounter
}

// Server serves the relay's HTTP API.
type Server struct {
	cfg       config.Config
	keys      *auth.Store
	backends  *Backends
	log       *slog.Logger
	idents    *audit.Registry
	keyer     *audit.Keyer
	recorders []Recorder
	controls  []Control
	sessions  *session.Store
	started   time.Time
	hosts     map[string]bool
	origins   map[string]bool
	handler   http.Handler
	// routes is the route table (routes.go); notFoundMsg the 404 text
	// derived from it.
	routes      []endpoint
	notFoundMsg string
	localToken  string
	refusals    refusals
}

// New returns a Server. Keys may be nil only if no route needs a key, which
// is never: a nil store means every authenticated route answers 401.
func New(o Options) *Server {
	s := &Server{cfg: o.Config, keys: o.Keys, backends: o.Backends, log: o.Logger,
		idents: o.Idents, keyer: o.Keyer, localToken: o.LocalToken, recorders: o.Recorders, controls: o.Controls, sessions: o.Sessions, started: time.Now().UTC()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.refusals.since = s.started
	s.refusals.counter = o.Refusals
	if s.backends == nil {
		s.backends = &Backends{Providers: map[string]provider.Provider{}, Table: route.New(nil, nil)}
	}
	s.hosts = allowedHosts(o.Config)
	s.origins = map[string]bool{}
	for _, o := range o.Config.CORSOrigins {
		s.origins[o] = true
	}
	mux := s.mount(s.routeTable(o.Metrics))
	s.handler = s.guard(mux)
	return s
}

// Handler is the relay's whole HTTP API, guards included.
func (s *Server) Handler() http.Handler { return s.handler }

// Backends returns the backends the server routes to.
func (s *Server) Backends() *Backends { return s.backends }

// allowedHosts are the Host header names accepted: loopback names, the
// listen addresses' hosts and any configured names.
func allowedHosts(c config.Config) map[string]bool {
	h := map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
	for _, l := range c.Listen {
		if host, _, err := net.SplitHostPort(l); err == nil && host != "" {
			h[strings.ToLower(host)] = true
		}
	}
	for _, n := range c.AllowedHosts {
		h[strings.ToLower(n)] = true
	}
	return h
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, class logic.ErrorClass, msg string) {
	s.frontFor(r).writeError(w, class.HTTPStatus(), class, []byte(msg))
}

// deny refuses a request at the guard. The reply is the connection's last
// and the request's body is never read (see closeUnread). The refusal is
// counted, never recorded or logged one by one: a client without a key
// could otherwise grow the audit file and the log at will. The counts
// reach the metrics at once and the audit trail and the log as one
// summary per interval (FlushRefusals).
func (s *Server) deny(w http.ResponseWriter, r *http.Request, class logic.ErrorClass, msg string, reason audit.RefusalReason) {
	if isProbe(r) {
		s.fail(w, r, class, msg)
		return
	}
	closeUnread(w, r)
	s.fail(w, r, class, msg)
	markRefused(w)
	s.refusals.add(reason)
}

// markRefused tells the guard not to log the request on its own line.
func markRefused(w http.ResponseWriter) {
	if sw, ok := w.(*statusWriter); ok {
		sw.refused = true
	}
}

// guard runs before every route: panic recovery, Host allowlist,
// cross-origin refusal, API key.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "path_template", s.template(r.URL.Path))
				if !sw.wrote {
					s.fail(sw, r, logic.ErrInternal, "the relay failed while handling this request")
				}
			}
			if isProbe(r) || sw.refused {
				return
			}
			s.log.Info("request", "method", method(r.Method), "path_template", s.template(r.URL.Path), "status", sw.code(), "duration_ms", time.Since(start).Milliseconds())
		}()
		if !s.hostAllowed(r.Host) {
			s.deny(sw, r, logic.ErrPermission, "host not allowed: the relay answers only to its own host names (DNS-rebinding defence); add the name to allowed_hosts", audit.RefusedHost)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" || crossSite(r) {
			if origin == "" || !s.origins[origin] {
				s.deny(sw, r, logic.ErrPermission, "cross-origin browser requests are refused; add the origin to cors_origins to allow it", audit.RefusedOrigin)
				return
			}
			h := sw.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Api-Key, Anthropic-Version, X-Relay-Session")
				sw.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if !noKeyPath(r.URL.Path) {
			keyID, ok := s.authorized(r)
			if !ok {
				s.deny(sw, r, logic.ErrAuthentication, "missing or invalid API key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'; create one with 'relay keys create'", audit.RefusedAuth)
				return
			}
			r = r.WithContext(withKeyID(r.Context(), keyID))
		}
		// The http.Server's ReadTimeout bounds the whole request from its
		// first byte, so a client that never finishes one is dropped. A
		// request that passed the guards and has no body to read gets its
		// deadline lifted here; one with a body, in readBody once the body
		// is in.
		if r.ContentLength == 0 && !isProbe(r) {
			_ = http.NewResponseController(sw).SetReadDeadline(time.Time{})
		}
		next.ServeHTTP(sw, r)
	})
}

// crossSite reports a browser's own word that the request is not
// user-initiated from the relay itself.
func crossSite(r *http.Request) bool {
	v := r.Header.Get("Sec-Fetch-Site")
	return v != "" && v != "none"
}

func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	return host != "" && s.hosts[host]
}

// authorized checks the request's API key and names the key it matched.
func (s *Server) authorized(r *http.Request) (keyID string, ok bool) {
	var key string
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		key = strings.TrimSpace(a[7:])
	} else {
		key = strings.TrimSpace(r.Header.Get("X-Api-Key"))
	}
	if s.localToken != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.localToken)) == 1 {
		return LocalKeyID, true
	}
	if s.keys == nil {
		return "", false
	}
	return s.keys.Check([]byte(key))
}

// LocalKeyID is the key id of requests made with the server's local token
// (Options.LocalToken): the relay's own command-line tools. Stored key ids
// are random hex and never this.
const LocalKeyID = "local-cli"

// method names the request method for logs; anything but the standard
// methods is client text and reads "other".
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return m
	}
	return "other"
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	_ = writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if !isProbe(r) {
		markRefused(w)
		s.refusals.add(audit.RefusedNotFound)
	}
	s.fail(w, r, logic.ErrNotFound, s.notFoundMsg)
}

// readBody reads a JSON request body under the size and time limits.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *provider.Error) {
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		return nil, &provider.Error{Class: logic.ErrInvalidRequest, Status: http.StatusUnsupportedMediaType, Detail: content.FromString("Content-Type must be application/json")}
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout.Duration))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		// Lifted only on success: after a failed read the deadline must
		// stay, or the server would wait for the rest of the body before
		// sending the error.
		_ = rc.SetReadDeadline(time.Time{})
		return body, nil
	case errors.As(err, &tooBig):
		return nil, provider.Errorf(logic.ErrTooLarge, fmt.Sprintf("request body is larger than the limit of %d bytes (max_body_bytes)", s.cfg.MaxBodyBytes))
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return nil, &provider.Error{Class: logic.ErrTimeout, Status: http.StatusRequestTimeout, Detail: content.FromString("the request body did not arrive in time")}
	default:
		return nil, provider.Errorf(logic.ErrInvalidRequest, "the request body could not be read")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func writeJSON(w http.ResponseWriter, code int, b []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(code)
	_, err := w.Write(b)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// statusWriter remembers whether and what status was written.
type statusWriter struct {
	http.ResponseWriter
	status  int
	wrote   bool
	refused bool // counted as a refusal: no log line of its own
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.status
}
