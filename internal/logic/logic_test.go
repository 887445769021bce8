package logic

import (
	"math"
	"testing"
)

func TestParamsCheck(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	good := []Params{
		{},
		{MaxTokens: 1}, {MaxTokens: math.MaxInt32},
		{Temperature: f(0)}, {Temperature: f(2)}, {Temperature: f(math.Copysign(0, -1))},
		{TopP: f(0)}, {TopP: f(1)},
		{TopK: i(0)}, {TopK: i(math.MaxInt32)},
	}
	for _, p := range good {
		if err := p.Check(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	bad := []struct {
		p     Params
		field string
	}{
		{Params{MaxTokens: -1}, "max_tokens"},
		{Params{MaxTokens: math.MaxInt32 + 1}, "max_tokens"},
		{Params{MaxTokens: math.MaxInt64}, "max_tokens"},
		{Params{MaxTokens: math.MinInt64}, "max_tokens"},
		{Params{Temperature: f(-0.0001)}, "temperature"},
		{Params{Temperature: f(2.0000001)}, "temperature"},
		{Params{Temperature: f(math.NaN())}, "temperature"},
		{Params{Temperature: f(math.Inf(1))}, "temperature"},
		{Params{TopP: f(math.NaN())}, "top_p"},
		{Params{TopP: f(1.5)}, "top_p"},
		{Params{TopP: f(math.Inf(-1))}, "top_p"},
		{Params{TopK: i(-1)}, "top_k"},
		{Params{TopK: i(math.MaxInt32 + 1)}, "top_k"},
	}
	for _, c := range bad {
		err := c.p.Check()
		if err == nil || err.Field != c.field {
			t.Errorf("%+v: %v, want an error on %s", c.p, err, c.field)
		}
	}
}

func TestStopReasonString(t *testing.T) {
	want := map[StopReason]string{StopUnknown: "", StopEnd: "end", StopMaxTokens: "max_tokens", StopSequence: "stop_sequence", StopToolUse: "tool_use", StopRefusal: "refusal", StopRefusal + 1: ""}
	seen := map[string]bool{}
	for s, w := range want {
		if got := s.String(); got != w {
			t.Errorf("%d.String() = %q, want %q", s, got, w)
		}
		if w != "" && seen[w] {
			t.Errorf("%q named twice", w)
		}
		seen[w] = true
	}
}
