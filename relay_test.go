package relay

import (
	"errors"
	"math"
	"testing"
)

// TestLibraryParamsRangeChecked: the library's requests meet the same
// bounds as the HTTP fronts', so no value can reach a backend past what it
// takes (max_tokens past int32 once killed the engine child).
func TestLibraryParamsRangeChecked(t *testing.T) {
	msgs := []Message{{Role: "user", Content: "x"}}
	nan, big, neg := math.NaN(), 2.5, -0.5
	for _, r := range []Request{
		{Model: "m", Messages: msgs, MaxTokens: math.MaxInt32 + 1},
		{Model: "m", Messages: msgs, MaxTokens: math.MaxInt64},
		{Model: "m", Messages: msgs, MaxTokens: -1},
		{Model: "m", Messages: msgs, Temperature: &nan},
		{Model: "m", Messages: msgs, Temperature: &big},
		{Model: "m", Messages: msgs, Temperature: &neg},
	} {
		_, _, err := r.decode()
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 400 {
			t.Errorf("MaxTokens %d, temperature %v: %v, want a 400", r.MaxTokens, *ptrOr(r.Temperature), err)
		}
	}
	if _, p, err := (Request{Model: "m", Messages: msgs, MaxTokens: math.MaxInt32}).decode(); err != nil || p.MaxTokens != math.MaxInt32 {
		t.Fatalf("MaxTokens at the bound: %+v %v", p, err)
	}
}

func ptrOr(p *float64) *float64 {
	if p == nil {
		z := 0.0
		return &z
	}
	return p
}
