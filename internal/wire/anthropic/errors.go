package anthropic

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/inference-relay/relay/internal/logic"
)

// errorType is the Anthropic error "type" a front presents for class.
// Anthropic has no type for a gateway failure, so 502 and 504 go out as
// api_error with their own status.
func errorType(class logic.ErrorClass) string {
	switch class {
	case logic.ErrInvalidRequest:
		return "invalid_request_error"
	case logic.ErrAuthentication:
		return "authentication_error"
	case logic.ErrPermission:
		return "permission_error"
	case logic.ErrNotFound:
		return "not_found_error"
	case logic.ErrTooLarge:
		return "request_too_large"
	case logic.ErrRateLimited:
		return "rate_limit_error"
	case logic.ErrOverloaded:
		return "overloaded_error"
	default:
		return "api_error"
	}
}

// classOf maps an Anthropic error type to a class; ok is false for types
// this package does not know.
func classOf(typ string) (class logic.ErrorClass, ok bool) {
	switch typ {
	case "invalid_request_error":
		return logic.ErrInvalidRequest, true
	case "authentication_error":
		return logic.ErrAuthentication, true
	case "permission_error", "billing_error":
		return logic.ErrPermission, true
	case "not_found_error":
		return logic.ErrNotFound, true
	case "request_too_large":
		return logic.ErrTooLarge, true
	case "rate_limit_error":
		return logic.ErrRateLimited, true
	case "api_error":
		return logic.ErrUpstream, true
	case "overloaded_error":
		return logic.ErrOverloaded, true
	case "timeout_error":
		return logic.ErrTimeout, true
	}
	return logic.ErrUpstream, false
}

// appendErrorBody appends {"type":"error","error":{"type":..,"message":..}}.
func appendErrorBody(b []byte, class logic.ErrorClass, msg []byte) []byte {
	b = append(b, `{"type":"error","error":{"type":`...)
	b = appendStr(b, errorType(class))
	b = append(b, `,"message":`...)
	b = appendString(b, msg)
	return append(b, `}}`...)
}

// WriteError writes an Anthropic error body with status (class's own status
// when 0). msg reaches the client that sent the request and nobody else.
func WriteError(w http.ResponseWriter, status int, class logic.ErrorClass, msg []byte) {
	if status == 0 {
		status = class.HTTPStatus()
	}
	body := appendErrorBody(nil, class, msg)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errorBody is the published error shape, for reading it.
type errorBody struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// ParseUpstreamError classifies an error response from the Anthropic API
// and returns its message. The class follows the error type the API
// names, or the status when the body is not the published shape; then the
// message is one the relay writes, since the body may be anything (a
// proxy's HTML page).
func ParseUpstreamError(status int, body []byte) (logic.ErrorClass, []byte) {
	fallback := logic.ClassForStatus(status)
	if fallback == logic.ErrNone {
		fallback = logic.ErrUpstream
	}
	var e errorBody
	if json.Unmarshal(body, &e) != nil || e.Error == nil {
		return fallback, []byte("the backend answered with HTTP " + strconv.Itoa(status) + " and no error detail")
	}
	class, ok := classOf(e.Error.Type)
	if !ok {
		class = fallback
	}
	msg := []byte(e.Error.Message)
	if len(msg) == 0 {
		msg = []byte("the backend reported an error without a message")
	}
	return class, msg
}

// StreamError is an `event: error` the upstream sent in the middle of a
// stream. Msg is the upstream's message: it may echo user content, so it
// is content and stays out of Error().
type StreamError struct {
	Class logic.ErrorClass
	Msg   []byte
}

func (e *StreamError) Error() string { return "anthropic: error event in stream: " + e.Class.String() }
