// Package otel exports audit events as OpenTelemetry spans over OTLP/HTTP
// with JSON encoding, following the GenAI semantic conventions (SPEC A3).
//
// It promises:
//
//   - Off by default. With no endpoint configured, [New] returns an exporter
//     whose Record does nothing: no goroutine, no connection, nothing leaves
//     the machine.
//   - Metadata only. The exporter accepts nothing but [audit.Event], which by
//     construction holds no free text, and turns it into a fixed set of span
//     attributes; there is no code path that could attach a prompt, a
//     completion or any other user content. Apart from the operator's own
//     configuration (service name, headers), every string sent is a
//     registered identifier, an enum name, a hash or a number.
//   - No plain text off the host. An http:// endpoint must be a loopback
//     address; anything else must use https://. Redirects are never followed.
//   - Never in the way. Record does not block: events wait in a bounded queue
//     and are dropped and counted when it is full. A failed POST is retried
//     once, then its spans are counted as failed. Collector responses are
//     read only up to a small limit.
//
// The package imports no OpenTelemetry SDK: the wire format is small and
// fixed, and a hand-written encoder is easier to audit.
package otel

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inference-relay/relay/internal/audit"
)

// Defaults for the zero fields of [Config].
const (
	DefaultServiceName   = "inference-relay"
	DefaultBatchSize     = 64
	DefaultFlushInterval = 2 * time.Second
	DefaultQueueSize     = 4096
)

// Config configures an [Exporter]. The zero value disables export.
type Config struct {
	// Endpoint is the OTLP/HTTP traces URL, such as
	// "http://127.0.0.1:4318/v1/traces". Empty disables export.
	Endpoint string
	// Headers are added to every export request, e.g. a collector's
	// authorization header.
	Headers map[string]string
	// Client sends the requests; it must come from the egress package.
	// Required when Endpoint is set.
	Client *http.Client
	// ServiceName is the resource's service.name; default "inference-relay".
	// It must have the syntax of an identifier (see audit.ValidIdent).
	ServiceName string
	// BatchSize is the most spans sent in one request; default 64.
	BatchSize int
	// FlushInterval bounds how long an event waits for its batch to fill;
	// default 2s.
	FlushInterval time.Duration
	// QueueSize is how many events may wait to be sent; default 4096. When
	// the queue is full, further events are dropped and counted.
	QueueSize int
}

// Stats counts what became of recorded events, in spans.
type Stats struct {
	// Enabled reports whether an endpoint is configured.
	Enabled bool `json:"enabled"`
	// Exported spans were accepted by the collector.
	Exported uint64 `json:"exported"`
	// Dropped spans never left: the queue was full, or the exporter closed.
	Dropped uint64 `json:"dropped"`
	// Failed spans were sent but not accepted: the request failed twice, the
	// collector refused it, or it reported them rejected.
	Failed uint64 `json:"failed"`
}

// Exporter sends audit events to an OTLP collector. Its methods are safe
// for concurrent use, and on a nil or disabled Exporter they do nothing.
type Exporter struct {
	// queue is the only way data reaches the encoder, and it carries
	// audit.Event alone (a test holds it to that type).
	queue chan audit.Event

	endpoint  string
	headers   http.Header
	client    *http.Client
	resource  resource
	batchSize int
	interval  time.Duration

	// mu orders Record against Close: Record sends under the read lock, so
	// once Close holds the write lock no event can slip into the queue
	// after the worker's final drain.
	mu     sync.RWMutex
	closed bool

	stop   chan struct{} // closed by Close: drain the queue and exit
	done   chan struct{} // closed by the worker when it exits
	ctx    context.Context
	cancel context.CancelFunc // aborts in-flight requests when Close gives up

	exported, dropped, failed atomic.Uint64
}

// New returns an exporter for c. When c.Endpoint is empty the exporter is
// disabled and c's other fields are ignored. Otherwise New checks the
// configuration and starts the goroutine that batches and sends spans;
// [Exporter.Close] stops it. Errors never repeat the configured values.
func New(c Config) (*Exporter, error) {
	if c.Endpoint == "" {
		return &Exporter{}, nil
	}
	cfg, err := check(c)
	if err != nil {
		return nil, err
	}
	// A copy of the client that never follows redirects: a redirect could
	// carry spans to a host nobody configured, or off the host in plain text.
	client := *c.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	ctx, cancel := context.WithCancel(context.Background())
	e := &Exporter{
		queue:     make(chan audit.Event, cfg.queueSize),
		endpoint:  cfg.endpoint,
		headers:   cfg.headers,
		client:    &client,
		resource:  newResource(cfg.serviceName),
		batchSize: cfg.batchSize,
		interval:  cfg.interval,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		ctx:       ctx,
		cancel:    cancel,
	}
	go e.run()
	return e, nil
}

// Record queues ev for export and returns at once. An event with no
// request id gets a random one (a span needs a trace id), and one with no
// time is taken to have ended now. When the queue is full or the exporter
// is closed, the event is dropped and counted.
func (e *Exporter) Record(ev audit.Event) {
	if e == nil || e.queue == nil {
		return
	}
	if ev.RequestID.IsZero() {
		ev.RequestID = audit.NewRequestID()
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().Add(-ev.Duration)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		e.dropped.Add(1)
		return
	}
	select {
	case e.queue <- ev:
	default:
		e.dropped.Add(1)
	}
}

// Close sends what is queued and stops the exporter. If ctx ends first,
// in-flight requests are aborted, the unsent spans are counted as failed,
// and ctx's error is returned. Events recorded after Close are dropped.
// Calling Close again waits for the same shutdown.
func (e *Exporter) Close(ctx context.Context) error {
	if e == nil || e.queue == nil {
		return nil
	}
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.stop)
	}
	e.mu.Unlock()
	select {
	case <-e.done:
		e.cancel()
		return nil
	case <-ctx.Done():
		e.cancel()
		<-e.done // prompt: with the context canceled every request fails at once
		return ctx.Err()
	}
}

// Stats returns the counts so far.
func (e *Exporter) Stats() Stats {
	if e == nil || e.queue == nil {
		return Stats{}
	}
	return Stats{
		Enabled:  true,
		Exported: e.exported.Load(),
		Dropped:  e.dropped.Load(),
		Failed:   e.failed.Load(),
	}
}
