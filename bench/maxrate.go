package bench

import (
	"context"
	"runtime"
	"time"

	"github.com/inference-relay/relay/bench/loadgen"
)

// SearchConfig drives FindMaxRate.
type SearchConfig struct {
	Start float64 // first offered rate (default 100/s); doubled until a step fails
	Cap   float64 // no rate above this is tried (default 102400/s)
	// Step is the measured time of each step; Cooldown the pause after it.
	Step     time.Duration
	Cooldown time.Duration
	// Bisections after the doubling has bracketed the limit; the search
	// also stops once the bracket is within 5% of its lower end.
	Bisections int
	// Retries of a failed step before it counts as failed: one burst of
	// load from elsewhere on the machine should not end a search.
	Retries int
	Timeout time.Duration // per request
	Criteria
}

// Criteria say when a step is sustained.
type Criteria struct {
	MinAchieved  float64       // achieved/offered at least this (0.95)
	MaxErrorRate float64       // errors/sent below this (0.01)
	MaxP99       time.Duration // p99 latency below this (10× upstream)
}

// Step is one offered rate tried.
type Step struct {
	Rate      float64
	Achieved  float64
	ErrorRate float64
	P50, P99  time.Duration
	Sustained bool
}

// MaxRate is the outcome of a search.
type MaxRate struct {
	Target string
	// Max is the highest rate sustained; 0 if even Start was not.
	Max   float64
	AtCap bool // Max is Cap: the real limit is higher
	Steps []Step
}

func (c *SearchConfig) defaults(upstream time.Duration) {
	if c.Start <= 0 {
		c.Start = 100
	}
	if c.Cap <= 0 {
		c.Cap = 102400
	}
	if c.Step <= 0 {
		c.Step = 2 * time.Second
	}
	if c.MinAchieved == 0 {
		c.MinAchieved = 0.95
	}
	if c.MaxErrorRate == 0 {
		c.MaxErrorRate = 0.01
	}
	if c.MaxP99 == 0 {
		c.MaxP99 = 10 * upstream
	}
	if c.Timeout == 0 {
		c.Timeout = max(5*time.Second, 2*c.MaxP99)
	}
}

// Sustained applies the criteria to one run.
func (c Criteria) Sustained(r *loadgen.Result) bool {
	return r.Sent > 0 &&
		r.Achieved >= c.MinAchieved*r.Offered &&
		r.ErrorRate() < c.MaxErrorRate &&
		r.Latency.P99 < c.MaxP99
}

// FindMaxRate finds the highest rate t sustains: it doubles the offered
// rate from Start until a step fails, then bisects between the last
// sustained rate and the first failed one.
func FindMaxRate(ctx context.Context, t Target, stream bool, upstream time.Duration, cfg SearchConfig) (*MaxRate, error) {
	cfg.defaults(upstream)
	out := &MaxRate{Target: t.Name}
	req := t.Request(stream)
	try := func(rate float64) (bool, error) {
		for attempt := 0; ; attempt++ {
			res, err := loadgen.Run(ctx, req, loadgen.Config{Rate: rate, Duration: cfg.Step, Timeout: cfg.Timeout, Client: t.Client})
			if err != nil {
				return false, err
			}
			ok := cfg.Sustained(res)
			out.Steps = append(out.Steps, Step{Rate: rate, Achieved: res.Achieved, ErrorRate: res.ErrorRate(),
				P50: res.Latency.P50, P99: res.Latency.P99, Sustained: ok})
			settle(cfg.Cooldown)
			if ok || attempt >= cfg.Retries {
				return ok, nil
			}
		}
	}

	lo, hi := 0.0, 0.0 // highest sustained, lowest failed (0: none yet)
	for rate := cfg.Start; ; rate = min(rate*2, cfg.Cap) {
		ok, err := try(rate)
		if err != nil {
			return out, err
		}
		if !ok {
			hi = rate
			break
		}
		lo = rate
		if rate >= cfg.Cap {
			out.Max, out.AtCap = lo, true
			return out, nil
		}
	}
	for range cfg.Bisections {
		if lo == 0 || (hi-lo) <= 0.05*lo {
			break
		}
		mid := float64(int((lo + hi) / 2))
		ok, err := try(mid)
		if err != nil {
			return out, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	out.Max = lo
	return out, nil
}

// settle pauses between steps and collects garbage, so that one step's
// leftovers do not weigh on the next.
func settle(d time.Duration) {
	runtime.GC()
	time.Sleep(d)
}
