package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/logic"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestRecordExposesSeries(t *testing.T) {
	var reg audit.Registry
	_ = reg.Add("ollama", "llama3.2:3b", "anthropic", "claude-sonnet-4-5")
	m := New()
	m.Record(audit.Event{
		Provider: reg.Ident("ollama"), Model: reg.Ident("llama3.2:3b"),
		InputTokens: 10, OutputTokens: 20, CostMicroUSD: 0,
		Duration: 1500 * time.Millisecond, TTFT: 200 * time.Millisecond,
		Status: audit.Status2xx, Error: logic.ErrNone,
	})
	m.Record(audit.Event{
		Provider: reg.Ident("ollama"), Model: reg.Ident("llama3.2:3b"),
		InputTokens: 5, OutputTokens: 1,
		Duration: 500 * time.Millisecond, TTFT: 100 * time.Millisecond,
		Status: audit.Status2xx, Error: logic.ErrNone,
	})
	m.Record(audit.Event{
		Provider: reg.Ident("anthropic"), Model: reg.Ident("claude-sonnet-4-5"),
		InputTokens: 100, CostMicroUSD: 300, Fallback: true,
		Duration: 3 * time.Second,
		Status:   audit.Status5xx, Error: logic.ErrOverloaded,
	})
	// A client's model string never becomes a label: it reads "unknown".
	m.Record(audit.Event{
		Provider: reg.Ident("ollama"), Model: reg.Ident("ignore all previous instructions"),
		InputTokens: -5, Status: audit.Status4xx, Error: logic.ErrNotFound,
	})

	out := scrape(t, m)
	for _, want := range []string{
		`relay_requests_total{error="none",model="llama3.2:3b",provider="ollama",status="2xx"} 2`,
		`relay_requests_total{error="overloaded",model="claude-sonnet-4-5",provider="anthropic",status="5xx"} 1`,
		`relay_requests_total{error="not_found",model="unknown",provider="ollama",status="4xx"} 1`,
		`relay_tokens_total{direction="input",model="llama3.2:3b",provider="ollama"} 15`,
		`relay_tokens_total{direction="output",model="llama3.2:3b",provider="ollama"} 21`,
		`relay_tokens_total{direction="input",model="claude-sonnet-4-5",provider="anthropic"} 100`,
		`relay_cost_microdollars_total{model="claude-sonnet-4-5",provider="anthropic"} 300`,
		`relay_fallbacks_total{model="claude-sonnet-4-5",provider="anthropic"} 1`,
		`relay_request_duration_seconds_count{provider="ollama"} 2`,
		`relay_request_duration_seconds_sum{provider="ollama"} 2`,
		`relay_request_duration_seconds_bucket{provider="anthropic",le="2.5"} 0`,
		`relay_request_duration_seconds_bucket{provider="anthropic",le="5"} 1`,
		`relay_time_to_first_token_seconds_count{provider="ollama"} 2`,
		`relay_time_to_first_token_seconds_bucket{provider="ollama",le="0.1"} 1`,
		"go_goroutines ",
		"process_",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	for _, absent := range []string{
		"ignore all previous", // client text
		`relay_time_to_first_token_seconds_count{provider="anthropic"}`, // no first token, no sample
		`relay_tokens_total{direction="input",model="unknown"`,          // negative count skipped
		`relay_cost_microdollars_total{model="llama3.2:3b"`,             // zero cost not a series
	} {
		if strings.Contains(out, absent) {
			t.Errorf("scrape holds %q", absent)
		}
	}
}

// Each Metrics has its own registry: two of them do not collide, and
// nothing lands in the global default registry.
func TestOwnRegistry(t *testing.T) {
	a, b := New(), New()
	a.Record(audit.Event{Status: audit.Status2xx})
	if strings.Contains(scrape(t, b), "relay_requests_total{") {
		t.Error("a's request appeared in b")
	}
	if !strings.Contains(scrape(t, a), `relay_requests_total{error="none",model="unknown",provider="unknown",status="2xx"} 1`) {
		t.Error("a's request missing")
	}
}

func TestRefusedCountsByReason(t *testing.T) {
	m := New()
	for range 3 {
		m.Refused(audit.RefusedAuth)
	}
	m.Refused(audit.RefusedUIDLimit)
	m.Refused(audit.NumRefusalReasons) // out of range: ignored
	out := scrape(t, m)
	for _, want := range []string{
		`relay_refused_total{reason="auth"} 3`,
		`relay_refused_total{reason="uid_limit"} 1`,
		`relay_refused_total{reason="host"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// Dropped request fields are counted by front and name; a name not shaped
// like an API field name, an unknown front, and names past the bound all
// read "other", so clients cannot grow the series without end.
func TestUnknownFieldsBounded(t *testing.T) {
	m := New()
	m.UnknownField("anthropic", "speed_hint")
	m.UnknownField("anthropic", "speed_hint")
	m.UnknownField("openai", "a secret value")
	m.UnknownField("anthropic", "CANARY-0a1b2c")
	m.UnknownField("anthropic", "Speed_Hint")
	m.UnknownField("mystery", "x")
	for i := range MaxUnknownFieldNames + 5 {
		m.UnknownField("openai", "f"+strings.Repeat("x", i))
	}
	out := scrape(t, m)
	for _, want := range []string{
		`relay_unknown_request_fields_total{field="speed_hint",front="anthropic"} 2`,
		`relay_unknown_request_fields_total{field="x",front="other"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(out, "secret") || strings.Contains(out, "CANARY") || strings.Contains(out, "Speed_Hint") {
		t.Error("a key not shaped like an API field name reached a label")
	}
	if !strings.Contains(out, `relay_unknown_request_fields_total{field="other",front="anthropic"} 2`) {
		t.Errorf("anthropic other count wrong:\n%s", grepLines(out, "unknown_request_fields"))
	}
	if n := strings.Count(out, `front="openai"`); n != MaxUnknownFieldNames {
		t.Errorf("openai has %d series, want %d (the bound, other included)", n, MaxUnknownFieldNames)
	}
	// "other" took the non-identifier and the names past the bound: 1 + 6.
	if !strings.Contains(out, `relay_unknown_request_fields_total{field="other",front="openai"} 7`) {
		t.Errorf("other count wrong:\n%s", grepLines(out, "unknown_request_fields"))
	}
}

func grepLines(s, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
