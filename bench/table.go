package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the summary for people: latencies per mode and target,
// the added latency and its ratio, and the maximum rates.
func (s *Summary) WriteTable(w io.Writer) {
	m := s.Machine
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d) %s, %s %s; load average %s at start, %s at end\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, m.Go, m.OSArch, m.LoadStart, m.LoadEnd)
	fmt.Fprintf(w, "upstream: stand-in, %.0f ms before headers, %.0f ms between chunks; every process shares these CPUs\n\n",
		s.Upstream.LatencyMS, s.Upstream.TokenDelayMS)

	fmt.Fprintf(w, "latency at %.0f req/s, %d round(s) × %.1fs per target (ms, from scheduled send)\n",
		s.Latency.RateRPS, s.Latency.Rounds, s.Latency.DurationS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\ttarget\tp50\tp90\tp99\tadded p50\tadded p99\tn\terrors\t")
	rows := []struct {
		title, mode string
		stats       map[string]StatsMS
	}{
		{"non-streaming", ModeNonStreaming, s.Latency.NonStreaming},
		{"streaming TTFT", ModeStreamingTTFT, s.Latency.StreamingTTFT},
		{"streaming full", "", s.Latency.StreamingFull},
	}
	for _, r := range rows {
		for _, name := range []string{Direct, Proxy, Relay} {
			st, ok := r.stats[name]
			if !ok {
				continue
			}
			addP50, addP99 := "-", "-"
			if a, ok := s.Latency.Added[r.mode+"/"+name]; ok && r.mode != "" {
				addP50, addP99 = fmt.Sprintf("%+.3f", a.P50), fmt.Sprintf("%+.3f", a.P99)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%.3f\t%s\t%s\t%d\t%d\t\n",
				r.title, name, st.P50, st.P90, st.P99, addP50, addP99, st.N, st.Errors)
		}
	}
	tw.Flush()
	for _, mode := range []string{ModeNonStreaming, ModeStreamingTTFT} {
		fmt.Fprintf(w, "relay added p50 / proxy added p50, %s: %s (target ≤ %.2f: %s)\n",
			strings.ReplaceAll(mode, "_", " "), ratioText(s.Latency.RelayOverProxy[mode]), s.Verdict.P50RatioTarget,
			metText(metFor(s.Verdict, mode)))
	}

	if len(s.MaxRate.Targets) == 0 {
		return
	}
	c := s.MaxRate.Criteria
	fmt.Fprintf(w, "\nmax sustained rate, non-streaming (steps of %.1fs; sustained = achieved ≥ %.0f%% of offered, errors < %.0f%%, p99 < %.0f ms)\n",
		s.MaxRate.StepS, c.MinAchievedRatio*100, c.MaxErrorRate*100, c.MaxP99MS)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tmax req/s\tsteps (offered→achieved, p99 ms, ✓ sustained)\t")
	for _, name := range []string{Direct, Proxy, Relay} {
		t, ok := s.MaxRate.Targets[name]
		if !ok {
			continue
		}
		max := fmt.Sprintf("%.0f", t.MaxRPS)
		if t.AtCap {
			max = "≥" + max
		}
		var steps []string
		for _, st := range t.Steps {
			mark := "✗"
			if st.Sustained {
				mark = "✓"
			}
			steps = append(steps, fmt.Sprintf("%.0f→%.0f %.1f%s", st.RateRPS, st.AchievedRPS, st.P99MS, mark))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", name, max, strings.Join(steps, "  "))
	}
	tw.Flush()
	fmt.Fprintf(w, "relay max / proxy max: %s (target ≥ %.2f: %s)\n",
		ratioText(s.MaxRate.RelayOverProxy), s.Verdict.MaxRatioTarget, metText(s.Verdict.MaxRatioMet))
}

func metFor(v Verdict, mode string) *bool {
	if mode == ModeStreamingTTFT {
		return v.P50MetStreamingTTFT
	}
	return v.P50MetNonStreaming
}

func ratioText(r *float64) string {
	if r == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", *r)
}

func metText(b *bool) string {
	switch {
	case b == nil:
		return "not judged"
	case *b:
		return "met"
	default:
		return "MISSED"
	}
}
