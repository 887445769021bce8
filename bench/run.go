package bench

import (
	"context"
	"fmt"
	"io"
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
	// Progress receives a line per phase (nil: none).
	Progress io.Writer
}

// Run starts an environment, measures latency (non-streaming and
// streaming) and maximum rates, and summarises.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
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
	if !cfg.SkipMax {
		names := cfg.SearchTargets
		if len(names) == 0 {
			names = []string{Direct, Proxy, Relay}
		}
		for _, name := range names {
			t, ok := env.Target(name)
			if !ok {
				return nil, fmt.Errorf("bench: no target %q", name)
			}
			progress("max rate: %s", name)
			m, err := FindMaxRate(ctx, t, false, env.Upstream, cfg.Search)
			if err != nil {
				return nil, err
			}
			progress("max rate: %s sustains %.0f req/s (%d steps)", name, m.Max, len(m.Steps))
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
