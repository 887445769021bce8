// Package relay runs LLM inference on infrastructure the user already
// trusts — local engines, or provider accounts over TLS — behind the OpenAI
// and Anthropic APIs on loopback.
//
// An application embeds it with [New]: the returned [Client] answers
// [Client.Chat] and [Client.Stream] in-process, and [Client.Handler] is the
// same HTTP API the `relay` binary serves, for mounting in a server of your
// own. [Client.Serve] listens on the configured loopback addresses.
package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/audit/chain"
	"github.com/inference-relay/relay/internal/audit/metrics"
	"github.com/inference-relay/relay/internal/audit/otel"
	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/backends"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/memlock"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/sandbox"
	"github.com/inference-relay/relay/internal/server"
	"github.com/inference-relay/relay/internal/session"
)

// Config is the relay's configuration; its zero value works (loopback,
// auto-detected local engines). See the config file reference in README.
type Config = config.Config

// Backend is one configured backend.
type Backend = config.Backend

// Route maps client model names to a backend.
type Route = config.Route

// LoadConfig reads a TOML config file strictly.
func LoadConfig(path string) (Config, error) { return config.Load(path) }

// Client is a running relay: in-process calls, its HTTP handler, and
// Serve.
type Client struct {
	cfg  Config
	keys *auth.Store
	srv  *server.Server
	log  *slog.Logger
	// undo releases everything New built, in reverse order (Close).
	undo cleanup
}

// newStepHook, when a test sets it, is called after each step of New that
// built something, with the step's name; an error it returns fails New
// there. Nil outside tests.
var newStepHook func(step string) error

