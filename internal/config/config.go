// Package config is the relay's configuration: one TOML file plus flags,
// with embedded defaults so that zero configuration works.
//
// TOML because it has one obvious way to write each value (no
// indentation-sensitive structure, no implicit type coercion of yes/no or
// version numbers), it is the format Go tools most often read for
// hand-written config, and its decoder reports keys it did not recognise,
// which lets the relay refuse a misspelt setting instead of ignoring it.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/inference-relay/relay/internal/egress"
)

// DefaultPort is where the relay listens when nothing else is configured.
const DefaultPort = 8377

// Backend kinds.
const (
	KindOpenAICompatible = "openai-compatible" // any local engine speaking Chat Completions
	KindOpenAI           = "openai"            // the OpenAI API over TLS
	KindAnthropic        = "anthropic"         // the Anthropic Messages API over TLS
)

// Config is the whole configuration. The zero value, after [Config.Defaults],
// serves on loopback with auto-detected local engines.
type Config struct {
	// Listen addresses. Default: 127.0.0.1 and ::1 on DefaultPort.
	Listen []string `toml:"listen"`
	// AllowNonLoopback must be set to listen on any non-loopback address,
	// and then TLS and at least one API key are also required.
	AllowNonLoopback bool `toml:"allow_non_loopback"`
	TLS              TLS  `toml:"tls"`
	// StateDir holds the API key hashes and, later, the audit chain.
	StateDir string `toml:"state_dir"`
	// AllowedHosts are Host header names accepted besides the loopback
	// names and the listen addresses (DNS-rebinding defence).
	AllowedHosts []string `toml:"allowed_hosts"`
	// CORSOrigins are browser origins allowed to call the relay. Empty (the
	// default): every cross-origin browser request is refused.
	CORSOrigins []string `toml:"cors_origins"`
	// MaxBodyBytes caps a request body (default 32 MiB: images travel inline).
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// ReadTimeout bounds how long a client may take to send its request.
	ReadTimeout Duration `toml:"read_timeout"`
	// WriteTimeout bounds each write to a client, so a client that stops
	// reading a stream does not hold its upstream forever.
	WriteTimeout Duration `toml:"write_timeout"`
	// MaxConnections caps the connections the relay keeps open at once,
	// over all its listeners (default 512). One more is answered 503 and
	// closed without being read.
	MaxConnections int `toml:"max_connections"`
	// MaxConnectionsPerUID caps the connections of one local user, told
	// from the peer's socket on loopback (default 256, at most
	// MaxConnections), so that one user's connections cannot take every
	// slot.
	MaxConnectionsPerUID int `toml:"max_connections_per_uid"`
	// Autodetect probes the usual local engine ports at start (default on).
	Autodetect *bool `toml:"autodetect"`
	// Backends configured by hand. Auto-detected ones are added after them.
	Backends []Backend `toml:"backend"`
	// Routes map client model names (glob patterns) to "backend/model".
	Routes []Route `toml:"route"`
	// Audit configures where the metadata-only audit trail goes.
	Audit Audit `toml:"audit"`
	// Sessions bounds the RAM-only conversations clients may keep.
	Sessions Sessions `toml:"sessions"`
	// Engine configures the embedded llama.cpp engine.
	Engine Engine `toml:"engine"`
	// Models are GGUF files the embedded engine serves.
	Models []Model `toml:"model"`

	// Logger receives the relay's metadata-only logs (library use; not
	// read from the file). Nil discards them.
	Logger *slog.Logger `toml:"-"`
	// HardenProcess makes the whole process non-dumpable, turns core dumps
	// off and locks its memory where the limit allows. `relay serve` sets
	// it; a library user decides for their own process.
	HardenProcess bool `toml:"-"`
	// EngineBinary is the relay binary to run as the engine child
	// (`relay engine`); empty disables the embedded engine. The relay's
	// commands set it to their own executable.
	EngineBinary string `toml:"-"`
	// LocalToken is a key valid for this process only, for the relay's
	// own command-line tools (set by `relay serve`; see
	// internal/discovery). Never read from the file.
	LocalToken string `toml:"-"`
}

