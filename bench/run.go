package bench

import (
	"context"
	"fmt"
	"io"
	"runtime/pprof"
	"strings"
	"time"
)

// Targets the project states for the relay.
const (
	// TargetP50Ratio: the relay may add at most 1.5× the latency a bare
	// reverse proxy adds (p50).
	TargetP50Ratio = 1.5
	// TargetMaxRatio: the relay must sustain at least 70% of the rate a
	// bare reverse proxy sustains.
	TargetMaxRatio = 0.70
)

// Config is a whole benchmark run.
type Config struct {
	Env     Options
	Latency LatencyConfig
	Search  SearchConfig
	// SearchTargets are the targets whose maximum rate is searched for
	// (default all three; proxy and relay are needed for the ratio).
	SearchTargets []string
	SkipMax       bool
	// Cost is the CPU-per-request phase (skipped when Cost.Rate is 0).
	Cost CostConfig
	// Progress receives a line per phase (nil: none).
	Progress io.Writer
}

// Run starts an environment, measures latency (non-streaming and
// streaming), CPU per request and maximum rates, and summarises. The load
// generator's goroutines carry the profile label "loadgen".
func Run(ctx context.Context, cfg Config) (s *Summary, err error) {
	pprof.Do(ctx, pprof.Labels(ProfileLabel, partLoadgen), func(ctx context.Context) {
		s, err = run(ctx, cfg)
	})
	return s, err
}

func run(ctx context.Context, cfg Config) (*Summary, error) {
	progress := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", a...)
		}
	}
	env, err := Start(cfg.Env)
	if err != nil {
		return nil, err
	}
	defer env.Close()

	s := newSummary(env, cfg)
	begin := time.Now()
	for _, stream := range []bool{false, true} {
		progress("latency: %s, %.0f req/s, %d round(s) of %v per target", modeName(stream), cfg.Latency.Rate, max(cfg.Latency.Rounds, 1), cfg.Latency.Duration)
		lat, err := MeasureLatency(ctx, env.Targets(), stream, cfg.Latency)
		if err != nil {
			return nil, err
		}
		s.addLatency(stream, lat)
	}
	if cfg.Cost.Rate > 0 {
		progress("cpu per request: non-streaming, each target alone at %.0f req/s for %v", cfg.Cost.Rate, cfg.Cost.Duration)
		cost, ok, err := MeasureCost(ctx, env.Targets(), false, cfg.Cost)
		if err != nil {
			return nil, err
		}
		if ok {
			s.addCost(cfg.Cost, cost)
		}
	}
	if !cfg.SkipMax {
		names := cfg.SearchTargets
		if len(names) == 0 {
			names = []string{Direct, Proxy, Relay}
		}
		var targets []Target
		for _, name := range names {
			t, ok := env.Target(name)
			if !ok {
				return nil, fmt.Errorf("bench: no target %q", name)
			}
			targets = append(targets, t)
		}
		progress("max rate: %s, steps taken in turn", strings.Join(names, ", "))
		ms, err := FindMaxRates(ctx, targets, false, env.Upstream, cfg.Search)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			progress("max rate: %s sustains %.0f req/s (%d steps)", m.Target, m.Max, len(m.Steps))
			s.addMax(m)
		}
	}
	s.finish(time.Since(begin))
	return s, nil
}

func modeName(stream bool) string {
	if stream {
		return "streaming"
	}
	return "non-streaming"
}
