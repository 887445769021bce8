// Package anthropic is a stand-in for the Anthropic Messages API, for tests
// and benchmarks: an http.Handler that answers POST /v1/messages (streamed
// and not), POST /v1/messages/count_tokens and GET /v1/models in exactly
// the published wire format, with deterministic replies and magic model
// names that fail in chosen ways.
//
// It is written independently of the relay's own Anthropic codec (it has
// its own request structs and encodes with encoding/json), so a test that
// runs the relay against it checks the relay against the format, not
// against itself; tests also run the official SDK against it.
//
// Replies: "echo: " + the text of the last user message, or "tool said: "
// + the tool result it holds. Each space-separated word (with its leading
// space) is one token and one text_delta. When the request has tools and
// the last user message is plain text, the reply is a call of the first
// tool with input {"query": <that text>}. Magic models: fail-400, fail-401,
// fail-404, fail-429, fail-500 and fail-529 answer with that error; hang
// never answers; midstream-error sends one delta then an error event; cut
// sends two deltas and closes without message_stop.
package anthropic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/inference-relay/relay/internal/standin"
)

// Options configures a Server.
type Options struct {
	Latency    time.Duration // before the first byte of every answer
	TokenDelay time.Duration // between streamed deltas
	Models     []string      // GET /v1/models (default ["claude-standin"])
	APIKey     string        // when set, x-api-key must match (401 otherwise)
}

// Server is the stand-in. It is safe for concurrent use.
type Server struct {
	o Options
	standin.Tally
}

// New returns a stand-in server.
func New(o Options) *Server {
	if len(o.Models) == 0 {
		o.Models = []string{"claude-standin"}
	}
	return &Server{o: o}
}

// ServeHTTP routes the three endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	n := s.Hit()
	if len(body) > 0 {
		s.Keep(body)
	}
	reqID := fmt.Sprintf("req_standin_%06d", n)
	w.Header().Set("request-id", reqID)
	if err != nil {
		writeError(w, reqID, http.StatusBadRequest, "could not read the request body")
		return
	}
	if s.o.APIKey != "" && r.Header.Get("x-api-key") != s.o.APIKey {
		writeError(w, reqID, http.StatusUnauthorized, "invalid x-api-key")
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		writeError(w, reqID, http.StatusBadRequest, "anthropic-version: header is required")
		return
	}
	c := &call{s: s, w: w, r: r, reqID: reqID, n: n}
	switch {
	case r.URL.Path == "/v1/messages" && r.Method == http.MethodPost:
		c.messages(body)
	case r.URL.Path == "/v1/messages/count_tokens" && r.Method == http.MethodPost:
		c.countTokens(body)
	case r.URL.Path == "/v1/models" && r.Method == http.MethodGet:
		s.models(w, r, reqID)
	default:
		writeError(w, reqID, http.StatusNotFound, "not found")
	}
}

// call is one request being answered.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	reqID string
	n     int
}

// wait sleeps d unless the client goes away first; ok is false then.
func (c *call) wait(d time.Duration) bool {
	if d <= 0 {
		return c.r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.r.Context().Done():
		return false
	}
}

// magic answers the magic model names; handled is true when it did.
func (c *call) magic(model string) (handled bool) {
	if code, ok := strings.CutPrefix(model, "fail-"); ok {
		status, err := strconv.Atoi(code)
		if err == nil && errorTypes[status] != "" {
			if c.wait(c.s.o.Latency) {
				writeError(c.w, c.reqID, status, "stand-in failure "+code)
			} else {
				c.s.Cancel()
			}
			return true
		}
	}
	if model == "hang" {
		<-c.r.Context().Done()
		c.s.Cancel()
		return true
	}
	return false
}

var errorTypes = map[int]string{
	400: "invalid_request_error",
	401: "authentication_error",
	403: "permission_error",
	404: "not_found_error",
	413: "request_too_large",
	429: "rate_limit_error",
	500: "api_error",
	529: "overloaded_error",
}

func writeError(w http.ResponseWriter, reqID string, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(marshal(map[string]any{
		"type":       "error",
		"error":      map[string]any{"type": errorTypes[status], "message": msg},
		"request_id": reqID,
	}))
}

// marshal encodes v as the API does: no HTML escaping.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only the stand-in's own values are encoded
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func (c *call) countTokens(body []byte) {
	req, ok := c.accept(body, false)
	if !ok {
		return
	}
	c.w.Header().Set("Content-Type", "application/json")
	_, _ = c.w.Write(marshal(map[string]int{"input_tokens": req.inputTokens()}))
}

func (s *Server) models(w http.ResponseWriter, r *http.Request, reqID string) {
	limit := 20
	if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && l >= 1 && l <= 1000 {
		limit = l
	}
	ids := s.o.Models
	if after := r.URL.Query().Get("after_id"); after != "" {
		for i, id := range ids {
			if id == after {
				ids = ids[i+1:]
				break
			}
		}
	}
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	data := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		data = append(data, map[string]any{"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"})
	}
	page := map[string]any{"data": data, "has_more": more, "first_id": nil, "last_id": nil}
	if len(ids) > 0 {
		page["first_id"], page["last_id"] = ids[0], ids[len(ids)-1]
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(marshal(page))
}

// toolID is "toolu_" and 8 hex characters derived from the call's input.
func toolID(input string) string {
	sum := sha256.Sum256([]byte(input))
	return "toolu_" + hex.EncodeToString(sum[:4])
}
