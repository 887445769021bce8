package gguf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func tiny(t *testing.T, seed int64, o TinyOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := TinyLlama(&buf, seed, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTinyLlamaIsDeterministic(t *testing.T) {
	a, b := tiny(t, 7, TinyOptions{}), tiny(t, 7, TinyOptions{})
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different files")
	}
	if bytes.Equal(a, tiny(t, 8, TinyOptions{})) {
		t.Fatal("different seeds gave the same file")
	}
	// Pin the bytes: a change to the generator changes every test model,
	// so it should be deliberate.
	const want = "4a03438c2204a7971d7d9d80c3da9ad1515de6a2b8d148056f7faef01881c05e"
	if got := sha256.Sum256(a); hex.EncodeToString(got[:]) != want {
		t.Errorf("seed 7 model hash %x, pinned %s: update the pin if the generator changed on purpose", got, want)
	}
}

func TestTinyLlamaMetadata(t *testing.T) {
	m, err := ReadMetadata(bytes.NewReader(tiny(t, 1, TinyOptions{ContextLength: 256})))
	if err != nil {
		t.Fatal(err)
	}
	if m.Architecture != "llama" || m.Name != TinyName || m.ContextLength != 256 || m.ChatTemplate != TinyChatTemplate {
		t.Fatalf("metadata %+v", m)
	}
	if !strings.Contains(m.Description, "Random weights") {
		t.Fatalf("description %q does not say the weights are random", m.Description)
	}
	// 9 tensors per layer, plus embeddings, output norm and output.
	if m.TensorCount != 2*9+3 {
		t.Fatalf("%d tensors", m.TensorCount)
	}
}

func TestTinyVocabulary(t *testing.T) {
	v := newVocabulary()
	if n := len(v.tokens); n < 300 || n > 1000 {
		t.Fatalf("vocabulary of %d tokens", n)
	}
	for _, tok := range []string{TokenEndOfText, TokenImStart, TokenImEnd, "Ġhello", "Ċ"} {
		if _, ok := v.ids[tok]; !ok {
			t.Errorf("token %q missing", tok)
		}
	}
	// Every merge joins two tokens into a third, all in the vocabulary.
	for _, m := range v.merges {
		l, r, ok := strings.Cut(m, " ")
		_, okL := v.ids[l]
		_, okR := v.ids[r]
		_, okM := v.ids[l+r]
		if !ok || !okL || !okR || !okM {
			t.Fatalf("merge %q does not join known tokens", m)
		}
	}
	// The 256 byte tokens are distinct.
	seen := map[string]bool{}
	for _, tok := range v.tokens[:256] {
		if seen[tok] {
			t.Fatalf("byte token %q twice", tok)
		}
		seen[tok] = true
	}
}

func TestTinyOptionsRefused(t *testing.T) {
	for _, o := range []TinyOptions{
		{Embedding: 60, Heads: 8}, // 60 does not split into 8 heads
		{Embedding: 12, Heads: 4}, // heads of odd width 3
		{Heads: 4, KVHeads: 3},    // 3 does not divide 4
		{Layers: -1},
		{EndWeight: -1},
	} {
		if err := TinyLlama(&bytes.Buffer{}, 1, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