// New validates cfg (filling defaults), opens the key store in the state
// directory, detects local engines and builds the backends. When a step
// fails, everything the steps before it built is released before New
// returns: the engine child, the audit keys and file, the OTLP exporter,
// the session store, the goroutines and the HTTP client's connections.
func New(cfg Config) (_ *Client, err error) {
	var undo cleanup
	defer func() {
		if err != nil {
			_ = undo.run() // the step's error is the one to report
		}
	}()
	step := func(name string) error {
		if newStepHook != nil {
			return newStepHook(name)
		}
		return nil
	}
	cfg.Defaults()
	var hardened *memlock.Report
	if cfg.HardenProcess {
		rep := memlock.Harden()
		hardened = &rep
	}
	keys, err := auth.Open(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(keys.Len()); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := egress.New(nil).HTTPClient()
	undo.pushFunc(client.CloseIdleConnections) // probes and model listings keep connections
	sup := sandbox.NewSupervisor()
	undo.pushFunc(func() { sup.Close(2 * time.Second) })
	if err := step("supervisor"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	built, err := backends.Build(ctx, cfg, backends.Options{Client: client, Supervisor: sup, Progress: os.Stderr})
	if err != nil {
		return nil, err
	}
	undo.pushFunc(built.Close) // the engine child, before the supervisor's last word
	if err := step("backends"); err != nil {
		return nil, err
	}
	for _, b := range built.Infos {
		if b.Problem != "" {
			log.Warn("backend problem", "backend", b.Name, "reason", "see relay doctor or GET /audit")
		}
	}
	keyring, keyer, auditLog, err := openAudit(cfg, log)
	if err != nil {
		return nil, err
	}
	undo.push(keyring.Close) // zeroes the keys, after the chain's last record
	undo.push(auditLog.Close)
	if err := step("audit"); err != nil {
		return nil, err
	}
	idents := &audit.Registry{}
	_ = idents.Add(built.Names(cfg)...) // invalid names simply stay "unknown"
	exporter, err := otel.New(otel.Config{Endpoint: cfg.Audit.OTLPEndpoint, Client: client})
	if err != nil {
		return nil, fmt.Errorf("audit.otlp_endpoint: %w", err)
	}
	undo.push(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return exporter.Close(ctx)
	})
	if err := step("otlp"); err != nil {
		return nil, err
	}
	sessions, err := session.New(session.Limits{
		MaxSessions: cfg.Sessions.MaxSessions, MaxBytesPerSession: cfg.Sessions.MaxBytesPerSession,
		MaxTotalBytes: cfg.Sessions.MaxTotalBytes, IdleTimeout: cfg.Sessions.IdleTimeout.Duration,
		MaxSessionsPerOwner: cfg.Sessions.MaxSessionsPerKey, MaxBytesPerOwner: cfg.Sessions.MaxBytesPerKey,
	}, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	undo.pushFunc(func() { sessions.Close() })
	if err := step("sessions"); err != nil {
		return nil, err
	}
	m := metrics.New()
	srv := server.New(server.Options{
		Config: cfg, Keys: keys, Backends: &built.Backends, Logger: log,
		Idents: idents, Keyer: keyer,
		Recorders:  []server.Recorder{chainRecorder{auditLog, log}, m, exporter},
		Metrics:    m.Handler(),
		Refusals:   m,
		Sessions:   sessions,
		LocalToken: cfg.LocalToken,
		Controls: []server.Control{
			server.ControlFunc{Key: "audit_chain", Fn: func() any {
				ks := keyring.Status()
				st := auditLog.State()
				return map[string]any{
					"file": cfg.Audit.File, "records": st.Records, "head": st.Head,
					"keyed": st.Keyed, "anchored": st.Anchored, "head_file_seq": st.HeadSeq, "head_error": st.HeadError,
					"first_kept": st.First, "rotation": st.Rotation,
					"key": map[string]any{
						"source": "file", "dir": cfg.Audit.KeyDir,
						"locked_memory": ks.Locked, "excluded_from_core_dumps": ks.DontDump,
					},
					"head_file":   filepath.Join(cfg.Audit.KeyDir, audit.HeadName),
					"measured_at": time.Now().UTC(),
				}
			}},
			server.ControlFunc{Key: "process_hardening", Fn: func() any { return hardeningState(hardened) }},
			server.ControlFunc{Key: "engine", Fn: func() any { return backends.EngineAudit(sup, built) }},
			server.ControlFunc{Key: "sinks", Fn: func() any {
				return map[string]any{"audit_file": cfg.Audit.File, "metrics": "/metrics", "otel": exporter.Stats(), "measured_at": time.Now().UTC()}
			}},
		},
	})
	// Sessions are wiped (and their wipes recorded) before the store and
	// the chain close.
	undo.pushFunc(func() { srv.WipeSessions(session.ReasonShutdown) })
	runCtx, stop := context.WithCancel(context.Background())
	reaped, summaries := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(reaped)
		runReaper(runCtx, srv)
	}()
	go func() {
		defer close(summaries)
		srv.RunRefusalSummaries(runCtx, cfg.Audit.SummaryInterval.Duration)
	}()
	undo.pushFunc(func() {
		stop()
		<-reaped
		<-summaries // the last refusal summary is written before the chain closes
	})
	if err := step("server"); err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, keys: keys, srv: srv, log: log, undo: undo}, nil
}

