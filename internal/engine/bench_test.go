package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/content"
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

// BenchmarkToolDecoding measures completion tokens per second with the
// tools' grammar constraining every token (tool_choice naming a tool)
// against the same prompt unconstrained (tool_choice none), same model,
// same run, one thread, seeded sampling. The constrained reply ends when
// its call is complete; the unconstrained one runs to max_tokens.
func BenchmarkToolDecoding(b *testing.B) {
	m := tinyModel(b, gguf.TinyOptions{ContextLength: 4096})
	schema := `{"type": "object", "properties": {"query": {"type": "string", "maxLength": 64}, "filters": {"type": "array", "items": {"type": "object", "properties": {"field": {"enum": ["title", "body", "author"]}, "value": {"type": "string", "maxLength": 24}}, "required": ["field", "value"]}, "minItems": 2, "maxItems": 6}, "limit": {"type": "integer", "minimum": 1}}, "required": ["query", "filters", "limit"]}`
	tools := []Tool{{Name: content.FromString("search"), Description: content.FromString("Search."), Schema: content.FromString(schema)}}
	msgs := chat("Find the relay's documents.")
	for _, tc := range []struct {
		name   string
		choice ToolChoice
	}{
		{"unconstrained", ToolChoice{Mode: ToolNone}},
		{"grammar", ToolChoice{Mode: ToolNamed, Name: content.FromString("search"), Single: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := session(b, m, 4096)
			p := Params{MaxTokens: 256, Temperature: 0.8, Seed: 1, Tools: tools, ToolChoice: tc.choice}
			sink := &callRecorder{}
			tokens := 0
			var busy time.Duration
			for b.Loop() {
				sink.text, sink.calls = sink.text[:0], sink.calls[:0]
				start := time.Now()
				res, err := s.GenerateTo(context.Background(), msgs, p, sink)
				if err != nil {
					b.Fatal(err)
				}
				busy += time.Since(start)
				tokens += res.CompletionTokens
			}
			b.ReportMetric(float64(tokens)/busy.Seconds(), "tokens/s")
			b.ReportMetric(float64(tokens)/float64(b.N), "tokens/op")
		})
	}
}

// BenchmarkTemplateRender measures what the chat template costs a request:
// rendering a conversation with a tool, a call and its result through
// Qwen3's template with the Jinja engine and cutting it at the
// placeholders ("jinja"), and the whole prompt step of the tiny model
// (render, cut, tokenize: "prompt").
func BenchmarkTemplateRender(b *testing.B) {
	msgs, tools := toolConversation()
	b.Run("jinja", func(b *testing.B) {
		src, err := os.ReadFile(filepath.Join("testdata", "templates", "qwen3.jinja"))
		if err != nil {
			b.Fatal(err)
		}
		ct := newChatTemplate(string(src), "", "")
		for b.Loop() {
			r, err := ct.render(msgs, tools)
			if err != nil {
				b.Fatal(err)
			}
			r.wipe()
		}
	})
	b.Run("prompt", func(b *testing.B) {
		m := tinyModel(b, gguf.TinyOptions{ContextLength: 4096})
		for b.Loop() {
			if _, err := m.prompt(msgs, tools); err != nil {
				b.Fatal(err)
			}
		}
	})
}