// Audit configures the audit trail. The hash-chained file is always kept;
// OpenTelemetry export happens only when an endpoint is named.
type Audit struct {
	// File is the audit chain; a relative path is under the state dir
	// (default: audit.jsonl there).
	File string `toml:"file"`
	// OTLPEndpoint is an OTLP/HTTP traces URL ("http://127.0.0.1:4318/v1/traces").
	// Empty (the default): nothing is exported.
	OTLPEndpoint string `toml:"otlp_endpoint"`
	// KeyDir holds the audit key (audit.key), the session-id key
	// (session.key) and the chain's anchored head (audit.head): a 0700
	// directory outside the state dir, so that whoever may read the audit
	// file (a reviewer, a backup) cannot forge records or test session
	// ids. Default: the state dir's path with ".keys" appended
	// (~/.local/state/inference-relay.keys). One chain per key dir.
	KeyDir string `toml:"key_dir"`
	// MaxFileBytes rotates the audit file when a record would take it past
	// this size (default 32 MiB): audit.jsonl becomes audit.1.jsonl, and
	// so on. The chain runs on across files.
	MaxFileBytes int64 `toml:"max_file_bytes"`
	// KeepFiles is how many rotated files are kept besides the current one
	// (default 8); older ones are deleted. The trail's size is bounded by
	// (KeepFiles+1) * MaxFileBytes.
	KeepFiles int `toml:"keep_files"`
	// SummaryInterval is how often refused requests are summarised in one
	// audit record and one log line per reason (default 60s; only when
	// something was refused).
	SummaryInterval Duration `toml:"summary_interval"`
}

// Sessions are the limits of the RAM-only session store. Zero values take
// the store's defaults (1000 sessions, 8 MiB each, 256 MiB in all, 1h idle).
type Sessions struct {
	MaxSessions        int      `toml:"max_sessions"`
	MaxBytesPerSession int64    `toml:"max_bytes_per_session"`
	MaxTotalBytes      int64    `toml:"max_total_bytes"`
	IdleTimeout        Duration `toml:"idle_timeout"`
	// MaxSessionsPerKey and MaxBytesPerKey are one API key's share of
	// max_sessions and max_total_bytes, so that one key cannot lock the
	// others out. Zero: a quarter of the total (at least 1 session, and
	// at least max_bytes_per_session bytes).
	MaxSessionsPerKey int   `toml:"max_sessions_per_key"`
	MaxBytesPerKey    int64 `toml:"max_bytes_per_key"`
}

// Engine configures the embedded engine: llama.cpp run by the relay in a
// sandboxed child with no network.
type Engine struct {
	// Disabled turns the engine off even when models are found.
	Disabled bool `toml:"disabled"`
	// Threads per decode (0: one per CPU).
	Threads int `toml:"threads"`
	// ContextLength per context (0: the model's own, at most 4096).
	ContextLength int `toml:"context_length"`
	// Ollama serves the models of a local Ollama store (default on).
	Ollama *bool `toml:"ollama"`
	// OllamaDir overrides the store ($OLLAMA_MODELS or ~/.ollama/models).
	OllamaDir string `toml:"ollama_dir"`
	// LibDir holds the llama.cpp libraries (default: the state dir's
	// llama/<release>, where scripts/setup-llama puts them).
	LibDir string `toml:"lib_dir"`
}

// Model is a GGUF file for the embedded engine.
type Model struct {
	Name string `toml:"name"`
	Path string `toml:"path"`
	// SHA256 pins the file; without it the first verified hash is recorded
	// and checked at every later start (trust on first use).
	SHA256 string `toml:"sha256"`
}

// TLS names a certificate and key for serving HTTPS.
type TLS struct {
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.Cert != "" && t.Key != "" }

// Backend is one place requests can go.
type Backend struct {
	Name string `toml:"name"`
	Kind string `toml:"kind"`
	// BaseURL, e.g. "http://127.0.0.1:11434/v1" for Ollama,
	// "https://api.openai.com/v1", "https://api.anthropic.com".
	BaseURL string `toml:"base_url"`
	// APIKeyEnv names the environment variable holding the key. Defaults:
	// OPENAI_API_KEY for kind openai, ANTHROPIC_API_KEY for anthropic.
	APIKeyEnv string `toml:"api_key_env"`
	// Models this backend serves; local engines are asked at start too.
	Models []string `toml:"models"`
}

