package bench

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime/pprof"
	"time"

	"github.com/inference-relay/relay"
	"github.com/inference-relay/relay/bench/loadgen"
	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/egress"
	sopenai "github.com/inference-relay/relay/internal/standin/openai"
)

// Target names.
const (
	Direct = "direct"
	Proxy  = "proxy"
	Relay  = "relay"
)

// Model is the model every request asks for: the stand-in's.
const Model = "gpt-standin"

// Options shape the environment.
type Options struct {
	// UpstreamLatency is the stand-in's delay before response headers
	// (default 20ms). It has no delay between streamed chunks.
	UpstreamLatency time.Duration
}

// Target is one way to reach the upstream.
type Target struct {
	Name   string
	URL    string      // the chat completions endpoint
	Header http.Header // sent with every request (the relay's API key)
	Client *http.Client
}

// Request is the OpenAI-shaped chat completion request sent to every
// target: a short prompt and a short reply ("echo: hello there", three
// words, so three content chunks when streamed).
func (t Target) Request(stream bool) loadgen.Request {
	body := `{"model":"` + Model + `","messages":[{"role":"user","content":"hello there"}],"max_tokens":16`
	if stream {
		body += `,"stream":true`
	}
	body += "}"
	return loadgen.Request{URL: t.URL, Header: t.Header, Body: []byte(body), Stream: stream, Client: t.Client}
}

// Env is the stand-in upstream and the three targets in front of it.
type Env struct {
	Upstream time.Duration
	Direct   Target
	Proxy    Target
	Relay    Target

	closers []func() // run in reverse order by Close
}

// Targets are the three targets, baseline first.
func (e *Env) Targets() []Target { return []Target{e.Direct, e.Proxy, e.Relay} }

// Target returns the target called name.
func (e *Env) Target(name string) (Target, bool) {
	for _, t := range e.Targets() {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// loadConns is the idle connection pool of each target's load client:
// enough for thousands of requests a second at tens of milliseconds each.
const loadConns = 1024

// Start brings the environment up. Close it when done.
func Start(o Options) (env *Env, err error) {
	if o.UpstreamLatency == 0 {
		o.UpstreamLatency = 20 * time.Millisecond
	}
	e := &Env{Upstream: o.UpstreamLatency}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()

	upURL, err := e.serve(partUpstream, sopenai.New(sopenai.Options{Latency: o.UpstreamLatency}))
	if err != nil {
		return nil, fmt.Errorf("stand-in: %w", err)
	}
	e.Direct = Target{Name: Direct, URL: upURL + "/v1/chat/completions"}

	proxyURL, err := e.serve(Proxy, reverseProxy(upURL))
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	e.Proxy = Target{Name: Proxy, URL: proxyURL + "/v1/chat/completions"}

	relayURL, key, err := e.startRelay(upURL)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	e.Relay = Target{Name: Relay, URL: relayURL + "/v1/chat/completions",
		Header: http.Header{"Authorization": {"Bearer " + key}}}

	for _, t := range []*Target{&e.Direct, &e.Proxy, &e.Relay} {
		t.Client = loadgen.NewClient(loadConns)
	}
	return e, nil
}

// Close stops every server and removes the relay's state directory.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// reverseProxy is the baseline: the standard library's reverse proxy with
// the same outbound transport settings the relay gets from egress.
func reverseProxy(upstream string) http.Handler {
	u, _ := url.Parse(upstream)
	return &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		Transport: egress.New(egress.LoopbackOnly).HTTPClient().Transport,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
}

// startRelay runs a relay whose only backend is the stand-in and returns
// its base URL and an API key it accepts.
func (e *Env) startRelay(upstream string) (string, string, error) {
	dir, err := os.MkdirTemp("", "relaybench-")
	if err != nil {
		return "", "", err
	}
	e.closers = append(e.closers, func() { os.RemoveAll(dir) })
	store, err := auth.Open(dir)
	if err != nil {
		return "", "", err
	}
	key, _, err := store.Create("bench")
	if err != nil {
		return "", "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	off := false
	var r *relay.Client
	// Built on a goroutine of its own carrying the relay's profile label,
	// so that the goroutines it starts (the audit chain's syncer) are
	// attributed to it in a CPU profile, and the caller's labels stay.
	built := make(chan struct{})
	go pprof.Do(context.Background(), pprof.Labels(ProfileLabel, Relay), func(context.Context) {
		defer close(built)
		r, err = relay.New(relay.Config{
			Listen:     []string{ln.Addr().String()},
			StateDir:   dir,
			Autodetect: &off,
			Backends:   []relay.Backend{{Name: "standin", Kind: "openai-compatible", BaseURL: upstream + "/v1"}},
		})
	})
	<-built
	if err != nil {
		ln.Close()
		return "", "", err
	}
	e.closers = append(e.closers, func() { r.Close() })
	return e.serveOn(Relay, ln, r.Handler()), key, nil
}

// ProfileLabel is the pprof label that tells, in a CPU profile of a run,
// which part of the environment a sample belongs to: "loadgen",
// "upstream", "proxy" or "relay" (see `go tool pprof -tags`). Samples
// without it are the runtime's own (background GC, scheduler).
const ProfileLabel = "part"

// The parts that are not targets.
const (
	partLoadgen  = "loadgen"
	partUpstream = "upstream"
)

// serve serves h on a new loopback listener and returns its base URL.
func (e *Env) serve(part string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	return e.serveOn(part, ln, h), nil
}

// serveOn serves h on ln with the same server settings for every target
// (those the relay's own Serve uses). The serving goroutine carries the
// part's profile label, and so do the goroutines it starts: connections,
// handlers, and the outbound transport's dialers and readers.
func (e *Env) serveOn(part string, ln net.Listener, h http.Handler) string {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go pprof.Do(context.Background(), pprof.Labels(ProfileLabel, part), func(context.Context) {
		defer close(done)
		// Serve fails only on a listener error; requests to it then fail
		// and the load generator counts them.
		_ = hs.Serve(ln)
	})
	e.closers = append(e.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}
