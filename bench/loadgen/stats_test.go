package loadgen

import (
	"slices"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	ten := ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", ms(7), 50, 7 * time.Millisecond},
		{"single p99", ms(7), 99, 7 * time.Millisecond},
		{"ten p50 is the 5th", ten, 50, 50 * time.Millisecond},
		{"ten p90 is the 9th", ten, 90, 90 * time.Millisecond},
		{"ten p99 rounds up to the 10th", ten, 99, 100 * time.Millisecond},
		{"ten p1 is the 1st", ten, 1, 10 * time.Millisecond},
		{"ten p100 is the max", ten, 100, 100 * time.Millisecond},
		{"hundred p50 is the 50th", hundred, 50, 50 * time.Millisecond},
		{"hundred p99 is the 99th, not the 100th", hundred, 99, 99 * time.Millisecond},
		{"hundred p99.5 is the 100th", hundred, 99.5, 100 * time.Millisecond},
		{"even count p50 is the lower middle, not an average", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
	}
	for _, c := range cases {
		if got := Percentile(c.sorted, c.p); got != c.want {
			t.Errorf("%s: Percentile(p=%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func TestSummarizeLeavesInputAlone(t *testing.T) {
	in := ms(30, 10, 50, 20, 40)
	orig := slices.Clone(in)
	s := Summarize(in)
	if !slices.Equal(in, orig) {
		t.Errorf("Summarize reordered its input: %v", in)
	}
	want := Stats{N: 5, Min: 10 * time.Millisecond, P50: 30 * time.Millisecond, P90: 50 * time.Millisecond,
		P99: 50 * time.Millisecond, Max: 50 * time.Millisecond, Mean: 30 * time.Millisecond}
	if s != want {
		t.Errorf("Summarize = %+v, want %+v", s, want)
	}
	if (Summarize(nil) != Stats{}) {
		t.Error("Summarize(nil) is not the zero Stats")
	}
}
