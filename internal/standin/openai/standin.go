// Package openai is a stand-in for the OpenAI API, for tests and
// benchmarks: an http.Handler that answers POST /v1/chat/completions and
// GET /v1/models with the published wire format, deterministically.
//
// It decodes requests with its own structs, independently of the relay's
// codec in wire/openai, so that a test passing against it says something
// about the real format and not only about the codec agreeing with itself.
//
// Behaviour: the reply is "echo: " + the last user message's text (or
// "tool said: " + the result, after a tool message), streamed one word per
// chunk; with tools, a user turn last and tool_choice other than "none", it
// calls the first tool with {"query": <the user's text>}. Magic
// model names trigger failures: fail-400, fail-401, fail-404, fail-429,
// fail-500, fail-503, hang, midstream-error, cut; and behaviours:
// tool-call calls the first tool also when system messages follow the
// user's turn (Claude Code's shape), reasoner sends reasoning_content
// ("reasoning about: " + the user's text) before its answer.
package openai

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/inference-relay/relay/internal/standin"
)

// Options shapes the stand-in's behaviour.
type Options struct {
	Latency    time.Duration // delay before response headers
	TokenDelay time.Duration // delay between streamed chunks
	Models     []string      // listed by GET /v1/models (default: ["gpt-standin"])
	APIKey     string        // when set, require "Authorization: Bearer <key>" → 401 otherwise
}

// Server is the stand-in. It is safe for concurrent use.
type Server struct {
	opts Options
	standin.Tally
}

// maxBody caps a request body.
const maxBody = 32 << 20

// created is the fixed "created" timestamp of every object, for
// deterministic output.
const created = 1700000000

// New returns a stand-in with options o.
func New(o Options) *Server {
	if len(o.Models) == 0 {
		o.Models = []string{"gpt-standin"}
	}
	return &Server{opts: o}
}

// ServeHTTP routes POST /v1/chat/completions and GET /v1/models.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Hit()
	if s.opts.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
		return
	}
	switch {
	case r.URL.Path == "/v1/chat/completions" && r.Method == http.MethodPost:
		s.chat(w, r)
	case r.URL.Path == "/v1/models" && r.Method == http.MethodGet:
		s.models(w)
	case r.URL.Path == "/v1/chat/completions" || r.URL.Path == "/v1/models":
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed.", "invalid_request_error", "")
	default:
		writeError(w, http.StatusNotFound, "Unknown request URL: "+r.Method+" "+r.URL.Path, "invalid_request_error", "unknown_url")
	}
}

func (s *Server) models(w http.ResponseWriter) {
	var b strings.Builder
	b.WriteString(`{"object":"list","data":[`)
	for i, m := range s.opts.Models {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":` + quote(m) + `,"object":"model","created":` + strconv.Itoa(created) + `,"owned_by":"standin"}`)
	}
	b.WriteString("]}")
	writeJSON(w, http.StatusOK, []byte(b.String()))
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Could not read the request body.", "invalid_request_error", "")
		return
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "Request too large.", "invalid_request_error", "")
		return
	}
	s.Keep(body)

	req, msg := parseRequest(body)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg, "invalid_request_error", "")
		return
	}
	ctx := r.Context()
	if !s.sleep(ctx, s.opts.Latency) {
		return
	}
	if status, ok := failStatus(req.Model); ok {
		writeFailure(w, status, req.Model)
		return
	}
	if req.Model == "hang" {
		<-ctx.Done()
		s.Cancel()
		return
	}
	rep := buildReply(req)
	if !req.Stream {
		writeJSON(w, http.StatusOK, completion(req, rep))
		return
	}
	s.stream(ctx, w, req, rep)
}

// sleep waits d, or reports false (and counts a cancel) if ctx ends first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		if ctx.Err() != nil {
			s.Cancel()
			return false
		}
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		s.Cancel()
		return false
	}
}

// failStatus maps the magic "fail-NNN" models to their status.
func failStatus(model string) (int, bool) {
	switch model {
	case "fail-400", "fail-401", "fail-404", "fail-429", "fail-500", "fail-503":
		n, _ := strconv.Atoi(strings.TrimPrefix(model, "fail-"))
		return n, true
	}
	return 0, false
}
