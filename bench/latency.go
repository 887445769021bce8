package bench

import (
	"context"
	"time"

	"github.com/inference-relay/relay/bench/loadgen"
)

// LatencyConfig is the load under which latency is compared: a moderate
// rate, well below saturation, so that the numbers are the cost of one
// request and not of queueing.
type LatencyConfig struct {
	Rate     float64       // requests per second
	Duration time.Duration // measured time per target per round
	Warmup   time.Duration // unmeasured load before each measured run
	// Rounds repeats the measurement, rotating the order of the targets,
	// so that a burst of load from elsewhere on the machine is spread
	// over all of them instead of landing on one. Samples are pooled.
	Rounds  int
	Timeout time.Duration // per request (default loadgen.DefaultTimeout)
}

// Latency is one target's pooled measurement.
type Latency struct {
	Target   string
	Sent     int
	Errors   int
	Achieved float64       // mean over rounds, requests per second
	Full     loadgen.Stats // scheduled send to end of body
	TTFT     loadgen.Stats // streaming only
	// SendLagP99 is the worst per-run p99 of how late the generator sent
	// a request: it should be far below the latencies measured.
	SendLagP99 time.Duration
}

// MeasureLatency runs cfg's load against each target in turn, rounds
// times, and pools the samples per target.
func MeasureLatency(ctx context.Context, targets []Target, stream bool, cfg LatencyConfig) (map[string]*Latency, error) {
	cfg.Rounds = max(cfg.Rounds, 1)
	type pool struct {
		full, ttft []time.Duration
		lag        time.Duration
		sent, errs int
		achieved   float64
	}
	pools := make([]pool, len(targets))
	for round := range cfg.Rounds {
		for k := range targets {
			i := (k + round) % len(targets)
			t := targets[i]
			req := t.Request(stream)
			if cfg.Warmup > 0 {
				if _, err := loadgen.Run(ctx, req, loadgen.Config{Rate: cfg.Rate, Duration: cfg.Warmup, Timeout: cfg.Timeout, Client: t.Client}); err != nil {
					return nil, err
				}
			}
			res, err := loadgen.Run(ctx, req, loadgen.Config{Rate: cfg.Rate, Duration: cfg.Duration, Timeout: cfg.Timeout, Client: t.Client})
			if err != nil {
				return nil, err
			}
			p := &pools[i]
			p.full = append(p.full, res.Latencies...)
			p.ttft = append(p.ttft, res.TTFTs...)
			p.lag = max(p.lag, res.SendLag.P99)
			p.sent += res.Sent
			p.errs += res.Errors
			p.achieved += res.Achieved / float64(cfg.Rounds)
		}
	}
	out := map[string]*Latency{}
	for i, t := range targets {
		p := pools[i]
		out[t.Name] = &Latency{
			Target: t.Name, Sent: p.sent, Errors: p.errs, Achieved: p.achieved,
			Full: loadgen.Summarize(p.full), TTFT: loadgen.Summarize(p.ttft), SendLagP99: p.lag,
		}
	}
	return out, nil
}
