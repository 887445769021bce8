package otel

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/logic"
)

// testEvent returns a fully populated event whose identifiers are
// registered, as the server would record it.
func testEvent(t *testing.T) audit.Event {
	t.Helper()
	var reg audit.Registry
	if err := reg.Add("fast", "ollama", "llama3.2:3b"); err != nil {
		t.Fatal(err)
	}
	k, err := audit.OpenKeyer(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return audit.Event{
		Time:         time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		RequestID:    audit.RequestID{0: 0xab, 15: 0x01},
		Session:      k.Hash([]byte("my-session")),
		Alias:        reg.Ident("fast"),
		Provider:     reg.Ident("ollama"),
		Model:        reg.Ident("llama3.2:3b"),
		InputTokens:  12,
		OutputTokens: 34,
		CostMicroUSD: 56,
		Duration:     1500 * time.Millisecond,
		TTFT:         250*time.Millisecond + 900*time.Microsecond,
		Fallback:     true,
		Status:       audit.Status5xx,
		Error:        logic.ErrUpstream,
	}
}

// decodeSpans parses an export request generically, as a collector would,
// and returns its resource attributes and spans.
func decodeSpans(t *testing.T, body []byte) (resource []any, spans []map[string]any) {
	t.Helper()
	var req struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []any `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Scope map[string]any   `json:"scope"`
				Spans []map[string]any `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("export body is not JSON: %v", err)
	}
	if len(req.ResourceSpans) != 1 || len(req.ResourceSpans[0].ScopeSpans) != 1 {
		t.Fatalf("want one resource and one scope, got %s", body)
	}
	ss := req.ResourceSpans[0].ScopeSpans[0]
	if ss.Scope["name"] != scopeName {
		t.Errorf("scope = %v, want name %q", ss.Scope, scopeName)
	}
	return req.ResourceSpans[0].Resource.Attributes, ss.Spans
}

// attrKeys returns the sorted attribute keys of a decoded span.
func attrKeys(t *testing.T, sp map[string]any) []string {
	t.Helper()
	var keys []string
	for _, a := range sp["attributes"].([]any) {
		keys = append(keys, a.(map[string]any)["key"].(string))
	}
	slices.Sort(keys)
	return keys
}

// The complete attribute sets. Adding an attribute, free text or not,
// must be a deliberate change here.
var (
	baseKeys = []string{
		"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
		"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
		"relay.alias", "relay.cost_micro_usd", "relay.fallback", "relay.ttft_ms",
	}
	allKeys = slices.Sorted(slices.Values(append(slices.Clone(baseKeys), "error.type", "relay.session")))
)

