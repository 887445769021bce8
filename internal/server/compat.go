package server

import (
	"net/http"
	"strconv"
)

// What the relay does so that clients written for the hosted APIs work
// unchanged: the probes Claude Code sends before its first request, and the
// counting of request fields the decoders dropped (docs/ARCHITECTURE.md,
// "Tomorrow's fields").

// HelloPath is the path Claude Code probes: HEAD to warm the connection up
// (its answer is ignored), GET in its connectivity check (a 200 passes).
// The probes carry no API key, so the path is served before the key check,
// as /healthz is; it reads nothing and says nothing.
const HelloPath = "/api/hello"

// noKeyPath reports whether path is served without an API key.
func noKeyPath(path string) bool { return path == "/healthz" || path == HelloPath }

// hello answers the probe: 200 with an empty body to HEAD and GET, as the
// hosted API's connectivity check expects; 405 to anything else.
func (s *Server) hello(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodHead && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, HEAD")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(0))
	w.WriteHeader(http.StatusOK)
}

// UnknownFieldCounter counts request fields a decoder dropped, by front and
// field name (a short identifier or "other"; see wire.DecodeTop). The
// metrics implement it; a Refusals counter that does is used for it.
type UnknownFieldCounter interface {
	UnknownField(front, name string)
}

// unknownFields returns the reporting function f's decoder is given, or nil
// when nothing counts dropped fields.
func (s *Server) unknownFields(f front) func(string) {
	c, ok := s.refusals.counter.(UnknownFieldCounter)
	if !ok {
		return nil
	}
	name := f.name()
	return func(field string) { c.UnknownField(name, field) }
}
