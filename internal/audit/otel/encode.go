package otel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/logic"
)

// The structs below are the subset of the OTLP trace protocol's JSON
// mapping the exporter uses (opentelemetry-proto, ExportTraceServiceRequest).
// Per that mapping, trace and span ids are hex rather than base64, 64-bit
// integers are decimal strings, and enums may be their numbers.

type exportRequest struct {
	ResourceSpans []resourceSpans `json:"resourceSpans"`
}

type resourceSpans struct {
	Resource   resource     `json:"resource"`
	ScopeSpans []scopeSpans `json:"scopeSpans"`
}

type resource struct {
	Attributes []keyValue `json:"attributes"`
}

type scopeSpans struct {
	Scope scope  `json:"scope"`
	Spans []span `json:"spans"`
}

type scope struct {
	Name string `json:"name"`
}

type span struct {
	TraceID           string      `json:"traceId"`
	SpanID            string      `json:"spanId"`
	Name              string      `json:"name"`
	Kind              int         `json:"kind"`
	StartTimeUnixNano string      `json:"startTimeUnixNano"`
	EndTimeUnixNano   string      `json:"endTimeUnixNano"`
	Attributes        []keyValue  `json:"attributes"`
	Status            *spanStatus `json:"status,omitempty"`
}

type spanStatus struct {
	Code int `json:"code"`
}

type keyValue struct {
	Key   string   `json:"key"`
	Value anyValue `json:"value"`
}

// anyValue holds exactly one of its fields.
type anyValue struct {
	StringValue *string `json:"stringValue,omitempty"`
	BoolValue   *bool   `json:"boolValue,omitempty"`
	IntValue    *string `json:"intValue,omitempty"`
}

const (
	scopeName      = "inference-relay"
	operationName  = "chat" // every request the relay serves is a chat completion
	spanKindClient = 3      // SPAN_KIND_CLIENT: the relay calls a model provider
	statusError    = 2      // STATUS_CODE_ERROR
)

func str(k, v string) keyValue          { return keyValue{Key: k, Value: anyValue{StringValue: &v}} }
func boolean(k string, v bool) keyValue { return keyValue{Key: k, Value: anyValue{BoolValue: &v}} }
func integer(k string, v int64) keyValue {
	s := strconv.FormatInt(v, 10)
	return keyValue{Key: k, Value: anyValue{IntValue: &s}}
}

func newResource(serviceName string) resource {
	return resource{Attributes: []keyValue{str("service.name", serviceName)}}
}

// encode renders one OTLP export request holding a span per event.
func encode(res resource, evs []audit.Event) ([]byte, error) {
	spans := make([]span, len(evs))
	for i, ev := range evs {
		spans[i] = spanOf(ev)
	}
	return json.Marshal(exportRequest{ResourceSpans: []resourceSpans{{
		Resource:   res,
		ScopeSpans: []scopeSpans{{Scope: scope{Name: scopeName}, Spans: spans}},
	}}})
}

// spanOf maps an event to its span. The event is the span's only source.
func spanOf(ev audit.Event) span {
	start := ev.Time.UnixNano()
	s := span{
		TraceID:           ev.RequestID.String(),
		SpanID:            spanID(ev.RequestID),
		Name:              operationName + " " + ev.Model.String(),
		Kind:              spanKindClient,
		StartTimeUnixNano: strconv.FormatInt(start, 10),
		EndTimeUnixNano:   strconv.FormatInt(start+max(ev.Duration.Nanoseconds(), 0), 10),
		Attributes:        attributesOf(ev),
	}
	if ev.Error != logic.ErrNone {
		s.Status = &spanStatus{Code: statusError}
	}
	return s
}

// attributesOf lists the span's attributes: the GenAI semantic conventions'
// client-span attributes the relay knows, and the relay's own metadata.
// This is the complete list; a test pins it.
func attributesOf(ev audit.Event) []keyValue {
	kv := []keyValue{
		str("gen_ai.operation.name", operationName),
		str("gen_ai.provider.name", ev.Provider.String()),
		str("gen_ai.request.model", ev.Model.String()),
		integer("gen_ai.usage.input_tokens", ev.InputTokens),
		integer("gen_ai.usage.output_tokens", ev.OutputTokens),
		str("relay.alias", ev.Alias.String()),
		boolean("relay.fallback", ev.Fallback),
		integer("relay.ttft_ms", ev.TTFT.Milliseconds()),
		integer("relay.cost_micro_usd", ev.CostMicroUSD),
	}
	if !ev.Session.IsZero() {
		kv = append(kv, str("relay.session", ev.Session.String()))
	}
	if ev.Error != logic.ErrNone {
		kv = append(kv, str("error.type", ev.Error.String()))
	}
	return kv
}

// spanID derives the 8-byte span id from the request id, so resending an
// event yields the same span rather than a duplicate. An all-zero id is
// invalid in OTLP, so that one value is nudged.
func spanID(id audit.RequestID) string {
	sum := sha256.Sum256(id[:])
	b := sum[:8]
	if [8]byte(b) == [8]byte{} {
		b[7] = 1
	}
	return hex.EncodeToString(b)
}
