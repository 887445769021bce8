package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// The numeric parameters are decoded from their raw JSON here rather than
// by encoding/json into typed fields, so that every value outside its range
// — too large for the Go type (2^63, 1e400), a fraction where an integer
// belongs, a string — gets one error that names the field and its range.

// IntRange is an integer parameter's documented (or backend-imposed)
// bounds.
type IntRange struct{ Lo, Hi int64 }

// Msg says the range, for an error.
func (r IntRange) Msg() string {
	return "must be an integer from " + strconv.FormatInt(r.Lo, 10) + " to " + strconv.FormatInt(r.Hi, 10)
}

// NumRange is a number parameter's bounds.
type NumRange struct{ Lo, Hi float64 }

// Msg says the range, for an error.
func (r NumRange) Msg() string {
	return "must be a number from " + strconv.FormatFloat(r.Lo, 'g', -1, 64) + " to " + strconv.FormatFloat(r.Hi, 'g', -1, 64)
}

// number returns raw's JSON number literal, or nil when raw is absent or
// null; ok is false when raw is some other JSON value.
func number(raw json.RawMessage) (lit []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if IsNull(raw) {
		return nil, true
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return nil, false
	}
	return raw, true
}

// IntParam decodes an optional integer parameter: nil when absent or null.
// Anything but an integer literal within r (a fraction, an exponent, a
// value past int64, a string) is an error naming field.
func IntParam(raw json.RawMessage, field string, r IntRange) (*int64, error) {
	lit, ok := number(raw)
	if !ok {
		return nil, &RequestError{Field: field, Msg: r.Msg()}
	}
	if lit == nil {
		return nil, nil
	}
	v, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil || v < r.Lo || v > r.Hi {
		return nil, &RequestError{Field: field, Msg: r.Msg()}
	}
	return &v, nil
}

// NumParam decodes an optional number parameter: nil when absent or null.
// A value that overflows float64 (1e400) or lies outside r is an error
// naming field; -0 becomes 0.
func NumParam(raw json.RawMessage, field string, r NumRange) (*float64, error) {
	lit, ok := number(raw)
	if !ok {
		return nil, &RequestError{Field: field, Msg: r.Msg()}
	}
	if lit == nil {
		return nil, nil
	}
	v, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < r.Lo || v > r.Hi {
		return nil, &RequestError{Field: field, Msg: r.Msg()}
	}
	if v == 0 {
		v = 0 // -0 becomes 0: backends need not print a negative zero
	}
	return &v, nil
}
