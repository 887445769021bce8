package audit

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/logic"
)

// approved are the types allowed to hold text because their values are
// constrained by construction (see the package doc). time.Time is here
// because its only string is the location name, which the JSON encoding
// drops (times are written in UTC).
var approved = map[reflect.Type]string{
	reflect.TypeFor[Ident]():            "registered names only",
	reflect.TypeFor[KeyedHash]():        "fixed-size HMAC",
	reflect.TypeFor[RequestID]():        "fixed-size random bytes",
	reflect.TypeFor[StatusClass]():      "enum",
	reflect.TypeFor[logic.ErrorClass](): "enum",
	reflect.TypeFor[time.Time]():        "timestamp, encoded in UTC",
}

// freeText lists the paths of fields of t that could hold free text.
func freeText(t reflect.Type, path string, seen map[reflect.Type]bool) []string {
	if _, ok := approved[t]; ok {
		return nil
	}
	if seen[t] {
		return nil
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.String, reflect.Interface, reflect.Map, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return []string{path + " (" + t.Kind().String() + ")"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return []string{path + " ([]byte)"}
		}
		return freeText(t.Elem(), path+"[]", seen)
	case reflect.Array, reflect.Pointer:
		return freeText(t.Elem(), path+"*", seen)
	case reflect.Struct:
		var bad []string
		for f := range t.Fields() {
			bad = append(bad, freeText(f.Type, path+"."+f.Name, seen)...)
		}
		return bad
	}
	return nil
}

func TestEventHoldsNoFreeText(t *testing.T) {
	if bad := freeText(reflect.TypeFor[Event](), "Event", map[reflect.Type]bool{}); len(bad) > 0 {
		t.Errorf("Event fields that can hold free text: %s", strings.Join(bad, ", "))
	}
}

// The checker itself must catch text hidden at any depth.
func TestFreeTextCheckerCatchesNesting(t *testing.T) {
	type inner struct{ Note string }
	type sneaky struct {
		OK    int64
		Deep  []*inner
		Bytes []byte
		Any   any
		Tags  map[int]int
	}
	got := freeText(reflect.TypeFor[sneaky](), "sneaky", map[reflect.Type]bool{})
	want := []string{"sneaky.Deep[]*.Note (string)", "sneaky.Bytes ([]byte)", "sneaky.Any (interface)", "sneaky.Tags (map)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checker findings (-want +got):\n%s", diff)
	}
}

func TestEventJSON(t *testing.T) {
	var reg Registry
	if err := reg.Add("fast", "ollama", "llama3.2:3b"); err != nil {
		t.Fatal(err)
	}
	id := RequestID{0: 0xab, 15: 0x01}
	ev := Event{
		Time:         time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600)),
		RequestID:    id,
		Alias:        reg.Ident("fast"),
		Provider:     reg.Ident("ollama"),
		Model:        reg.Ident("llama3.2:3b"),
		InputTokens:  12,
		OutputTokens: 34,
		CostMicroUSD: 56,
		Duration:     1500*time.Millisecond + 900*time.Microsecond,
		TTFT:         250 * time.Millisecond,
		Fallback:     true,
		Status:       Status5xx,
		Error:        logic.ErrUpstream,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-01-02T02:04:05.000000006Z","request_id":"ab000000000000000000000000000001",` +
		`"alias":"fast","provider":"ollama","model":"llama3.2:3b","input_tokens":12,"output_tokens":34,` +
		`"cost_micro_usd":56,"duration_ms":1500,"ttft_ms":250,"fallback":true,"status":"5xx","error":"upstream"}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}

	k := testKeyer(t)
	ev.Session = k.Hash([]byte("my-session"))
	b, _ = json.Marshal(ev)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if s, _ := m["session"].(string); !keyedHashRE.MatchString(s) {
		t.Errorf("session = %q, want an hmac-sha256 hash", s)
	}
}

func TestZeroEventJSON(t *testing.T) {
	b, err := json.Marshal(Event{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	want := []string{"alias", "cost_micro_usd", "duration_ms", "error", "fallback", "input_tokens", "model", "output_tokens", "provider", "request_id", "status", "time", "ttft_ms"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	for _, k := range []string{"alias", "provider", "model", "status"} {
		if m[k] != "unknown" {
			t.Errorf("%s = %v, want unknown", k, m[k])
		}
	}
	if m["error"] != "none" {
		t.Errorf("error = %v, want none", m["error"])
	}
}

var hex32RE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	a, b := NewRequestID(), NewRequestID()
	if a == b || a.IsZero() {
		t.Fatalf("request ids not random: %v %v", a, b)
	}
	if !hex32RE.MatchString(a.String()) {
		t.Errorf("id = %q, want 32 hex digits", a)
	}
	if !(RequestID{}).IsZero() {
		t.Error("zero id not IsZero")
	}
}

// Every value an enum can take, in range or not, prints one of its names.
func TestEnumsPrintOnlyTheirNames(t *testing.T) {
	for v := range 256 {
		if s := StatusClass(v).String(); !slices.Contains(statusNames[:], s) {
			t.Errorf("StatusClass(%d) = %q", v, s)
		}
		if s := logic.ErrorClass(v).String(); !regexp.MustCompile(`^[a-z_]+$`).MatchString(s) {
			t.Errorf("ErrorClass(%d) = %q", v, s)
		}
	}
}

func TestStatusClassification(t *testing.T) {
	for _, tc := range []struct {
		code int
		want StatusClass
	}{
		{0, StatusUnknown}, {200, Status2xx}, {304, Status2xx}, {400, Status4xx}, {429, Status4xx},
		{499, StatusCanceled}, {500, Status5xx}, {529, Status5xx},
	} {
		if got := StatusOf(tc.code); got != tc.want {
			t.Errorf("StatusOf(%d) = %v, want %v", tc.code, got, tc.want)
		}
	}
	for c, want := range map[logic.ErrorClass]StatusClass{
		logic.ErrNone: Status2xx, logic.ErrCanceled: StatusCanceled, logic.ErrRateLimited: Status4xx,
		logic.ErrOverloaded: Status5xx, logic.ErrInternal: Status5xx,
	} {
		if got := StatusFor(c); got != want {
			t.Errorf("StatusFor(%v) = %v, want %v", c, got, want)
		}
	}
}
