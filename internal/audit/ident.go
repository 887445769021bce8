package audit

import (
	"errors"
	"log/slog"
	"sync"
)

// unknownName is what every unregistered or malformed identifier becomes.
const unknownName = "unknown"

// Ident is a provider, model or alias name the relay knows. Only a
// [Registry] makes one, and only from a name registered beforehand, so a
// client-supplied string can never reach the audit file, a metric label or a
// log verbatim. The zero value is [Unknown].
type Ident struct {
	name string
}

// Unknown is the identifier recorded in place of anything not registered.
var Unknown = Ident{}

// String returns the name, or "unknown".
func (i Ident) String() string {
	if i.name == "" {
		return unknownName
	}
	return i.name
}

// IsUnknown reports whether i stands for an unregistered name.
func (i Ident) IsUnknown() bool { return i.name == "" || i.name == unknownName }

// MarshalText encodes the name.
func (i Ident) MarshalText() ([]byte, error) { return []byte(i.String()), nil }

// LogValue logs the name.
func (i Ident) LogValue() slog.Value { return slog.StringValue(i.String()) }

// ErrInvalidIdent is returned by [Registry.Add] for a name that does not
// match the identifier syntax. The name itself is not repeated in the error.
var ErrInvalidIdent = errors.New("audit: invalid identifier")

// maxIdentLen bounds an identifier, and so every label and audit field.
const maxIdentLen = 128

// ValidIdent reports whether s matches ^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$
// — the syntax of a provider, model or alias name. It is hand-written rather
// than a regexp because it runs on every request.
func ValidIdent(s string) bool {
	if len(s) == 0 || len(s) > maxIdentLen || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if alnum(c) {
			continue
		}
		switch c {
		case '.', '_', ':', '/', '@', '+', '-':
			continue
		}
		return false
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Registry is the set of identifiers the relay knows: provider names, model
// names and aliases, added at config load and model discovery. Because only
// registered names become Idents, the registry also bounds the cardinality
// of metric labels. The zero value is an empty registry; it is safe for
// concurrent use.
type Registry struct {
	mu    sync.RWMutex
	names map[string]string // name → the registry's own copy
}

// Add registers names. It registers every valid name and returns
// [ErrInvalidIdent] if any was invalid.
func (r *Registry) Add(names ...string) error {
	var err error
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		if !ValidIdent(n) {
			err = ErrInvalidIdent
			continue
		}
		if r.names == nil {
			r.names = make(map[string]string)
		}
		if _, ok := r.names[n]; !ok {
			r.names[n] = string(append([]byte(nil), n...))
		}
	}
	return err
}

// Ident returns s as an [Ident] if s is registered and well-formed, and
// [Unknown] otherwise. A nil registry knows nothing.
func (r *Registry) Ident(s string) Ident {
	if r == nil || !ValidIdent(s) {
		return Unknown
	}
	r.mu.RLock()
	name, ok := r.names[s]
	r.mu.RUnlock()
	if !ok {
		return Unknown
	}
	// The registry's own copy, so an Ident never aliases the caller's
	// string (which may be backed by request bytes that get wiped).
	return Ident{name: name}
}
