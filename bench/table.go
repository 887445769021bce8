package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the summary for people: latencies per mode and target,
// the added latency and its ratio, and the maximum rates.
func (s *Summary) WriteTable(w io.Writer) {
	defer s.writeWarnings(w)
	m := s.Machine
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d) %s, %s %s; load average %s at start, %s at end\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, m.Go, m.OSArch, m.LoadStart, m.LoadEnd)
	fmt.Fprintf(w, "upstream: stand-in, %.0f ms before headers, %.0f ms between chunks; every process shares these CPUs\n\n",
		s.Upstream.LatencyMS, s.Upstream.TokenDelayMS)

	fmt.Fprintf(w, "latency at %.0f req/s to each target, interleaved, %d round(s) of %.1fs (ms, from scheduled send; rounds discarded for a stalled machine: %d non-streaming, %d streaming)\n",
		s.Latency.RateRPS, s.Latency.Rounds, s.Latency.DurationS, s.Latency.DiscardedRounds[ModeNonStreaming], s.Latency.DiscardedRounds[ModeStreamingTTFT])
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

	if c := s.Cost; c != nil {
		fmt.Fprintf(w, "\ncpu per request, non-streaming, each target alone at %.0f req/s, median of %d rounds of %.1fs (µs of this process's CPU; direct = load generator + stand-in)\n",
			c.RateRPS, c.Rounds, c.DurationS)
		for _, name := range []string{Direct, Proxy, Relay} {
			v, ok := c.PerRequestUS[name]
			if !ok {
				continue
			}
			added := "               "
			if a, ok := c.AddedUS[name]; ok {
				added = fmt.Sprintf("  added %+8.1f", a)
			}
			fmt.Fprintf(w, "  %-6s %8.1f%s   heap allocated %7d bytes/request\n", name, v, added, c.AllocBytes[name])
		}
		fmt.Fprintf(w, "relay added cpu / proxy added cpu: %s\n", ratioText(c.RelayOverProxy))
	}
	if len(s.MaxRate.Targets) == 0 {
		return
	}
	c := s.MaxRate.Criteria
	fmt.Fprintf(w, "\nmax sustained rate, non-streaming (steps of %.1fs; sustained = achieved ≥ %.0f%% of offered, errors < %.0f%%, p99 < %.0f ms)\n",
		s.MaxRate.StepS, c.MinAchievedRatio*100, c.MaxErrorRate*100, c.MaxP99MS)
	for _, name := range []string{Direct, Proxy, Relay} {
		t, ok := s.MaxRate.Targets[name]
		if !ok {
			continue
		}
		max := fmt.Sprintf("%.0f", t.MaxRPS)
		if t.AtCap {
			max = "≥" + max + " (the cap)"
		}
		fmt.Fprintf(w, "  %-6s %s req/s\n", name, max)
		for _, st := range t.Steps {
			mark := "no"
			if st.Sustained {
				mark = "yes"
			}
			fmt.Fprintf(w, "         offered %6.0f  achieved %8.1f  errors %5.2f%%  p50 %8.2f ms  p99 %8.2f ms  send lag p99 %7.2f ms  sustained %-3s %s\n",
				st.RateRPS, st.AchievedRPS, st.ErrorRate*100, st.P50MS, st.P99MS, st.SendLagP99, mark, kinds(st.ErrorKinds))
		}
	}
	fmt.Fprintf(w, "relay max / proxy max: %s (target ≥ %.2f: %s)\n",
		ratioText(s.MaxRate.RelayOverProxy), s.Verdict.MaxRatioTarget, metText(s.Verdict.MaxRatioMet))
}

// writeWarnings lists the summary's warnings, if any.
func (s *Summary) writeWarnings(w io.Writer) {
	for _, warning := range s.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", warning)
	}
}

// kinds renders error counts by kind, in a stable order.
func kinds(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, " ")
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
