package engine

import (
	"context"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/gguf"
)

// BenchmarkGenerate measures completion tokens per second on the tiny
// model, one thread, greedy, the prompt cached after the first iteration
// (as in a conversation). Compare with the same model served through the
// relay to see the relay's own cost.
func BenchmarkGenerate(b *testing.B) {
	m := tinyModel(b, gguf.TinyOptions{})
	s := session(b, m, 512)
	msgs := chat("Write a long story about a relay.")
	p := Params{MaxTokens: 128}
	nop := func([]byte) error { return nil }
	tokens := 0
	var busy time.Duration
	for b.Loop() {
		start := time.Now()
		res, err := s.Generate(context.Background(), msgs, p, nop)
		if err != nil {
			b.Fatal(err)
		}
		busy += time.Since(start)
		tokens += res.CompletionTokens
	}
	b.ReportMetric(float64(tokens)/busy.Seconds(), "tokens/s")
}