// openAudit loads the keys from the key directory into locked memory and
// opens the keyed audit chain anchored there.
//
// Migration from relays that kept the session-id key in the state dir and
// wrote unkeyed records: the old key file is deleted (whoever could read
// the state dir may have it; a fresh key is made in the key dir), and an
// unkeyed audit file, when no keyed chain was ever started here (no head),
// is renamed to audit.unkeyed-<time>.jsonl and kept as it is: `relay audit
// verify --file` still checks it, as "unkeyed (older format)". A new keyed
// chain starts in its place. An unkeyed file where a head exists is not
// migrated: it replaced a keyed chain, and the relay refuses to start.
func openAudit(cfg Config, log *slog.Logger) (*audit.Keyring, *audit.Keyer, *chain.Log, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.Audit.File), 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("audit file: %w", err)
	}
	keyring, err := audit.NewKeyring(audit.FileKeys{Dir: cfg.Audit.KeyDir})
	if err != nil {
		return nil, nil, nil, err
	}
	fail := func(err error) (*audit.Keyring, *audit.Keyer, *chain.Log, error) {
		keyring.Close()
		return nil, nil, nil, err
	}
	keyer, err := audit.NewKeyer(keyring)
	if err != nil {
		return fail(fmt.Errorf("session-id key in %s: %w", cfg.Audit.KeyDir, err))
	}
	if err := os.Remove(filepath.Join(cfg.StateDir, audit.LegacyKeyFile)); err == nil {
		log.Warn("old session-id key removed from the state dir; a new one is kept in the key dir", "component", "chain")
	}
	auditKey, err := keyring.Key(audit.AuditKeyName, true)
	if err != nil {
		return fail(fmt.Errorf("audit key in %s: %w", cfg.Audit.KeyDir, err))
	}
	headPath := filepath.Join(cfg.Audit.KeyDir, audit.HeadName)
	opts := chain.Options{Key: auditKey, HeadPath: headPath, MaxBytes: cfg.Audit.MaxFileBytes, Keep: cfg.Audit.KeepFiles}
	auditLog, err := chain.OpenKeyed(cfg.Audit.File, opts)
	if errors.Is(err, chain.ErrUnkeyed) {
		if _, herr := os.Stat(headPath); errors.Is(herr, fs.ErrNotExist) {
			aside := strings.TrimSuffix(cfg.Audit.File, filepath.Ext(cfg.Audit.File)) + ".unkeyed-" + time.Now().UTC().Format("20060102T150405Z") + filepath.Ext(cfg.Audit.File)
			if rerr := os.Rename(cfg.Audit.File, aside); rerr != nil {
				return fail(fmt.Errorf("audit file %s: moving the older, unkeyed chain aside: %w", cfg.Audit.File, rerr))
			}
			log.Warn("older unkeyed audit chain moved aside; a keyed chain starts", "component", "chain")
			auditLog, err = chain.OpenKeyed(cfg.Audit.File, opts)
		}
	}
	if err != nil {
		return fail(fmt.Errorf("audit file %s: %w\n  Check it with 'relay audit verify'. The relay does not append to a chain it cannot vouch for: if the damage is understood, move the audit files and %s aside to start a new chain", cfg.Audit.File, err, headPath))
	}
	return keyring, keyer, auditLog, nil
}

// runReaper wipes idle sessions every minute until ctx ends.
func runReaper(ctx context.Context, srv *server.Server) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			srv.ReapSessions()
		}
	}
}

// hardeningState reports what memlock.Harden applied, as read back from
// the kernel; nil when the process was not hardened.
func hardeningState(rep *memlock.Report) any {
	if rep == nil {
		return map[string]any{"requested": false}
	}
	var out []map[string]any
	for _, p := range rep.All() {
		out = append(out, map[string]any{"name": p.Name, "applied": p.Applied, "error": p.ErrString(), "read_back": p.ReadBack})
	}
	return map[string]any{"requested": true, "protections": out}
}

// Lockdown wipes every session at once and restarts the engine child (its
// memory, KV caches included, goes with the old process). The intrusion
// watchdog calls it; an application may too. The relay keeps serving.
func (c *Client) Lockdown() int {
	n := c.srv.WipeSessions(session.ReasonLockdown)
	c.srv.RestartChildren()
	return n
}

// chainRecorder appends events to the audit chain; a failed append is
// logged (by class only), never silently dropped.
type chainRecorder struct {
	l   *chain.Log
	log *slog.Logger
}

func (c chainRecorder) Record(ev audit.Event) {
	if err := c.l.Append(ev); err != nil {
		c.log.Error("audit append failed", "component", "chain", "err_kind", "io")
	}
}

// RecordRefusals appends the interval's summary of refused requests.
func (c chainRecorder) RecordRefusals(r audit.Refusals) {
	if err := c.l.Append(r); err != nil {
		c.log.Error("audit append failed", "component", "chain", "err_kind", "io")
	}
}

// Close stops the relay's goroutines, wipes every session, stops the
// engine child and flushes and closes the audit trail: it releases
// everything New built, in reverse order. The Client must not be used
// after; a second Close does nothing.
func (c *Client) Close() error {
	return c.undo.run()
}

