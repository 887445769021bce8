package enginebench

import (
	"context"
	"testing"
	"time"
)

// Completion length of a throughput request, and of a TTFT request (which
// only needs its first token but reads the stream to the end, so the next
// request finds the child idle).
const (
	throughputTokens = 128
	ttftTokens       = 4
)

// pair is the relay and direct paths over one generated model.
type pair struct {
	relay  *relayPath
	direct *directPath
}

// newPair returns the paths for s, warmed up outside the timer (the child
// opens the model on first use, and both paths page the weights in), and
// checked to do the same work.
func newPair(b *testing.B, s modelShape) pair {
	b.Helper()
	p := pairOf(b, s)
	ctx := context.Background()
	r, _, err := p.relay.stream(ctx, throughputTokens)
	if err != nil {
		b.Fatal(err)
	}
	d, err := p.direct.generate(ctx, throughputTokens)
	if err != nil {
		b.Fatal(err)
	}
	sameWork(b, r, d.res, throughputTokens)
	return p
}

// BenchmarkThroughput: completion tokens per second of a streamed request
// through the relay's HTTP API against the same generation driven directly,
// each from an empty KV cache with the prompt processed inside the timing
// (what a stateless request costs). The paths alternate each iteration.
//
// Metrics: relay_tok_s, direct_tok_s, ratio (relay/direct; the target is
// ≥ 0.95) and overhead_us/tok, the relay's extra wall time per completion
// token.
func BenchmarkThroughput(b *testing.B) {
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			p := newPair(b, s)
			ctx := context.Background()
			var relayTime, directTime time.Duration
			var relayTok, directTok int
			i := 0
			for b.Loop() {
				// Alternate which path goes first, so drift in the
				// machine's load or clock favours neither.
				for _, relayFirst := range [2]bool{i%2 == 0, i%2 != 0} {
					if relayFirst {
						r, took, err := p.relay.stream(ctx, throughputTokens)
						if err != nil {
							b.Fatal(err)
						}
						relayTime += took
						relayTok += r.CompletionTokens
					} else {
						d, err := p.direct.generate(ctx, throughputTokens)
						if err != nil {
							b.Fatal(err)
						}
						directTime += d.total
						directTok += d.res.CompletionTokens
					}
				}
				i++
			}
			rt := float64(relayTok) / relayTime.Seconds()
			dt := float64(directTok) / directTime.Seconds()
			b.ReportMetric(rt, "relay_tok_s")
			b.ReportMetric(dt, "direct_tok_s")
			b.ReportMetric(rt/dt, "ratio")
			b.ReportMetric((relayTime.Seconds()/float64(relayTok)-directTime.Seconds()/float64(directTok))*1e6, "overhead_us/tok")
		})
	}
}

// BenchmarkTTFT: time to the first token, through the relay (request sent
// to the first chunk with text) and directly (Generate called to the first
// non-empty piece), each from an empty KV cache so the prompt is processed
// inside the timing. Reports the medians over b.N requests per path.
func BenchmarkTTFT(b *testing.B) {
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			p := newPair(b, s)
			ctx := context.Background()
			var relayFirst, directFirst []time.Duration
			i := 0
			for b.Loop() {
				for _, relayNow := range [2]bool{i%2 == 0, i%2 != 0} {
					if relayNow {
						r, _, err := p.relay.stream(ctx, ttftTokens)
						if err != nil {
							b.Fatal(err)
						}
						if r.ContentChunks == 0 {
							b.Fatal("the relay streamed no text")
						}
						relayFirst = append(relayFirst, r.FirstContent)
					} else {
						d, err := p.direct.generate(ctx, ttftTokens)
						if err != nil {
							b.Fatal(err)
						}
						if d.first == 0 {
							b.Fatal("Generate emitted no text")
						}
						directFirst = append(directFirst, d.first)
					}
				}
				i++
			}
			rm, dm := Median(relayFirst), Median(directFirst)
			b.ReportMetric(float64(rm.Microseconds())/1e3, "relay_ttft_p50_ms")
			b.ReportMetric(float64(dm.Microseconds())/1e3, "direct_ttft_p50_ms")
			b.ReportMetric(float64((rm - dm).Microseconds()), "overhead_p50_us")
		})
	}
}
