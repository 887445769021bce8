package audit

import "github.com/inference-relay/relay/internal/logic"

// StatusClass is the coarse outcome of a request as the client saw it.
type StatusClass uint8

const (
	// StatusUnknown is the zero value: the outcome was not recorded.
	StatusUnknown StatusClass = iota
	Status2xx
	Status4xx
	Status5xx
	// StatusCanceled means the client went away before the reply ended.
	StatusCanceled
)

var statusNames = [...]string{
	StatusUnknown:  "unknown",
	Status2xx:      "2xx",
	Status4xx:      "4xx",
	Status5xx:      "5xx",
	StatusCanceled: "canceled",
}

// String names the class; values outside the enum read "unknown".
func (s StatusClass) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return statusNames[StatusUnknown]
}

// MarshalText encodes the name, so JSON carries "2xx" rather than a number.
func (s StatusClass) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// StatusOf classifies the HTTP status code the relay answered with.
// Everything below 400 counts as success; 499 is nginx's "client closed".
func StatusOf(code int) StatusClass {
	switch {
	case code <= 0:
		return StatusUnknown
	case code < 400:
		return Status2xx
	case code == 499:
		return StatusCanceled
	case code < 500:
		return Status4xx
	default:
		return Status5xx
	}
}

// StatusFor classifies a request by its error class.
func StatusFor(c logic.ErrorClass) StatusClass {
	if c == logic.ErrCanceled {
		return StatusCanceled
	}
	return StatusOf(c.HTTPStatus())
}