func TestEncodeFullSpan(t *testing.T) {
	ev := testEvent(t)
	body, err := encode(newResource("inference-relay"), []audit.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	res, spans := decodeSpans(t, body)
	wantRes := []any{map[string]any{"key": "service.name", "value": map[string]any{"stringValue": "inference-relay"}}}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("resource attributes (-want +got):\n%s", diff)
	}
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	sv := func(s string) map[string]any { return map[string]any{"stringValue": s} }
	iv := func(s string) map[string]any { return map[string]any{"intValue": s} }
	want := map[string]any{
		"traceId":           "ab000000000000000000000000000001",
		"spanId":            spanID(ev.RequestID),
		"name":              "chat llama3.2:3b",
		"kind":              float64(3),
		"startTimeUnixNano": "1767323045000000006",
		"endTimeUnixNano":   "1767323046500000006",
		"status":            map[string]any{"code": float64(2)},
		"attributes": []any{
			map[string]any{"key": "gen_ai.operation.name", "value": sv("chat")},
			map[string]any{"key": "gen_ai.provider.name", "value": sv("ollama")},
			map[string]any{"key": "gen_ai.request.model", "value": sv("llama3.2:3b")},
			map[string]any{"key": "gen_ai.usage.input_tokens", "value": iv("12")},
			map[string]any{"key": "gen_ai.usage.output_tokens", "value": iv("34")},
			map[string]any{"key": "relay.alias", "value": sv("fast")},
			map[string]any{"key": "relay.fallback", "value": map[string]any{"boolValue": true}},
			map[string]any{"key": "relay.ttft_ms", "value": iv("250")},
			map[string]any{"key": "relay.cost_micro_usd", "value": iv("56")},
			map[string]any{"key": "relay.session", "value": sv(ev.Session.String())},
			map[string]any{"key": "error.type", "value": sv("upstream")},
		},
	}
	if diff := cmp.Diff(want, spans[0]); diff != "" {
		t.Errorf("span (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(allKeys, attrKeys(t, spans[0])); diff != "" {
		t.Errorf("attribute keys (-want +got):\n%s", diff)
	}
}

// A successful request without a session has no status, error.type or
// relay.session, and unknown identifiers read "unknown".
func TestEncodeMinimalSpan(t *testing.T) {
	ev := audit.Event{Time: time.Unix(10, 0), RequestID: audit.RequestID{1}, Duration: -time.Second}
	body, err := encode(newResource("x"), []audit.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	_, spans := decodeSpans(t, body)
	sp := spans[0]
	if diff := cmp.Diff(baseKeys, attrKeys(t, sp)); diff != "" {
		t.Errorf("attribute keys (-want +got):\n%s", diff)
	}
	if _, ok := sp["status"]; ok {
		t.Errorf("status = %v on a successful request, want none", sp["status"])
	}
	if sp["name"] != "chat unknown" {
		t.Errorf("name = %v, want chat unknown", sp["name"])
	}
	// A negative duration is clamped: a span cannot end before it starts.
	if sp["startTimeUnixNano"] != "10000000000" || sp["endTimeUnixNano"] != "10000000000" {
		t.Errorf("times = %v..%v, want 10000000000 both", sp["startTimeUnixNano"], sp["endTimeUnixNano"])
	}
}

var hex16RE = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestSpanID(t *testing.T) {
	a, b := audit.RequestID{1}, audit.RequestID{2}
	if spanID(a) != spanID(a) {
		t.Error("span id is not a function of the request id")
	}
	if spanID(a) == spanID(b) {
		t.Error("different requests share a span id")
	}
	for _, id := range []audit.RequestID{{}, a, audit.NewRequestID()} {
		s := spanID(id)
		if !hex16RE.MatchString(s) || s == "0000000000000000" {
			t.Errorf("spanID(%v) = %q, want 16 hex digits, not all zero", id, s)
		}
	}
}

func TestEncodeBatch(t *testing.T) {
	evs := []audit.Event{{RequestID: audit.RequestID{1}}, {RequestID: audit.RequestID{2}}, {RequestID: audit.RequestID{3}}}
	body, err := encode(newResource("x"), evs)
	if err != nil {
		t.Fatal(err)
	}
	_, spans := decodeSpans(t, body)
	var got []string
	for _, sp := range spans {
		got = append(got, sp["traceId"].(string))
	}
	want := []string{evs[0].RequestID.String(), evs[1].RequestID.String(), evs[2].RequestID.String()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trace ids (-want +got):\n%s", diff)
	}
}

func TestRejectedSpans(t *testing.T) {
	for in, want := range map[string]uint64{
		``:                      0,
		`{}`:                    0,
		`not json`:              0,
		`{"partialSuccess":{}}`: 0,
		`{"partialSuccess":{"rejectedSpans":"3"}}`:  3,
		`{"partialSuccess":{"rejectedSpans":4}}`:    4,
		`{"partialSuccess":{"rejectedSpans":"-1"}}`: 0,
	} {
		if got := rejectedSpans([]byte(in)); got != want {
			t.Errorf("rejectedSpans(%s) = %d, want %d", in, got, want)
		}
	}
}
