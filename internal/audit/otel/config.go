package otel

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/egress"
)

// Configuration errors. None of them repeats the value it rejects: an
// endpoint or header may carry a credential.
var (
	ErrEndpoint      = errors.New("otel: endpoint must be an https URL, or an http URL on a loopback address")
	ErrNoClient      = errors.New("otel: an HTTP client is required when an endpoint is set")
	ErrHeader        = errors.New("otel: invalid header name or value")
	ErrServiceName   = errors.New("otel: invalid service name")
	ErrNegativeLimit = errors.New("otel: batch size, flush interval and queue size must not be negative")
)

// config is a checked Config with defaults applied.
type config struct {
	endpoint    string
	headers     http.Header
	serviceName string
	batchSize   int
	interval    time.Duration
	queueSize   int
}

func check(c Config) (config, error) {
	if err := checkEndpoint(c.Endpoint); err != nil {
		return config{}, err
	}
	if c.Client == nil {
		return config{}, ErrNoClient
	}
	if c.BatchSize < 0 || c.FlushInterval < 0 || c.QueueSize < 0 {
		return config{}, ErrNegativeLimit
	}
	h, err := checkHeaders(c.Headers)
	if err != nil {
		return config{}, err
	}
	cfg := config{
		endpoint:    c.Endpoint,
		headers:     h,
		serviceName: or(c.ServiceName, DefaultServiceName),
		batchSize:   or(c.BatchSize, DefaultBatchSize),
		interval:    or(c.FlushInterval, DefaultFlushInterval),
		queueSize:   or(c.QueueSize, DefaultQueueSize),
	}
	if !audit.ValidIdent(cfg.serviceName) {
		return config{}, ErrServiceName
	}
	return cfg, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// checkEndpoint accepts https URLs, and http URLs to a loopback host, so
// spans never cross a network in plain text (egress.CheckBaseURL, the rule
// for every upstream). Credentials in the URL are refused: they belong in
// Headers, where they are not part of every error a URL appears in.
func checkEndpoint(s string) error {
	if _, err := egress.CheckBaseURL(s); err != nil {
		return ErrEndpoint
	}
	return nil
}

// checkHeaders copies h into canonical form, refusing names that are not
// HTTP tokens and values with control characters (which could split the
// request). Content-Type is the exporter's own and cannot be overridden.
func checkHeaders(h map[string]string) (http.Header, error) {
	out := make(http.Header, len(h))
	for k, v := range h {
		if !validName(k) || !validValue(v) {
			return nil, ErrHeader
		}
		out.Set(k, v)
	}
	out.Del("Content-Type")
	return out, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
