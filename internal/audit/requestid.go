package audit

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// RequestID names one request in the audit file and in logs. It is random,
// so it says nothing about the request.
type RequestID [16]byte

// NewRequestID returns 16 bytes from the system's secure random source.
func NewRequestID() RequestID {
	var id RequestID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails; it crashes instead.
	return id
}

// String renders 32 lowercase hex digits.
func (id RequestID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id was never set.
func (id RequestID) IsZero() bool { return id == RequestID{} }

// MarshalText encodes the hex form.
func (id RequestID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// LogValue logs the hex form (a bare byte array would be dropped by the
// log filter as raw bytes).
func (id RequestID) LogValue() slog.Value { return slog.StringValue(id.String()) }
