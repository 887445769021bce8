// Package secret holds credentials in memory: a [Secret] redacts itself in
// every formatting path, compares in constant time and can be wiped.
//
// This package is a leaf: it imports nothing from the project.
package secret

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

const redacted = "[secret redacted]"

// Secret is a credential. The zero value is empty. The marker field forbids
// == so that secrets are only ever compared with [Secret.Equal].
type Secret struct {
	_ [0]func()
	b []byte
}

// New wraps b without copying; the caller hands ownership over.
func New(b []byte) Secret { return Secret{b: b} }

// FromString copies s.
func FromString(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{b: []byte(s)}
}

// IsEmpty reports whether there is no secret.
func (s Secret) IsEmpty() bool { return len(s.b) == 0 }

// Reveal returns the bytes (not a copy) for the one place that injects the
// credential: a request header or a child's environment.
func (s Secret) Reveal() []byte { return s.b }

// Equal compares in constant time (for equal lengths).
func (s Secret) Equal(o Secret) bool { return subtle.ConstantTimeCompare(s.b, o.b) == 1 }

// Wipe zeroes the bytes and empties s.
func (s *Secret) Wipe() {
	clear(s.b)
	s.b = nil
}

// String redacts.
func (Secret) String() string { return redacted }

// GoString redacts.
func (Secret) GoString() string { return redacted }

// Format redacts for every verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue redacts.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON redacts.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