// Route sends client model names matching Match (a path.Match glob) to
// Target: "backend/model", or "backend" to keep the requested name.
type Route struct {
	Match  string `toml:"match"`
	Target string `toml:"target"`
}

// Duration is a time.Duration written as "30s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("bad duration: %w", err)
	}
	d.Duration = v
	return nil
}

// MarshalText renders the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Load reads a TOML file strictly: unknown keys are an error naming them.
func Load(path string) (Config, error) {
	var c Config
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("config %s: unknown setting(s): %s", path, strings.Join(keys, ", "))
	}
	return c, nil
}

// DefaultPath is the config file read when no --config is given, if it
// exists: $RELAY_CONFIG, else $XDG_CONFIG_HOME/inference-relay/relay.toml.
func DefaultPath() string {
	if p := os.Getenv("RELAY_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "inference-relay", "relay.toml")
}

// DefaultStateDir is $RELAY_STATE_DIR, else $XDG_STATE_HOME/inference-relay,
// else ~/.local/state/inference-relay.
func DefaultStateDir() string {
	if p := os.Getenv("RELAY_STATE_DIR"); p != "" {
		return p
	}
	if p := os.Getenv("XDG_STATE_HOME"); p != "" {
		return filepath.Join(p, "inference-relay")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "inference-relay")
	}
	return filepath.Join(home, ".local", "state", "inference-relay")
}

// Defaults fills every unset field with its embedded default.
func (c *Config) Defaults() {
	if len(c.Listen) == 0 {
		c.Listen = []string{fmt.Sprintf("127.0.0.1:%d", DefaultPort), fmt.Sprintf("[::1]:%d", DefaultPort)}
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	}
	if c.Audit.File == "" {
		c.Audit.File = "audit.jsonl"
	}
	if !filepath.IsAbs(c.Audit.File) {
		c.Audit.File = filepath.Join(c.StateDir, c.Audit.File)
	}
	if c.Audit.KeyDir == "" {
		c.Audit.KeyDir = filepath.Clean(c.StateDir) + ".keys"
	}
	if abs, err := filepath.Abs(c.Audit.KeyDir); err == nil {
		c.Audit.KeyDir = abs
	}
	if c.Audit.MaxFileBytes == 0 {
		c.Audit.MaxFileBytes = 32 << 20
	}
	if c.Audit.KeepFiles == 0 {
		c.Audit.KeepFiles = 8
	}
	if c.Audit.SummaryInterval.Duration == 0 {
		c.Audit.SummaryInterval.Duration = time.Minute
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 512
	}
	if c.MaxConnectionsPerUID == 0 {
		c.MaxConnectionsPerUID = min(256, c.MaxConnections)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 32 << 20
	}
	if c.ReadTimeout.Duration == 0 {
		c.ReadTimeout.Duration = 60 * time.Second
	}
	if c.WriteTimeout.Duration == 0 {
		c.WriteTimeout.Duration = 60 * time.Second
	}
	if c.Autodetect == nil {
		on := true
		c.Autodetect = &on
	}
	for i := range c.Backends {
		b := &c.Backends[i]
		if b.APIKeyEnv == "" {
			switch b.Kind {
			case KindOpenAI:
				b.APIKeyEnv = "OPENAI_API_KEY"
			case KindAnthropic:
				b.APIKeyEnv = "ANTHROPIC_API_KEY"
			}
		}
		if b.BaseURL == "" {
			switch b.Kind {
			case KindOpenAI:
				b.BaseURL = "https://api.openai.com/v1"
			case KindAnthropic:
				b.BaseURL = "https://api.anthropic.com"
			}
		}
	}
}

