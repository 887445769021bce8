package bench

import (
	"context"
	"testing"
	"time"

	"github.com/inference-relay/relay/bench/loadgen"
)

// simulate runs a search against a target that sustains exactly capacity
// requests a second, failing the first attempt at each rate in flaky.
func simulate(cfg SearchConfig, capacity float64, flaky map[float64]bool) *MaxRate {
	cfg.defaults(20 * time.Millisecond)
	out := &MaxRate{}
	s := &search{cfg: cfg, rate: cfg.Start, out: out}
	tried := map[float64]bool{}
	for i := 0; !s.done && i < 100; i++ {
		ok := s.rate <= capacity
		if flaky[s.rate] && !tried[s.rate] {
			ok = false
		}
		tried[s.rate] = true
		s.record(Step{Rate: s.rate, Sustained: ok})
	}
	return out
}

func rates(m *MaxRate) []float64 {
	var r []float64
	for _, s := range m.Steps {
		r = append(r, s.Rate)
	}
	return r
}

func TestSearchDoublesThenBisects(t *testing.T) {
	m := simulate(SearchConfig{Start: 100, Bisections: 4}, 1000, nil)
	want := []float64{100, 200, 400, 800, 1600, 1200, 1000, 1100, 1050}
	if got := rates(m); !equal(got, want) {
		t.Errorf("rates tried %v, want %v", got, want)
	}
	if m.Max != 1000 || m.AtCap {
		t.Errorf("max %v (at cap %v), want 1000", m.Max, m.AtCap)
	}
}

func TestSearchRetriesAFailedStepOnce(t *testing.T) {
	m := simulate(SearchConfig{Start: 100, Bisections: 2, Retries: 1}, 1000, map[float64]bool{400: true})
	want := []float64{100, 200, 400, 400, 800, 1600, 1600, 1200, 1200, 1000}
	if got := rates(m); !equal(got, want) {
		t.Errorf("rates tried %v, want %v", got, want)
	}
	if m.Max != 1000 {
		t.Errorf("max %v, want 1000: one flaky step must not end the search", m.Max)
	}
}

