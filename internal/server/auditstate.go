package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/measure"
)

// Control is one section of GET /audit: the measured state of one control,
// read when asked, never a stored claim.
type Control interface {
	// Name is the section's key in the /audit document.
	Name() string
	// Measure returns the section, JSON-encodable, measured now.
	Measure() any
}

// ControlFunc adapts a function to Control.
type ControlFunc struct {
	Key string
	Fn  func() any
}

// Name implements Control.
func (c ControlFunc) Name() string { return c.Key }

// Measure implements Control.
func (c ControlFunc) Measure() any { return c.Fn() }

type probeKey struct{}

// isProbe reports a request the relay made to itself to measure a guard;
// it is not recorded in the audit.
func isProbe(r *http.Request) bool { return r.Context().Value(probeKey{}) != nil }

// probeResult is a guard measured by sending the relay a request that the
// guard must refuse.
type probeResult struct {
	Enforced   bool      `json:"enforced"`
	Status     int       `json:"status"`
	MeasuredAt time.Time `json:"measured_at"`
}

// probe sends a request through the whole handler, in process, and reports
// whether it was refused with want.
func (s *Server) probe(method, host string, hdr map[string]string, want int) probeResult {
	req := (&http.Request{Method: method, URL: &url.URL{Path: "/v1/models"}, Host: host, Header: http.Header{}}).
		WithContext(context.WithValue(context.Background(), probeKey{}, true))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := &discardWriter{h: http.Header{}}
	s.handler.ServeHTTP(rec, req)
	return probeResult{Enforced: rec.code == want, Status: rec.code, MeasuredAt: time.Now().UTC()}
}

// discardWriter records a status and drops the body.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) {
	if d.code == 0 {
		d.code = http.StatusOK
	}
	return len(b), nil
}
func (d *discardWriter) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}

type listenState struct {
	Sockets     []measure.Socket `json:"sockets"`
	NonLoopback bool             `json:"non_loopback"`
	Allowed     bool             `json:"non_loopback_allowed"`
	TLS         bool             `json:"tls"`
	Error       string           `json:"error,omitempty"`
	MeasuredAt  time.Time        `json:"measured_at"`
}

type backendState struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Network is where requests to the backend travel: "loopback",
	// "remote" (TLS to another host) or "none" (a socketpair to a child).
	Network  string `json:"network"`
	Detected bool   `json:"detected"`
	Models   int    `json:"models"`
}

// auditState serves GET /audit: every control's state, measured now.
func (s *Server) auditState(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UTC()
	doc := map[string]any{
		"measured_at": now,
		"process":     map[string]any{"pid": os.Getpid(), "started_at": s.started},
	}

	ls := listenState{Allowed: s.cfg.AllowNonLoopback, TLS: s.cfg.TLS.Enabled()}
	socks, err := measure.Listeners()
	if err != nil {
		ls.Error = "socket table could not be read"
	}
	ls.Sockets = socks
	for _, sk := range socks {
		if !sk.Loopback {
			ls.NonLoopback = true
		}
	}
	ls.MeasuredAt = time.Now().UTC()
	doc["listeners"] = ls

	nkeys := 0
	if s.keys != nil {
		nkeys = s.keys.Len()
	}
	doc["auth"] = map[string]any{
		"keys":               nkeys,
		"unauthenticated":    s.probe(http.MethodGet, "127.0.0.1", nil, logic.ErrAuthentication.HTTPStatus()),
		"constant_time_hash": "sha256",
	}
	doc["host_guard"] = s.probe(http.MethodGet, "rebind.invalid", nil, logic.ErrPermission.HTTPStatus())
	doc["origin_guard"] = s.probe(http.MethodGet, "127.0.0.1", map[string]string{"Origin": "https://cross-origin.invalid"}, logic.ErrPermission.HTTPStatus())
	doc["limits"] = map[string]any{
		"max_body_bytes":   s.cfg.MaxBodyBytes,
		"read_timeout_ms":  s.cfg.ReadTimeout.Milliseconds(),
		"write_timeout_ms": s.cfg.WriteTimeout.Milliseconds(),
	}
	var bs []backendState
	for _, b := range s.backends.Infos {
		network := "remote"
		if u, err := url.Parse(b.BaseURL); err == nil {
			switch {
			case u.Scheme == "socketpair":
				network = "none"
			case egress.IsLoopbackHost(u.Hostname()):
				network = "loopback"
			}
		}
		bs = append(bs, backendState{Name: b.Name, Kind: b.Kind, Network: network, Detected: b.Detected, Models: len(b.Models)})
	}
	doc["backends"] = bs
	doc["protections"] = measure.Protections()
	if s.sessions != nil {
		doc["sessions"] = s.sessions.Stats()
	}
	for _, c := range s.controls {
		doc[c.Name()] = c.Measure()
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		openaiFront{}.writeError(w, http.StatusInternalServerError, logic.ErrInternal, []byte("the audit state could not be encoded"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	_ = writeJSON(w, http.StatusOK, b)
}
