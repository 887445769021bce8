// Command relaybench measures the latency the relay adds and the rate it
// sustains, against a direct connection to the same upstream and a bare
// reverse proxy, all in this process on loopback. It prints a table and a
// JSON summary (see package bench). Run it on a quiet machine:
//
//	go run ./bench/cmd/relaybench
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/inference-relay/relay/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg bench.Config
	flag.DurationVar(&cfg.Env.UpstreamLatency, "upstream-latency", 20*time.Millisecond, "stand-in delay before response headers")
	flag.Float64Var(&cfg.Latency.Rate, "rate", 200, "rate offered to each target in the latency comparison (targets interleaved), req/s")
	flag.DurationVar(&cfg.Latency.Duration, "duration", 5*time.Second, "measured time per round in the latency comparison")
	flag.DurationVar(&cfg.Latency.Warmup, "warmup", 500*time.Millisecond, "unmeasured load before each latency round")
	flag.IntVar(&cfg.Latency.Rounds, "rounds", 2, "latency rounds (samples pooled)")
	flag.Float64Var(&cfg.Cost.Rate, "cost-rate", 500, "rate for the CPU-per-request phase, req/s (0 skips it)")
	flag.DurationVar(&cfg.Cost.Duration, "cost-duration", 1500*time.Millisecond, "measured time per target per round of the CPU-per-request phase")
	flag.IntVar(&cfg.Cost.Rounds, "cost-rounds", 5, "rounds of the CPU-per-request phase (median taken)")
	flag.Float64Var(&cfg.Search.Start, "start-rate", 100, "first rate of the max-rate search, req/s (then doubled)")
	flag.Float64Var(&cfg.Search.Cap, "max-rate-cap", 51200, "highest rate the search tries, req/s")
	flag.DurationVar(&cfg.Search.Step, "step", 2*time.Second, "measured time of each max-rate step")
	flag.DurationVar(&cfg.Search.Warmup, "step-warmup", 500*time.Millisecond, "unmeasured load at the step's rate before each max-rate step")
	flag.DurationVar(&cfg.Search.Cooldown, "cooldown", 250*time.Millisecond, "pause after each max-rate step")
	flag.IntVar(&cfg.Search.Bisections, "bisect", 4, "bisection steps after the doubling brackets the limit")
	flag.IntVar(&cfg.Search.Retries, "retries", 1, "retries of a failed max-rate step before it counts")
	targets := flag.String("max-targets", "direct,proxy,relay", "targets whose max rate is searched for (comma-separated)")
	flag.BoolVar(&cfg.SkipMax, "skip-max", false, "skip the max-rate search")
	jsonOut := flag.String("json", "", "also write the JSON summary to this file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (all targets and the load generator) to this file")
	flag.Parse()
	cfg.SearchTargets = strings.Split(*targets, ",")
	cfg.Progress = os.Stderr
	cfg.Cost.Warmup = cfg.Latency.Warmup

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	s.WriteTable(os.Stdout)
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	fmt.Printf("\n%s\n", js)
	if *jsonOut != "" {
		return os.WriteFile(*jsonOut, append(js, '\n'), 0o644)
	}
	return nil
}
