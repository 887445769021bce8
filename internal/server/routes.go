package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/inference-relay/relay/internal/logic"
)

// endpoint is one row of the relay's route table. Everything that knows the
// routes — the mux, the log's path templates, the 404 text, the error shape
// of a refusal — is derived from the table, so a new front is one row.
type endpoint struct {
	path string
	// methods are the ones the route answers; others get a 405 naming
	// them. Empty: any method.
	methods []string
	// front is the API whose error shape the route's refusals take; nil:
	// Anthropic's when the request carries an anthropic-version header,
	// OpenAI's otherwise (routes both SDKs call).
	front front
	// audited routes record a refused method like any request they serve
	// (the inference routes); others only count it.
	audited bool
	// listed routes are named in the 404 text.
	listed  bool
	handler http.Handler
}

// routeTable is the relay's routes. Metrics is served only when the caller
// gave a handler for it.
func (s *Server) routeTable(metrics http.Handler) []endpoint {
	post, get := []string{http.MethodPost}, []string{http.MethodGet}
	rt := []endpoint{
		{path: "/healthz", handler: http.HandlerFunc(s.healthz)},
		{path: HelloPath, handler: http.HandlerFunc(s.hello)}, // Claude Code's probe, keyless (compat.go)
		{path: "/v1/chat/completions", methods: post, front: openaiFront{}, audited: true, listed: true, handler: s.inference(openaiFront{})},
		{path: "/v1/messages", methods: post, front: anthropicFront{}, audited: true, listed: true, handler: s.inference(anthropicFront{})},
		{path: "/v1/messages/count_tokens", methods: post, front: anthropicFront{}, audited: true, listed: true, handler: http.HandlerFunc(s.countTokens)},
		{path: "/v1/models", methods: get, listed: true, handler: http.HandlerFunc(s.models)},
		{path: "/v1/session/end", methods: post, listed: true, handler: http.HandlerFunc(s.endSession)},
		{path: "/audit", methods: get, front: openaiFront{}, listed: true, handler: http.HandlerFunc(s.auditState)},
	}
	if metrics != nil {
		rt = append(rt, endpoint{path: "/metrics", methods: get, listed: true, handler: metrics})
	}
	return rt
}

// mount builds the mux from the table: each route behind its method check,
// and the 404 for everything else.
func (s *Server) mount(rt []endpoint) http.Handler {
	s.routes = rt
	var listed []string
	for _, r := range rt {
		if r.listed {
			listed = append(listed, r.path)
		}
	}
	s.notFoundMsg = "no such route; the relay serves " + joinList(listed)
	mux := http.NewServeMux()
	for _, r := range rt {
		mux.Handle(r.path, s.methodCheck(r))
	}
	mux.HandleFunc("/", s.notFound)
	return mux
}

// methodCheck answers a method the route does not serve with a 405 naming
// the ones it does, in the route's error shape.
func (s *Server) methodCheck(rt endpoint) http.Handler {
	if len(rt.methods) == 0 {
		return rt.handler
	}
	allow := strings.Join(rt.methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(rt.methods, r.Method) {
			rt.handler.ServeHTTP(w, r)
			return
		}
		if rt.audited {
			o := s.newOutcome()
			o.fail(logic.ErrInvalidRequest, http.StatusMethodNotAllowed)
			defer s.record(o)
		}
		w.Header().Set("Allow", allow)
		s.frontFor(r).writeError(w, http.StatusMethodNotAllowed, logic.ErrInvalidRequest, []byte("method not allowed; use "+allow))
	})
}

// lookup finds the route serving path exactly, or else the route whose path
// is the longest prefix of it ("/v1/messages/batches" is the Messages
// API's, for its error shape); ok reports an exact match.
func (s *Server) lookup(path string) (rt endpoint, ok bool) {
	best := -1
	for i, r := range s.routes {
		if r.path == path {
			return r, true
		}
		if strings.HasPrefix(path, r.path+"/") && (best < 0 || len(r.path) > len(s.routes[best].path)) {
			best = i
		}
	}
	if best >= 0 {
		return s.routes[best], false
	}
	return endpoint{}, false
}

// frontFor picks the error shape of a request: its route's, else by the
// anthropic-version header.
func (s *Server) frontFor(r *http.Request) front {
	if rt, _ := s.lookup(r.URL.Path); rt.front != nil {
		return rt.front
	}
	if r.Header.Get("Anthropic-Version") != "" {
		return anthropicFront{}
	}
	return openaiFront{}
}

// template maps a path to the route it was served by, so logs never carry
// client-chosen paths.
func (s *Server) template(p string) string {
	if _, ok := s.lookup(p); ok {
		return p
	}
	return "other"
}

func joinList(items []string) string {
	switch len(items) {
	case 0:
		return "nothing"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