// Handler is the relay's HTTP API (OpenAI and Anthropic routes, with every
// guard). Every route but /healthz requires an API key.
func (c *Client) Handler() http.Handler { return c.srv.Handler() }

// Config returns the configuration in force (defaults filled in).
func (c *Client) Config() Config { return c.cfg }

// Backends describes the backends the relay routes to.
func (c *Client) Backends() []server.BackendInfo { return c.srv.Backends().Infos }

// Models lists the model names the relay can route.
func (c *Client) Models() []string {
	var ids []string
	for _, m := range c.srv.Backends().Table.Models() {
		ids = append(ids, m.ID)
	}
	return ids
}

// Serve listens on every configured address and serves until ctx is
// canceled, then shuts down gracefully (in-flight replies get up to 10s).
// ready, when not nil, receives the bound addresses once listening.
func (c *Client) Serve(ctx context.Context, ready func(addrs []net.Addr)) error {
	var lns []net.Listener
	closeAll := func() {
		for _, l := range lns {
			l.Close()
		}
	}
	for _, addr := range c.cfg.Listen {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			if strings.HasPrefix(addr, "[::1]:") && ipv6Unavailable(err) {
				c.log.Warn("IPv6 loopback unavailable; serving on IPv4 only", "listen", addr)
				continue
			}
			closeAll()
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		lns = append(lns, l)
	}
	if len(lns) == 0 {
		return errors.New("no address to listen on")
	}
	// Every connection is counted against the caps before a byte of it
	// is read; the gate sits under TLS, so a refused one costs no
	// handshake.
	gate := server.NewConnGate(server.ConnLimits{
		Max: c.cfg.MaxConnections, PerUID: c.cfg.MaxConnectionsPerUID, Refused: c.srv.CountRefusal,
	})
	for i := range lns {
		lns[i] = gate.Listener(lns[i], !c.cfg.TLS.Enabled())
	}
	if c.cfg.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(c.cfg.TLS.Cert, c.cfg.TLS.Key)
		if err != nil {
			closeAll()
			return fmt.Errorf("tls: %w", err)
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		for i := range lns {
			lns[i] = tls.NewListener(lns[i], tc)
		}
	}
	hs := &http.Server{
		Handler: c.srv.Handler(),
		// The headers must arrive within 10s of the request's first byte
		// and the whole request within read_timeout: a connection that
		// sends headers and never its body is dropped then, unless the
		// guard refused it first (it then closes at once, unread). The
		// handler lifts the deadline only for a request that passed the
		// guards, once its body is in.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       c.cfg.ReadTimeout.Duration,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          stdlog.New(httpErrorLog{c.log}, "", 0),
	}
	addrs := make([]net.Addr, len(lns))
	errc := make(chan error, len(lns))
	for i, l := range lns {
		addrs[i] = l.Addr()
		go func() { errc <- hs.Serve(l) }()
	}
	if ready != nil {
		ready(addrs)
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			closeAll()
			return err
		}
	}
	c.log.Info("shutting down", "reason", "signal")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	return nil
}

func ipv6Unavailable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "cannot assign requested address") || strings.Contains(s, "address family not supported")
}

// httpErrorLog receives net/http's own error lines. Their text can quote
// what a client sent (a malformed request line, a header), so it is dropped
// and only the fact of an error is logged.
type httpErrorLog struct{ log *slog.Logger }

func (h httpErrorLog) Write(p []byte) (int, error) {
	h.log.Warn("http server error", "component", "http")
	return len(p), nil
}

// Message is one turn of a conversation: Role "user" or "assistant".
type Message struct {
	Role    string
	Content string
}

// Request is an in-process chat request.
type Request struct {
	// Model is a model name or alias the relay can route (see Models).
	Model       string
	System      string
	Messages    []Message
	MaxTokens   int
	Temperature *float64
	Stop        []string
}

// Usage counts tokens.
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// Response is a finished reply.
type Response struct {
	Text       string
	StopReason string
	Usage      Usage
}

// Error is a failure the relay or a backend reported.
type Error struct {
	StatusCode int
	Class      string
	Message    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("relay: %s (%d): %s", e.Class, e.StatusCode, e.Message)
}

