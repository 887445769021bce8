package server

import (
	"strings"
	"time"

	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/route"
)

// Backends is what the server routes to. The server only serves them:
// internal/backends builds them (providers, engine child, routing table),
// and a test may build one by hand.
type Backends struct {
	Providers map[string]provider.Provider
	Table     *route.Table
	Infos     []BackendInfo
	Started   time.Time
}

// BackendInfo describes one backend for `relay doctor`, `relay models` and
// GET /audit.
type BackendInfo struct {
	Name     string
	Kind     string
	BaseURL  string
	Models   []string
	Detected bool
	// Problem says why the backend is not serving, empty when it is.
	Problem string
}

// Names are the identifiers the audit may record verbatim: backend names,
// every routable model name, and the models route rules point at. All come
// from the configuration or from the engines themselves, never from a
// client.
func (b *Backends) Names(c config.Config) []string {
	var names []string
	for _, i := range b.Infos {
		names = append(names, i.Name)
	}
	for _, m := range b.Table.Models() {
		names = append(names, m.ID)
	}
	for _, r := range c.Routes {
		if _, m, ok := strings.Cut(r.Target, "/"); ok && m != "" {
			names = append(names, m)
		}
	}
	return names
}
