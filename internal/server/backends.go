package server

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
)

// Backends is what the relay can route to.
type Backends struct {
	Providers map[string]provider.Provider
	Table     *route.Table
	Infos     []BackendInfo
	Started   time.Time
	// Weights is the verification of each engine model file at start.
	Weights []ModelState
}

// BackendInfo describes one backend for `relay doctor` and `relay models`.
type BackendInfo struct {
	Name     string
	Kind     string
	BaseURL  string
	Models   []string
	Detected bool
	// Problem says why the backend is not serving, empty when it is.
	Problem string
}

// BuildOptions tune BuildBackends.
type BuildOptions struct {
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

// BuildBackends makes a provider for every configured backend and every
// local engine detected, and the routing table over them. A configured
// backend that cannot be used is an error: the user asked for it.
func BuildBackends(ctx context.Context, c config.Config, o BuildOptions) (*Backends, error) {
	if o.ProbeTimeout == 0 {
		o.ProbeTimeout = time.Second
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Candidates == nil {
		o.Candidates = detect.Usual
	}
	b := &Backends{Providers: map[string]provider.Provider{}, Started: time.Now().UTC().Truncate(time.Second)}
	var rb []route.Backend
	for _, bc := range c.Backends {
		p, models, err := buildOne(ctx, bc, o)
		if err != nil {
			return nil, fmt.Errorf("backend %q: %w", bc.Name, err)
		}
		b.Providers[bc.Name] = p
		b.Infos = append(b.Infos, BackendInfo{Name: bc.Name, Kind: bc.Kind, BaseURL: bc.BaseURL, Models: models})
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
				b.Infos = append(b.Infos, BackendInfo{Name: f.Name, Kind: config.KindOpenAICompatible, BaseURL: f.BaseURL, Detected: true, Problem: err.Error()})
				continue
			}
			b.Providers[f.Name] = p
			b.Infos = append(b.Infos, BackendInfo{Name: f.Name, Kind: config.KindOpenAICompatible, BaseURL: f.BaseURL, Models: f.Models, Detected: true})
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

func buildOne(ctx context.Context, bc config.Backend, o BuildOptions) (provider.Provider, []string, error) {
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
