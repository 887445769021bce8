package openai

import (
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
)

// StreamError is an error an upstream server reported inside its stream.
// Msg is the server's own message: it may echo user content, so it is kept
// out of Error and is for the requesting client only.
type StreamError struct {
	Class logic.ErrorClass
	Msg   []byte
}

// Error names the class only.
func (e *StreamError) Error() string { return "openai upstream stream: " + e.Class.String() }

// maxErrorMessage caps how much of a backend's error message the relay
// passes on.
const maxErrorMessage = 4 << 10

// errorType is the OpenAI error "type" a front reports for a class.
func errorType(class logic.ErrorClass) string {
	switch class {
	case logic.ErrInvalidRequest, logic.ErrTooLarge:
		return "invalid_request_error"
	case logic.ErrAuthentication:
		return "authentication_error"
	case logic.ErrPermission:
		return "permission_error"
	case logic.ErrNotFound:
		return "not_found_error"
	case logic.ErrRateLimited:
		return "rate_limit_error"
	case logic.ErrTimeout:
		return "timeout_error"
	case logic.ErrOverloaded, logic.ErrUnavailable:
		return "service_unavailable_error"
	case logic.ErrCanceled:
		return "request_canceled"
	default:
		return "server_error"
	}
}

// appendErrorObject appends {"error":{"message","type","param":null,"code"}}.
// code is the class name: stable, and never a client value.
func appendErrorObject(j *jbuf, class logic.ErrorClass, msg []byte) {
	j.raw(`{"error":{"message":`)
	j.text(msg)
	j.raw(`,"type":`)
	j.str(errorType(class))
	j.raw(`,"param":null,"code":`)
	j.str(class.String())
	j.raw(`}}`)
}

// WriteError writes an OpenAI error body with status (the class's status
// when 0). msg is written as a JSON string.
func WriteError(w http.ResponseWriter, status int, class logic.ErrorClass, msg []byte) {
	if status == 0 {
		status = class.HTTPStatus()
	}
	var j jbuf
	appendErrorObject(&j, class, msg)
	j.raw("\n")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(j.b)))
	w.WriteHeader(status)
	_, _ = w.Write(j.b)
	clear(j.b) // the message may echo content
}

// upstreamError is the shape OpenAI-compatible servers use for errors, in a
// response body or inside a stream.
type upstreamError struct {
	Error *struct {
		Message text            `json:"message"`
		Type    json.RawMessage `json:"type"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

// ParseUpstreamError reads an upstream error body: {"error":{"message":..}}
// or plain text, capped. The class comes from the status; the message is
// the backend's and may echo content.
func ParseUpstreamError(status int, body []byte) (logic.ErrorClass, []byte) {
	class := logic.ClassForStatus(status)
	if class == logic.ErrNone {
		// A success status with an error body is a backend fault.
		class = logic.ErrUpstream
	}
	if msg, ok := errorMessage(body); ok {
		return class, msg
	}
	if t := wire.TrimSpace(body); len(t) > 0 && wire.FirstByte(t) != '{' && wire.FirstByte(t) != '<' {
		return class, capMessage(t)
	}
	return class, []byte("the backend answered with status " + strconv.Itoa(status))
}

// errorMessage extracts error.message from an OpenAI error object.
func errorMessage(body []byte) ([]byte, bool) {
	var ue upstreamError
	if json.Unmarshal(body, &ue) != nil || ue.Error == nil || len(ue.Error.Message.b) == 0 {
		return nil, false
	}
	return capMessage(ue.Error.Message.b), true
}

// capMessage returns a copy of at most maxErrorMessage bytes of b, cut on a
// rune boundary.
func capMessage(b []byte) []byte {
	if len(b) > maxErrorMessage {
		cut := maxErrorMessage
		// b[cut] is the first byte dropped; if it continues a rune, drop
		// that whole rune.
		for i := 0; i < utf8.UTFMax && cut > 0 && !utf8.RuneStart(b[cut]); i++ {
			cut--
		}
		b = b[:cut]
	}
	return append([]byte(nil), b...)
}
