// Package metrics turns audit events into Prometheus metrics (SPEC A3).
//
// It promises that every label value is an audit.Ident (a registered name,
// or "unknown") or the name of an enum, so metrics carry metadata only and
// their cardinality is bounded by the registry of known identifiers. The one
// exception is relay_unknown_request_fields_total, labelled by the name of
// a request field the relay did not know: a key, never a value, and only
// when it has the shape of the APIs' own field names (lower-case snake
// case, at most 64 bytes; anything else reads "other"); at most
// MaxUnknownFieldNames names per front are kept apart, later ones count as
// "other". Such a name is chosen by a client holding an API key: one that
// deliberately spells its content as a snake_case key would see it here,
// bounded by those two limits. The
// metrics live in their own registry, never the global one, so no other
// library's metrics are exported by accident; the Go runtime and process
// collectors are added to it.
package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/inference-relay/relay/internal/audit"
)

// Metrics holds the relay's collectors. It is safe for concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	tokens    *prometheus.CounterVec
	cost      *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	ttft      *prometheus.HistogramVec
	refused   [audit.NumRefusalReasons]prometheus.Counter

	unknownFields *prometheus.CounterVec
	mu            sync.Mutex
	fieldNames    map[string]map[string]bool // front -> names given a label of their own
}

// MaxUnknownFieldNames bounds the field names one front's unknown-field
// counter keeps apart, so that clients inventing keys cannot grow the
// metrics without end.
const MaxUnknownFieldNames = 32

// otherField is the label of every field name not kept apart.
const otherField = "other"

// New creates the metrics and their registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_requests_total",
			Help: "Requests served, by target, status class and error class.",
		}, []string{"provider", "model", "status", "error"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_tokens_total",
			Help: "Tokens counted, by target and direction (input or output).",
		}, []string{"provider", "model", "direction"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_cost_microdollars_total",
			Help: "Cost of requests in millionths of a US dollar, by target.",
		}, []string{"provider", "model"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_fallbacks_total",
			Help: "Requests that ended on a target other than their chain's first.",
		}, []string{"provider", "model"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relay_request_duration_seconds",
			Help:    "Time from a request's arrival to its last byte, by provider.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320},
		}, []string{"provider"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relay_time_to_first_token_seconds",
			Help:    "Time from a request's arrival to its first content byte, by provider.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32},
		}, []string{"provider"}),
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_refused_total",
		Help: "Requests and connections refused before being served, by reason (host, origin, auth, not_found, conn_limit, uid_limit).",
	}, []string{"reason"})
	for r := range audit.NumRefusalReasons {
		m.refused[r] = refused.WithLabelValues(r.String())
	}
	m.unknownFields = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_unknown_request_fields_total",
		Help: "Top-level request fields accepted and dropped because the relay does not know them, by front and field name (a short identifier, else other).",
	}, []string{"front", "field"})
	m.fieldNames = map[string]map[string]bool{}
	m.reg.MustRegister(
		refused, m.unknownFields,
		m.requests, m.tokens, m.cost, m.fallbacks, m.duration, m.ttft,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Record counts one request.
func (m *Metrics) Record(ev audit.Event) {
	provider, model := ev.Provider.String(), ev.Model.String()
	m.requests.WithLabelValues(provider, model, ev.Status.String(), ev.Error.String()).Inc()
	// Counters only go up: a negative count (a backend's nonsense) is skipped.
	if ev.InputTokens > 0 {
		m.tokens.WithLabelValues(provider, model, "input").Add(float64(ev.InputTokens))
	}
	if ev.OutputTokens > 0 {
		m.tokens.WithLabelValues(provider, model, "output").Add(float64(ev.OutputTokens))
	}
	if ev.CostMicroUSD > 0 {
		m.cost.WithLabelValues(provider, model).Add(float64(ev.CostMicroUSD))
	}
	if ev.Fallback {
		m.fallbacks.WithLabelValues(provider, model).Inc()
	}
	if ev.Duration > 0 {
		m.duration.WithLabelValues(provider).Observe(ev.Duration.Seconds())
	}
	// Zero means no content byte was sent (a failure, or nothing streamed).
	if ev.TTFT > 0 {
		m.ttft.WithLabelValues(provider).Observe(ev.TTFT.Seconds())
	}
}

// Refused counts one refused request or connection. It is cheap (one
// atomic add) and allocation-free, so an unauthenticated flood costs no
// more here than the refusal itself.
func (m *Metrics) Refused(r audit.RefusalReason) {
	if r < audit.NumRefusalReasons {
		m.refused[r].Inc()
	}
}

// UnknownField counts one dropped top-level request field. front is the
// relay's own name for the API ("openai", "anthropic"); name is the field's
// key, labelled as is only when it is shaped like an API field name (see
// fieldName) and is one of the first MaxUnknownFieldNames such names seen
// for the front.
func (m *Metrics) UnknownField(front, name string) {
	if front != "openai" && front != "anthropic" {
		front = otherField
	}
	if !fieldName(name) {
		name = otherField
	}
	m.mu.Lock()
	names := m.fieldNames[front]
	if names == nil {
		names = map[string]bool{}
		m.fieldNames[front] = names
	}
	if !names[name] {
		if len(names) < MaxUnknownFieldNames {
			names[name] = true
		} else {
			name = otherField
		}
	}
	m.mu.Unlock()
	m.unknownFields.WithLabelValues(front, name).Inc()
}

// fieldName reports whether s is shaped like the field names of both APIs:
// a lower-case letter, then lower-case letters, digits and '_', at most 64
// bytes. It is narrower than the key rule of the codecs' errors (which
// answer only the client that sent the key): no upper case and no '-', so
// that tokens and ids, which are usually written with them, stay out of
// the metrics.
func fieldName(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
