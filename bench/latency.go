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
	// Rate is offered to each target; the targets' requests are
	// interleaved in one schedule (loadgen.RunEach), so all of them see
	// the same moments of the machine's other load.
	Rate     float64
	Duration time.Duration // measured time per round
	Warmup   time.Duration // unmeasured load before each round
	Rounds   int           // rounds; samples are pooled
	Timeout  time.Duration // per request (default loadgen.DefaultTimeout)
	// MaxSendLag discards a round in which the generator itself fell
	// behind its schedule by more than this (p99, default 10ms): that
	// happens when the whole machine stalls, and such a round measures
	// the stall, not the targets. At most Rounds rounds are discarded;
	// after that a stalled round is kept, and the summary warns.
	MaxSendLag time.Duration
}

// Latency is one target's pooled measurement.
type Latency struct {
	Target    string
	Discarded int // rounds discarded for a stalled generator
	Sent      int
	Errors    int
	Achieved  float64       // mean over rounds, requests per second
	Full      loadgen.Stats // scheduled send to end of body
	TTFT      loadgen.Stats // streaming only
	// SendLagP99 is the worst per-round p99 of how late the generator sent
	// a request: it should be far below the latencies measured.
	SendLagP99 time.Duration
}

// MeasureLatency offers cfg.Rate to every target at once, interleaved,
// for cfg.Rounds rounds, and pools the samples per target.
func MeasureLatency(ctx context.Context, targets []Target, stream bool, cfg LatencyConfig) (map[string]*Latency, error) {
	cfg.Rounds = max(cfg.Rounds, 1)
	reqs := make([]loadgen.Request, len(targets))
	for i, t := range targets {
		reqs[i] = t.Request(stream)
	}
	type pool struct {
		full, ttft []time.Duration
		lag        time.Duration
		sent, errs int
		achieved   float64
	}
	if cfg.MaxSendLag <= 0 {
		cfg.MaxSendLag = 10 * time.Millisecond
	}
	pools := make([]pool, len(targets))
	kept, discarded := 0, 0
	for kept < cfg.Rounds {
		if cfg.Warmup > 0 {
			if _, err := loadgen.RunEach(ctx, reqs, loadgen.Config{Rate: cfg.Rate, Duration: cfg.Warmup, Timeout: cfg.Timeout}); err != nil {
				return nil, err
			}
		}
		res, err := loadgen.RunEach(ctx, reqs, loadgen.Config{Rate: cfg.Rate, Duration: cfg.Duration, Timeout: cfg.Timeout})
		if err != nil {
			return nil, err
		}
		if stalled(res, cfg.MaxSendLag) && discarded < cfg.Rounds {
			discarded++
			continue
		}
		kept++
		for i, r := range res {
			p := &pools[i]
			p.full = append(p.full, r.Latencies...)
			p.ttft = append(p.ttft, r.TTFTs...)
			p.lag = max(p.lag, r.SendLag.P99)
			p.sent += r.Sent
			p.errs += r.Errors
			p.achieved += r.Achieved
		}
	}
	out := map[string]*Latency{}
	for i, t := range targets {
		p := pools[i]
		out[t.Name] = &Latency{
			Target: t.Name, Discarded: discarded, Sent: p.sent, Errors: p.errs, Achieved: p.achieved / float64(kept),
			Full: loadgen.Summarize(p.full), TTFT: loadgen.Summarize(p.ttft), SendLagP99: p.lag,
		}
	}
	return out, nil
}

// stalled reports whether the generator fell behind its schedule in a run.
func stalled(res []*loadgen.Result, limit time.Duration) bool {
	for _, r := range res {
		if r.SendLag.P99 > limit {
			return true
		}
	}
	return false
}
