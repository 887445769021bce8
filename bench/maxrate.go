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
	// Warmup is unmeasured load at the step's rate before each step: a
	// higher rate needs more connections and a larger heap, and the first
	// moments of getting them are not the steady state being measured.
	Warmup time.Duration
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
	// ErrorKinds counts the failed requests by kind (see loadgen.Result).
	ErrorKinds map[string]int
	// SendLagP99 is how late the generator sent (p99): large when the
	// machine stalled or the generator itself ran out of CPU.
	SendLagP99 time.Duration
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
		// A request this late has failed the step already; waiting longer
		// for it only makes an overloaded step slower to end.
		c.Timeout = max(time.Second, 5*c.MaxP99)
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
	out, err := FindMaxRates(ctx, []Target{t}, stream, upstream, cfg)
	if len(out) == 0 {
		return nil, err
	}
	return out[0], err
}

// FindMaxRates runs FindMaxRate's search for every target, taking steps in
// turn (one step of the first target, one of the second, ...), so that a
// stretch of load from elsewhere on the machine falls on all the searches
// alike rather than on whichever happened to be running.
func FindMaxRates(ctx context.Context, targets []Target, stream bool, upstream time.Duration, cfg SearchConfig) ([]*MaxRate, error) {
	cfg.defaults(upstream)
	searches := make([]*search, len(targets))
	out := make([]*MaxRate, len(targets))
	for i, t := range targets {
		out[i] = &MaxRate{Target: t.Name}
		searches[i] = &search{cfg: cfg, rate: cfg.Start, out: out[i]}
	}
	for {
		busy := false
		for i, t := range targets {
			s := searches[i]
			if s.done {
				continue
			}
			busy = true
			st, err := runStep(ctx, t.Request(stream), s.rate, cfg)
			if err != nil {
				return out, err
			}
			s.record(st)
			settle(cfg.Cooldown)
		}
		if !busy {
			return out, nil
		}
	}
}

// runStep warms up at rate, then measures one step at it.
func runStep(ctx context.Context, req loadgen.Request, rate float64, cfg SearchConfig) (Step, error) {
	if cfg.Warmup > 0 {
		if _, err := loadgen.Run(ctx, req, loadgen.Config{Rate: rate, Duration: cfg.Warmup, Timeout: cfg.Timeout}); err != nil {
			return Step{}, err
		}
	}
	res, err := loadgen.Run(ctx, req, loadgen.Config{Rate: rate, Duration: cfg.Step, Timeout: cfg.Timeout})
	if err != nil {
		return Step{}, err
	}
	return Step{Rate: rate, Achieved: res.Achieved, ErrorRate: res.ErrorRate(),
		P50: res.Latency.P50, P99: res.Latency.P99, Sustained: cfg.Sustained(res), ErrorKinds: res.ErrorKinds, SendLagP99: res.SendLag.P99}, nil
}

// search is one target's search: doubling, then bisecting.
type search struct {
	cfg        SearchConfig
	rate       float64 // the next rate to try
	lo, hi     float64 // highest sustained, lowest failed (0: none yet)
	bisecting  bool
	bisections int
	retried    int // failed attempts at rate so far
	done       bool
	out        *MaxRate
}

// record takes a step's outcome and picks the next rate, or ends.
func (s *search) record(st Step) {
	s.out.Steps = append(s.out.Steps, st)
	if !st.Sustained && s.retried < s.cfg.Retries {
		s.retried++ // try the same rate again
		return
	}
	s.retried = 0
	if st.Sustained {
		s.lo = st.Rate
	} else {
		s.hi = st.Rate
	}
	if !s.bisecting {
		switch {
		case st.Sustained && st.Rate >= s.cfg.Cap:
			s.finish(true)
			return
		case st.Sustained:
			s.rate = min(st.Rate*2, s.cfg.Cap)
			return
		}
		s.bisecting = true
	} else {
		s.bisections++
	}
	if s.lo == 0 || s.hi-s.lo <= 0.05*s.lo || s.bisections >= s.cfg.Bisections {
		s.finish(false)
		return
	}
	s.rate = float64(int((s.lo + s.hi) / 2))
}

func (s *search) finish(atCap bool) {
	s.done = true
	s.out.Max, s.out.AtCap = s.lo, atCap
}

// settle pauses between steps and collects garbage, so that one step's
// leftovers do not weigh on the next.
func settle(d time.Duration) {
	runtime.GC()
	time.Sleep(d)
}
