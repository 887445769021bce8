// Package route decides which backend and model serve a requested model
// name. It works on names only: it cannot import the content package, so
// routing can never depend on (or leak) what a request says.
package route

import (
	"errors"
	"path"
	"strings"
	"sync"

	"github.com/inference-relay/relay/internal/logic"
)

// ErrNoBackends means nothing is configured or detected.
var ErrNoBackends = errors.New("route: no backend available")

// ErrUnknownModel means no backend serves the requested model.
var ErrUnknownModel = errors.New("route: no backend serves that model")

// Backend describes one backend for routing.
type Backend struct {
	Name string
	// Models the backend is known to serve.
	Models []string
	// Prefixes of model names this backend serves even when unlisted
	// (e.g. "claude" for the Anthropic API, whose list may be partial).
	Prefixes []string
}

// Rule sends model names matching Match (a path.Match glob) to Target,
// "backend/model" or "backend" (keep the requested name).
type Rule struct {
	Match  string
	Target string
}

// Model is one routable model name.
type Model struct {
	ID      string
	Backend string
}

// Table is the routing table. Safe for concurrent use; Set replaces it.
type Table struct {
	mu       sync.RWMutex
	backends []Backend
	rules    []Rule
}

// New returns a table.
func New(backends []Backend, rules []Rule) *Table {
	t := &Table{}
	t.Set(backends, rules)
	return t
}

// Set replaces the backends and rules.
func (t *Table) Set(backends []Backend, rules []Rule) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.backends = append([]Backend(nil), backends...)
	t.rules = append([]Rule(nil), rules...)
}

// Backends returns the backends in order.
func (t *Table) Backends() []Backend {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]Backend(nil), t.backends...)
}

// Resolve picks the target for a requested model name. In order: the first
// rule whose glob matches; an explicit "backend/model"; the first backend
// listing the model; the first backend whose prefix matches.
func (t *Table) Resolve(model string) (logic.Target, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.backends) == 0 {
		return logic.Target{}, ErrNoBackends
	}
	for _, r := range t.rules {
		if ok, _ := path.Match(r.Match, model); ok {
			backend, m, found := strings.Cut(r.Target, "/")
			if !found || m == "" {
				m = model
			}
			if t.has(backend) {
				return logic.Target{Provider: backend, Model: m}, nil
			}
		}
	}
	if backend, m, ok := strings.Cut(model, "/"); ok && m != "" && t.has(backend) {
		return logic.Target{Provider: backend, Model: m}, nil
	}
	for _, b := range t.backends {
		for _, m := range b.Models {
			if m == model {
				return logic.Target{Provider: b.Name, Model: model}, nil
			}
		}
	}
	for _, b := range t.backends {
		for _, p := range b.Prefixes {
			if strings.HasPrefix(model, p) {
				return logic.Target{Provider: b.Name, Model: model}, nil
			}
		}
	}
	return logic.Target{}, ErrUnknownModel
}

func (t *Table) has(name string) bool {
	for _, b := range t.backends {
		if b.Name == name {
			return true
		}
	}
	return false
}

// Models lists every routable model: each backend's models by bare name
// (once, for the first backend listing it, as Resolve does) and as
// "backend/model"; then the rules whose match is a plain name.
func (t *Table) Models() []Model {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []Model
	seen := map[string]bool{}
	add := func(id, backend string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, Model{ID: id, Backend: backend})
		}
	}
	for _, b := range t.backends {
		for _, m := range b.Models {
			add(m, b.Name) // a bare name resolves to the first backend listing it
			add(b.Name+"/"+m, b.Name)
		}
	}
	for _, r := range t.rules {
		if !strings.ContainsAny(r.Match, "*?[\\") {
			backend, _, _ := strings.Cut(r.Target, "/")
			if t.has(backend) {
				add(r.Match, backend)
			}
		}
	}
	return out
}
