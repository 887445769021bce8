package gguf

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// TinyName is the general.name of every model TinyLlama generates.
const TinyName = "relay-test-random"

// TinyOptions shapes the generated model. The zero value gives the default
// model: 64-wide embeddings, 2 layers, 4 heads, a 128-wide feed-forward
// layer and a 512-token context.
type TinyOptions struct {
	Embedding     int // n_embd; a multiple of Heads
	Layers        int
	Heads         int
	KVHeads       int // grouped-query heads; a divisor of Heads; 0 means Heads
	FeedForward   int
	ContextLength int
	// EndWeight scales the output row of <|im_end|> (end of turn) relative
	// to the other tokens'. 0 keeps the default, 0.05: the end token is
	// almost never the most likely one, so greedy generation runs to its
	// token limit and the tests of that limit are stable. Values above 1
	// make the model end its turn within a few tokens.
	EndWeight float64
	// ChatTemplate replaces TinyChatTemplate; "-" writes none.
	ChatTemplate string
}

func (o *TinyOptions) defaults() error {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&o.Embedding, 64)
	def(&o.Layers, 2)
	def(&o.Heads, 4)
	def(&o.KVHeads, o.Heads)
	def(&o.FeedForward, 128)
	def(&o.ContextLength, 512)
	if o.EndWeight == 0 {
		o.EndWeight = 0.05
	}
	switch {
	case o.Embedding < 0 || o.Layers < 0 || o.Heads < 0 || o.KVHeads < 0 || o.FeedForward < 0 || o.ContextLength < 0:
		return errors.New("gguf: negative model dimension")
	case o.Embedding%o.Heads != 0 || (o.Embedding/o.Heads)%2 != 0:
		return errors.New("gguf: embedding must split into heads of even width")
	case o.Heads%o.KVHeads != 0:
		return errors.New("gguf: KV heads must divide heads")
	case o.EndWeight < 0:
		return errors.New("gguf: negative end weight")
	}
	return nil
}

// TinyLlama writes a tiny llama-architecture model with random weights to
// w. The weights come from seed alone, so one seed always gives the same
// file. The model is for testing the mechanics of inference (loading,
// tokenizing, sampling, streaming, stopping); what it says is noise, and
// its metadata says so.
func TinyLlama(w io.Writer, seed int64, o TinyOptions) error {
	if err := o.defaults(); err != nil {
		return err
	}
	v := newVocabulary()
	nVocab := len(v.tokens)
	headDim := o.Embedding / o.Heads
	kvDim := headDim * o.KVHeads
	u32 := func(n int) uint32 { return uint32(n) }
	kvs := []KV{
		{"general.architecture", "llama"},
		{"general.name", TinyName},
		{"general.description", fmt.Sprintf("Random weights from seed %d: a test model for inference mechanics; its output is meaningless.", seed)},
		{"general.file_type", uint32(0)}, // all F32
		{"general.alignment", uint32(Alignment)},
		{"llama.context_length", u32(o.ContextLength)},
		{"llama.embedding_length", u32(o.Embedding)},
		{"llama.block_count", u32(o.Layers)},
		{"llama.feed_forward_length", u32(o.FeedForward)},
		{"llama.attention.head_count", u32(o.Heads)},
		{"llama.attention.head_count_kv", u32(o.KVHeads)},
		{"llama.rope.dimension_count", u32(headDim)},
		{"llama.rope.freq_base", float32(10000)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"llama.vocab_size", u32(nVocab)},
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "default"},
		{"tokenizer.ggml.tokens", v.tokens},
		{"tokenizer.ggml.token_type", v.types},
		{"tokenizer.ggml.merges", v.merges},
		{"tokenizer.ggml.bos_token_id", u32(v.ids[TokenEndOfText])},
		{"tokenizer.ggml.eos_token_id", u32(v.ids[TokenImEnd])},
		{"tokenizer.ggml.add_bos_token", false},
	}
	switch o.ChatTemplate {
	case "":
		kvs = append(kvs, KV{"tokenizer.chat_template", TinyChatTemplate})
	case "-":
	default:
		kvs = append(kvs, KV{"tokenizer.chat_template", o.ChatTemplate})
	}

	g := &weights{state: uint64(seed)}
	e := uint64(o.Embedding)
	tensors := []Tensor{
		// Embeddings of unit variance: RMS norm follows, so only direction matters.
		{"token_embd.weight", []uint64{e, uint64(nVocab)}, g.uniform(o.Embedding*nVocab, 1)},
		{"output_norm.weight", []uint64{e}, ones(o.Embedding)},
		{"output.weight", []uint64{e, uint64(nVocab)}, outputHead(g, v, o)},
	}
	for i := 0; i < o.Layers; i++ {
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s.weight", i, s) }
		tensors = append(tensors,
			Tensor{name("attn_norm"), []uint64{e}, ones(o.Embedding)},
			Tensor{name("attn_q"), []uint64{e, e}, g.matrix(o.Embedding, o.Embedding)},
			Tensor{name("attn_k"), []uint64{e, uint64(kvDim)}, g.matrix(o.Embedding, kvDim)},
			Tensor{name("attn_v"), []uint64{e, uint64(kvDim)}, g.matrix(o.Embedding, kvDim)},
			Tensor{name("attn_output"), []uint64{e, e}, g.matrix(o.Embedding, o.Embedding)},
			Tensor{name("ffn_norm"), []uint64{e}, ones(o.Embedding)},
			Tensor{name("ffn_gate"), []uint64{e, uint64(o.FeedForward)}, g.matrix(o.Embedding, o.FeedForward)},
			Tensor{name("ffn_up"), []uint64{e, uint64(o.FeedForward)}, g.matrix(o.Embedding, o.FeedForward)},
			Tensor{name("ffn_down"), []uint64{uint64(o.FeedForward), e}, g.matrix(o.FeedForward, o.Embedding)},
		)
	}
	return Write(w, kvs, tensors)
}

// outputHead is the unembedding matrix. Its rows have a standard deviation
// of 2/sqrt(n_embd), so logits have a standard deviation of about 2 and
// greedy choices are clear-cut. Control tokens get rows scaled down so the
// model rarely produces them; <|im_end|> gets EndWeight instead.
func outputHead(g *weights, v *vocabulary, o TinyOptions) []float32 {
	n := o.Embedding
	head := g.uniform(n*len(v.tokens), 2/math.Sqrt(float64(n)))
	for id, typ := range v.types {
		if typ != tokenControl {
			continue
		}
		scale := float32(0.05)
		if v.tokens[id] == TokenImEnd {
			scale = float32(o.EndWeight)
		}
		row := head[id*n : (id+1)*n]
		for j := range row {
			row[j] *= scale
		}
	}
	return head
}

func ones(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// weights is a splitmix64 generator: tiny, and fixed forever, so a seed
// names the same model in every Go release (math/rand promises no such
// thing for its derived distributions).
type weights struct{ state uint64 }

func (g *weights) next() uint64 {
	g.state += 0x9e3779b97f4a7c15
	z := g.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uniform returns n values uniform on [-a, a) with standard deviation std
// (a = std·√3).
func (g *weights) uniform(n int, std float64) []float32 {
	a := std * math.Sqrt(3)
	s := make([]float32, n)
	for i := range s {
		u := float64(g.next()>>11) / (1 << 53) // [0, 1)
		s[i] = float32((2*u - 1) * a)
	}
	return s
}

// matrix returns an in×out weight matrix scaled so that each output has
// about unit variance for unit-variance inputs.
func (g *weights) matrix(in, out int) []float32 {
	return g.uniform(in*out, 1/math.Sqrt(float64(in)))
}