func TestSearchEnds(t *testing.T) {
	if m := simulate(SearchConfig{Start: 100, Cap: 800, Bisections: 4}, 5000, nil); m.Max != 800 || !m.AtCap {
		t.Errorf("above the cap: max %v at cap %v, want 800 at cap", m.Max, m.AtCap)
	}
	if m := simulate(SearchConfig{Start: 100, Bisections: 4}, 50, nil); m.Max != 0 || len(m.Steps) != 1 {
		t.Errorf("below the start: max %v after %d steps, want 0 after 1", m.Max, len(m.Steps))
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRatio(t *testing.T) {
	if r := Ratio(0.6, 0.4); r == nil || *r != 1.5 {
		t.Errorf("Ratio(0.6, 0.4) = %v, want 1.5", r)
	}
	if r := Ratio(0.6, 0); r != nil {
		t.Errorf("Ratio over a zero baseline = %v, want nil (not judged)", *r)
	}
	if r := Ratio(0.6, -0.1); r != nil {
		t.Errorf("Ratio over a negative baseline = %v, want nil", *r)
	}
}

// TestTargetsAnswer brings the environment up and sends a few requests of
// each kind to each target: all must succeed, and the relay must be
// demanding its key.
func TestTargetsAnswer(t *testing.T) {
	env, err := Start(Options{UpstreamLatency: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	for _, stream := range []bool{false, true} {
		var reqs []loadgen.Request
		for _, tg := range env.Targets() {
			reqs = append(reqs, tg.Request(stream))
		}
		res, err := loadgen.RunEach(context.Background(), reqs, loadgen.Config{Rate: 20, Duration: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			name := env.Targets()[i].Name
			if r.Sent != 4 || r.OK != 4 {
				t.Errorf("%s stream=%v: sent %d ok %d errors %v", name, stream, r.Sent, r.OK, r.ErrorKinds)
			}
			if r.Latency.P50 < 5*time.Millisecond {
				t.Errorf("%s stream=%v: p50 %v is below the upstream's 5ms", name, stream, r.Latency.P50)
			}
			if stream && r.TTFT.N != 4 {
				t.Errorf("%s: %d TTFT samples, want 4", name, r.TTFT.N)
			}
		}
	}
	noKey := env.Relay
	noKey.Header = nil
	res, err := loadgen.Run(context.Background(), noKey.Request(false), loadgen.Config{Rate: 20, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorKinds["status 401"] != res.Sent || res.Sent == 0 {
		t.Errorf("relay without a key: %v, want every request refused with 401", res.ErrorKinds)
	}
	if env.Relay.Header.Get("Authorization") == "" || env.Proxy.Header != nil || env.Direct.Header != nil {
		t.Error("only the relay's requests should carry a key")
	}
}

// BenchmarkOverhead is a short version of `relaybench`: latency added by
// the relay and by a bare reverse proxy over a direct connection, and the
// maximum rates of both, reported as the ratios the targets are stated in.
// It does not run under plain `go test`; use `go test -bench . ./bench`.
func BenchmarkOverhead(b *testing.B) {
	cfg := Config{
		Latency: LatencyConfig{Rate: 200, Duration: 2 * time.Second, Warmup: 300 * time.Millisecond, Rounds: 1},
		Search: SearchConfig{Start: 200, Step: time.Second, Warmup: 300 * time.Millisecond,
			Cooldown: 100 * time.Millisecond, Bisections: 2, Retries: 1},
		Cost:          CostConfig{Rate: 500, Duration: time.Second, Warmup: 200 * time.Millisecond, Rounds: 3},
		SearchTargets: []string{Proxy, Relay},
	}
	var s *Summary
	for b.Loop() {
		var err error
		if s, err = Run(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	report := func(v *float64, name string) {
		if v != nil {
			b.ReportMetric(*v, name)
		}
	}
	report(s.Latency.RelayOverProxy[ModeNonStreaming], "relay_p50_over_proxy")
	report(s.Latency.RelayOverProxy[ModeStreamingTTFT], "relay_ttft_p50_over_proxy")
	report(s.MaxRate.RelayOverProxy, "relay_max_over_proxy")
	if s.Cost != nil {
		report(s.Cost.RelayOverProxy, "relay_cpu_over_proxy")
	}
	for _, name := range []string{Proxy, Relay} {
		b.ReportMetric(s.Latency.Added[ModeNonStreaming+"/"+name].P50*1000, name+"_added_p50_us")
		b.ReportMetric(s.MaxRate.Targets[name].MaxRPS, name+"_max_rps")
	}
}

func TestSummaryDerivesAddedLatencyAndVerdicts(t *testing.T) {
	us := func(v int) time.Duration { return time.Duration(v) * time.Microsecond }
	lat := func(name string, p50, p99 int, lag time.Duration) *Latency {
		return &Latency{Target: name, Full: loadgen.Stats{N: 10, P50: us(p50), P99: us(p99)}, SendLagP99: lag}
	}
	env := &Env{Upstream: 20 * time.Millisecond}
	s := newSummary(env, Config{Latency: LatencyConfig{Rate: 100, Duration: time.Second}})
	s.addLatency(false, map[string]*Latency{
		Direct: lat(Direct, 21000, 23000, 0),
		Proxy:  lat(Proxy, 21200, 23500, 0),
		Relay:  lat(Relay, 21500, 24000, 0),
	})
	if a := s.Latency.Added[ModeNonStreaming+"/"+Relay]; a.P50 != 0.5 || a.P99 != 1 {
		t.Errorf("relay added %+v, want p50 0.5ms p99 1ms", a)
	}
	if r := s.Latency.RelayOverProxy[ModeNonStreaming]; r == nil || *r != 2.5 {
		t.Errorf("ratio %v, want 2.5", r)
	}
	if m := s.Verdict.P50MetNonStreaming; m == nil || *m {
		t.Errorf("verdict %v, want missed (2.5 > %v)", m, TargetP50Ratio)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings on a clean run: %v", s.Warnings)
	}

	// A stalled generator and a proxy that added nothing are both warned
	// about, and the ratio is left unjudged.
	s.addLatency(true, map[string]*Latency{
		Direct: {Target: Direct, TTFT: loadgen.Stats{P50: us(21000)}, SendLagP99: 50 * time.Millisecond},
		Proxy:  {Target: Proxy, TTFT: loadgen.Stats{P50: us(21000)}},
		Relay:  {Target: Relay, TTFT: loadgen.Stats{P50: us(21100)}},
	})
	if s.Verdict.P50MetStreamingTTFT != nil || s.Latency.RelayOverProxy[ModeStreamingTTFT] != nil {
		t.Error("a ratio over a zero proxy overhead was judged")
	}
	if len(s.Warnings) != 2 {
		t.Errorf("warnings %q, want one for the stall and one for the ratio", s.Warnings)
	}

	s.addMax(&MaxRate{Target: Proxy, Max: 4000})
	s.addMax(&MaxRate{Target: Relay, Max: 2600})
	if r := s.MaxRate.RelayOverProxy; r == nil || *r != 0.65 {
		t.Errorf("max ratio %v, want 0.65", r)
	}
	if m := s.Verdict.MaxRatioMet; m == nil || *m {
		t.Errorf("max verdict %v, want missed (0.65 < %v)", m, TargetMaxRatio)
	}
}

func TestLoad1(t *testing.T) {
	if v, ok := load1("6.33 3.77 3.17"); !ok || v != 6.33 {
		t.Errorf("load1 = %v, %v; want 6.33", v, ok)
	}
	if _, ok := load1(""); ok {
		t.Error("load1 of an unknown load average reported one")
	}
}