// Validate checks the configuration after Defaults. keys is the number of
// API keys in the store (a non-loopback listener needs at least one).
func (c *Config) Validate(keys int) error {
	var errs []error
	for _, l := range c.Listen {
		host, _, err := net.SplitHostPort(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("listen %q: %v", l, err))
			continue
		}
		if egress.IsLoopbackHost(host) {
			continue
		}
		switch {
		case !c.AllowNonLoopback:
			errs = append(errs, fmt.Errorf("listen %q: not a loopback address; set allow_non_loopback (or --allow-non-loopback) together with TLS and API keys", l))
		case !c.TLS.Enabled():
			errs = append(errs, fmt.Errorf("listen %q: a non-loopback listener requires tls.cert and tls.key", l))
		case keys == 0:
			errs = append(errs, fmt.Errorf("listen %q: a non-loopback listener requires at least one API key (relay keys create)", l))
		}
	}
	if c.Sessions.MaxSessions < 0 || c.Sessions.MaxBytesPerSession < 0 || c.Sessions.MaxTotalBytes < 0 || c.Sessions.IdleTimeout.Duration < 0 ||
		c.Sessions.MaxSessionsPerKey < 0 || c.Sessions.MaxBytesPerKey < 0 {
		errs = append(errs, errors.New("sessions: limits must not be negative"))
	}
	if c.MaxConnections < 1 || c.MaxConnectionsPerUID < 1 || c.MaxConnectionsPerUID > c.MaxConnections {
		errs = append(errs, errors.New("max_connections and max_connections_per_uid must be at least 1, and the per-uid cap at most max_connections"))
	}
	if c.Audit.MaxFileBytes < 64<<10 || c.Audit.KeepFiles < 1 || c.Audit.KeepFiles > 1000 {
		errs = append(errs, errors.New("audit: max_file_bytes must be at least 65536 and keep_files between 1 and 1000"))
	}
	if c.Audit.SummaryInterval.Duration < time.Second {
		errs = append(errs, errors.New("audit: summary_interval must be at least 1s"))
	}
	if c.Audit.KeyDir == c.StateDir || strings.HasPrefix(c.Audit.KeyDir, filepath.Clean(c.StateDir)+string(filepath.Separator)) {
		errs = append(errs, errors.New("audit: key_dir must be outside the state dir (whoever reads the audit file must not read the key)"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("max_body_bytes must be at least 1024"))
	}
	names := map[string]bool{}
	for i, b := range c.Backends {
		switch {
		case !validName(b.Name):
			errs = append(errs, fmt.Errorf("backend[%d]: name must be 1-64 letters, digits, '-', '_' or '.'", i))
		case names[b.Name]:
			errs = append(errs, fmt.Errorf("backend %q: duplicate name", b.Name))
		}
		names[b.Name] = true
		switch b.Kind {
		case KindOpenAICompatible, KindOpenAI, KindAnthropic:
		default:
			errs = append(errs, fmt.Errorf("backend %q: kind must be %s, %s or %s", b.Name, KindOpenAICompatible, KindOpenAI, KindAnthropic))
		}
		if err := checkBaseURL(b.BaseURL); err != nil {
			errs = append(errs, fmt.Errorf("backend %q: %v", b.Name, err))
		}
	}
	for i, m := range c.Models {
		if !validName(strings.ReplaceAll(m.Name, ":", "_")) || m.Path == "" {
			errs = append(errs, fmt.Errorf("model[%d]: name (letters, digits, '-', '_', '.', ':') and path are required", i))
		}
	}
	if c.Engine.Threads < 0 || c.Engine.ContextLength < 0 {
		errs = append(errs, errors.New("engine: threads and context_length must not be negative"))
	}
	for i, r := range c.Routes {
		if r.Match == "" || r.Target == "" {
			errs = append(errs, fmt.Errorf("route[%d]: match and target are both required", i))
		}
	}
	return errors.Join(errs...)
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// checkBaseURL allows https anywhere and plain http only to loopback
// (egress.CheckBaseURL: one rule for every upstream).
func checkBaseURL(s string) error {
	if _, err := egress.CheckBaseURL(s); err != nil {
		return fmt.Errorf("base_url %w", err)
	}
	return nil
}
