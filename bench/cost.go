package bench

import (
	"context"
	"runtime"
	"time"

	"github.com/inference-relay/relay/bench/loadgen"
)

// CostConfig is the load under which CPU cost is measured: each target
// alone, at a rate all of them sustain.
type CostConfig struct {
	Rate     float64
	Duration time.Duration
	Warmup   time.Duration
	// Rounds repeats the measurement, rotating the order of the targets;
	// each target's cost is the median over rounds, so that one round
	// disturbed by a stall of the machine does not decide it.
	Rounds int
}

// Cost is the CPU this process spent per request while one target was
// loaded: the load generator's and the stand-in's share is in every
// target's number (it is the whole of direct's), so target − direct is
// what the proxy or the relay itself costs. CPU time moves less than
// latency when other processes load the machine, and on a machine whose
// cores are all busy it is what bounds the rate.
type Cost struct {
	Target        string
	Requests      int           // successful, over all rounds
	CPUPerRequest time.Duration // median over rounds
	// AllocPerRequest is the heap bytes allocated per request (median over
	// rounds): garbage the collector must then spend CPU on. Unlike CPU
	// time it does not depend on what else the machine is doing.
	AllocPerRequest uint64
}

// MeasureCost measures each target's CPU per request. ok is false where
// the process's CPU time cannot be read.
func MeasureCost(ctx context.Context, targets []Target, stream bool, cfg CostConfig) (map[string]*Cost, bool, error) {
	if _, ok := processCPU(); !ok {
		return nil, false, nil
	}
	cfg.Rounds = max(cfg.Rounds, 1)
	perReq := make([][]time.Duration, len(targets))
	allocs := make([][]time.Duration, len(targets)) // bytes, in a Duration to reuse Summarize
	reqs := make([]int, len(targets))
	for round := range cfg.Rounds {
		for k := range targets {
			i := (k + round) % len(targets)
			req := targets[i].Request(stream)
			if cfg.Warmup > 0 {
				if _, err := loadgen.Run(ctx, req, loadgen.Config{Rate: cfg.Rate, Duration: cfg.Warmup}); err != nil {
					return nil, true, err
				}
			}
			runtime.GC() // the previous run's garbage is not this one's cost
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			before, _ := processCPU()
			res, err := loadgen.Run(ctx, req, loadgen.Config{Rate: cfg.Rate, Duration: cfg.Duration})
			if err != nil {
				return nil, true, err
			}
			runtime.GC() // this run's garbage is
			after, _ := processCPU()
			runtime.ReadMemStats(&m1)
			if res.OK > 0 {
				perReq[i] = append(perReq[i], (after-before)/time.Duration(res.OK))
				allocs[i] = append(allocs[i], time.Duration((m1.TotalAlloc-m0.TotalAlloc)/uint64(res.OK)))
			}
			reqs[i] += res.OK
		}
	}
	out := map[string]*Cost{}
	for i, t := range targets {
		out[t.Name] = &Cost{Target: t.Name, Requests: reqs[i], CPUPerRequest: loadgen.Summarize(perReq[i]).P50,
			AllocPerRequest: uint64(loadgen.Summarize(allocs[i]).P50)}
	}
	return out, true, nil
}