func toError(pe *provider.Error) error {
	return &Error{StatusCode: pe.HTTPStatus(), Class: pe.Class.String(), Message: string(pe.Detail.Bytes())}
}

func (r Request) decode() (*content.Request, logic.Params, error) {
	if r.Model == "" {
		return nil, logic.Params{}, &Error{StatusCode: 400, Class: logic.ErrInvalidRequest.String(), Message: "model is required"}
	}
	if len(r.Messages) == 0 {
		return nil, logic.Params{}, &Error{StatusCode: 400, Class: logic.ErrInvalidRequest.String(), Message: "at least one message is required"}
	}
	cr := &content.Request{}
	if r.System != "" {
		cr.System = []content.Text{content.FromString(r.System)}
	}
	for i, m := range r.Messages {
		var role content.Role
		switch m.Role {
		case "user":
			role = content.RoleUser
		case "assistant":
			role = content.RoleAssistant
		default:
			return nil, logic.Params{}, &Error{StatusCode: 400, Class: logic.ErrInvalidRequest.String(), Message: fmt.Sprintf("messages[%d].role must be user or assistant", i)}
		}
		cr.Messages = append(cr.Messages, content.Message{Role: role, Parts: []content.Part{{Kind: content.PartText, Text: content.FromString(m.Content)}}})
	}
	for _, s := range r.Stop {
		cr.Stop = append(cr.Stop, content.FromString(s))
	}
	p := logic.Params{Model: r.Model, MaxTokens: r.MaxTokens, Temperature: r.Temperature}
	if pe := p.Check(); pe != nil {
		cr.Wipe()
		return nil, logic.Params{}, &Error{StatusCode: 400, Class: logic.ErrInvalidRequest.String(), Message: pe.Error()}
	}
	return cr, p, nil
}

// Chat sends r and waits for the whole reply.
func (c *Client) Chat(ctx context.Context, r Request) (*Response, error) {
	s, err := c.Stream(ctx, r)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var b strings.Builder
	for s.Next() {
		b.WriteString(s.Text())
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return &Response{Text: b.String(), StopReason: s.StopReason(), Usage: s.Usage()}, nil
}

// Stream sends r and returns the reply as it arrives.
func (c *Client) Stream(ctx context.Context, r Request) (*Stream, error) {
	cr, p, err := r.decode()
	if err != nil {
		return nil, err
	}
	p.Stream = true
	st, perr := c.srv.StartRecorded(ctx, p, cr)
	if perr != nil {
		cr.Wipe()
		return nil, toError(perr)
	}
	return &Stream{s: st, req: cr}, nil
}

// Stream is a reply being received. Call Next until it returns false, then
// Err.
type Stream struct {
	s    provider.Stream
	req  *content.Request
	text string
	err  error
	done bool
}

// Next advances to the next piece of text. Tool calls and reasoning are
// skipped by this simple API.
func (s *Stream) Next() bool {
	for !s.done {
		d, err := s.s.Recv()
		if err == io.EOF {
			s.done = true
			return false
		}
		if err != nil {
			s.done = true
			s.err = toError(provider.AsError(err))
			return false
		}
		if d.Kind == content.DeltaText && d.Text.Len() > 0 {
			s.text = string(d.Text.Bytes())
			return true
		}
	}
	return false
}

// Text is the piece of text Next advanced to.
func (s *Stream) Text() string { return s.text }

// Err is the error that ended the stream, if any.
func (s *Stream) Err() error { return s.err }

// Usage is the token usage reported so far (final after Next returns false).
func (s *Stream) Usage() Usage {
	u := s.s.Status().Usage
	return Usage{InputTokens: u.Input, OutputTokens: u.Output}
}

// StopReason says why the reply ended: "end", "max_tokens", "stop_sequence",
// "tool_use", "refusal" or "" while it runs.
func (s *Stream) StopReason() string { return s.s.Status().Stop.String() }

// Close releases the stream; it cancels the upstream request if unfinished.
func (s *Stream) Close() error {
	s.req.Wipe()
	return s.s.Close()
}
