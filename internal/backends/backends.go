// Package backends builds what the relay routes to: a provider for every
// configured backend, the embedded engine (model files discovered and
// verified, the sandboxed engine child started), the local engines
// detected on their usual ports, and the routing table over them. It also
// measures the engine's section of GET /audit.
//
// The HTTP front (internal/server) only serves what is built here, through
// [server.Backends]; it links none of the providers, the detector, the
// weight checks or the sandbox.
package backends

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/detect"
	"github.com/inference-relay/relay/internal/provider"
	panthropic "github.com/inference-relay/relay/internal/provider/anthropic"
	popenai "github.com/inference-relay/relay/internal/provider/openai"
	"github.com/inference-relay/relay/internal/route"
	"github.com/inference-relay/relay/internal/sandbox"
	"github.com/inference-relay/relay/internal/secret"
	"github.com/inference-relay/relay/internal/server"
)

// Set is the built backends: what the server routes to, and the engine's
// start-time weight checks for GET /audit.
type Set struct {
	server.Backends
	// Weights is the verification of each engine model file at start.
	Weights []ModelState
}

// Info describes one backend; see [server.BackendInfo].
type Info = server.BackendInfo

// Close releases the backends that hold resources (the engine child).
// The server's CloseBackends does the same for a set it serves.
func (s *Set) Close() {
	for _, p := range s.Providers {
		if c, ok := p.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

// Options tune Build.
type Options struct {
	Client *http.Client // from egress
	// Candidates to auto-detect; nil means detect.Usual.
	Candidates []detect.Candidate
	// ProbeTimeout per candidate and per local model listing (default 1s).
	ProbeTimeout time.Duration
	// Getenv reads API keys (default os.Getenv).
	Getenv func(string) string
	// Supervisor starts the embedded engine's child; nil disables the
	// engine.
	Supervisor *sandbox.Supervisor
	// Progress receives the weight-hashing progress bar (a terminal).
	Progress io.Writer
}

// remotePrefixes are model-name prefixes a remote API serves even when its
// model list is not configured.
var remotePrefixes = map[string][]string{
	config.KindAnthropic: {"claude"},
	config.KindOpenAI:    {"gpt-", "chatgpt-", "o1", "o3", "o4"},
}

// Build makes a provider for every configured backend and every local
// engine detected, and the routing table over them. A configured backend
// that cannot be used is an error: the user asked for it, and whatever was
// built before it is released.
func Build(ctx context.Context, c config.Config, o Options) (*Set, error) {
	if o.ProbeTimeout == 0 {
		o.ProbeTimeout = time.Second
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Candidates == nil {
		o.Candidates = detect.Usual
	}
	b := &Set{Backends: server.Backends{Providers: map[string]provider.Provider{}, Started: time.Now().UTC().Truncate(time.Second)}}
	var rb []route.Backend
	for _, bc := range c.Backends {
		p, models, err := buildOne(ctx, bc, o)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("backend %q: %w", bc.Name, err)
		}
		b.Providers[bc.Name] = p
		b.Infos = append(b.Infos, Info{Name: bc.Name, Kind: bc.Kind, BaseURL: bc.BaseURL, Models: models})
		rb = append(rb, route.Backend{Name: bc.Name, Models: models, Prefixes: remotePrefixes[bc.Kind]})
	}
	if p, info, states := buildEngine(c, o.Supervisor, o.Progress); info != nil {
		b.Weights = states
		if p != nil {
			b.Providers[EngineBackend] = p
			rb = append(rb, engineRoute(info))
		}
		b.Infos = append(b.Infos, *info)
	}
	if c.Autodetect == nil || *c.Autodetect {
		for _, f := range detect.Probe(ctx, o.Client, o.Candidates, o.ProbeTimeout) {
			if _, taken := b.Providers[f.Name]; taken || configuredURL(c, f.BaseURL) {
				continue
			}
			p, err := popenai.New(popenai.Config{Name: f.Name, BaseURL: f.BaseURL, Client: o.Client})
			if err != nil {
				b.Infos = append(b.Infos, Info{Name: f.Name, Kind: config.KindOpenAICompatible, BaseURL: f.BaseURL, Detected: true, Problem: err.Error()})
				continue
			}
			b.Providers[f.Name] = p
			b.Infos = append(b.Infos, Info{Name: f.Name, Kind: config.KindOpenAICompatible, BaseURL: f.BaseURL, Models: f.Models, Detected: true})
			rb = append(rb, route.Backend{Name: f.Name, Models: f.Models})
		}
	}
	rules := make([]route.Rule, len(c.Routes))
	for i, r := range c.Routes {
		rules[i] = route.Rule{Match: r.Match, Target: r.Target}
	}
	b.Table = route.New(rb, rules)
	return b, nil
}

func configuredURL(c config.Config, u string) bool {
	for _, b := range c.Backends {
		if strings.TrimRight(b.BaseURL, "/") == strings.TrimRight(u, "/") {
			return true
		}
	}
	return false
}

func buildOne(ctx context.Context, bc config.Backend, o Options) (provider.Provider, []string, error) {
	var key secret.Secret
	if bc.APIKeyEnv != "" {
		key = secret.FromString(o.Getenv(bc.APIKeyEnv))
	}
	switch bc.Kind {
	case config.KindAnthropic:
		if key.IsEmpty() {
			return nil, nil, fmt.Errorf("no API key: set %s", bc.APIKeyEnv)
		}
		p, err := panthropic.New(panthropic.Config{Name: bc.Name, BaseURL: bc.BaseURL, APIKey: key, Client: o.Client})
		return p, bc.Models, err
	case config.KindOpenAI:
		if key.IsEmpty() {
			return nil, nil, fmt.Errorf("no API key: set %s", bc.APIKeyEnv)
		}
		p, err := popenai.New(popenai.Config{Name: bc.Name, BaseURL: bc.BaseURL, APIKey: key, Client: o.Client})
		return p, bc.Models, err
	case config.KindOpenAICompatible:
		p, err := popenai.New(popenai.Config{Name: bc.Name, BaseURL: bc.BaseURL, APIKey: key, Client: o.Client})
		if err != nil {
			return nil, nil, err
		}
		models := bc.Models
		lctx, cancel := context.WithTimeout(ctx, o.ProbeTimeout)
		defer cancel()
		if listed, err := p.Models(lctx); err == nil {
			models = mergeNames(models, listed)
		}
		return p, models, nil
	default:
		return nil, nil, fmt.Errorf("unknown kind %q", bc.Kind)
	}
}

func mergeNames(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
