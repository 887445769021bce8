package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/inference-relay/relay/internal/gguf"
)

func TestOpenModelRefusesBadFiles(t *testing.T) {
	needEngine(t)
	var model bytes.Buffer
	if err := gguf.TinyLlama(&model, 1, gguf.TinyOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"text.gguf":      []byte("this is not a model"),
		"truncated.gguf": model.Bytes()[:model.Len()/2],
		"header.gguf":    model.Bytes()[:1000],
	}
	for name, b := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if m, err := OpenModel(path, ModelOptions{Threads: 1}); err == nil {
			m.Close()
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := OpenModel(filepath.Join(dir, "missing.gguf"), ModelOptions{Threads: 1}); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestModelCloseClosesSessions(t *testing.T) {
	needEngine(t)
	path := filepath.Join(t.TempDir(), "m.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gguf.TinyLlama(f, 2, gguf.TinyOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	m, err := OpenModel(path, ModelOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m.TrainContextLength() != 512 {
		t.Fatalf("training context %d", m.TrainContextLength())
	}
	s, err := m.NewSession(0)
	if err != nil {
		t.Fatal(err)
	}
	if s.ContextLength() != 512 {
		t.Fatalf("default session context %d", s.ContextLength())
	}
	m.Close()
	if _, err := s.Generate(context.Background(), chat("x"), Params{}, func([]byte) error { return nil }); err != ErrClosed {
		t.Fatalf("session of a closed model: %v", err)
	}
	if _, err := m.NewSession(64); err != ErrClosed {
		t.Fatalf("NewSession on a closed model: %v", err)
	}
	if _, err := m.CountTokens(chat("x")); err != ErrClosed {
		t.Fatalf("CountTokens on a closed model: %v", err)
	}
	s.Close() // after the model: harmless
}

// Sessions of one model run in parallel and do not disturb each other.
func TestConcurrentSessions(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	prompts := []string{"one", "two", "three"}
	want := make([][]byte, len(prompts))
	for i, p := range prompts {
		want[i], _ = generate(t, session(t, m, 128), chat(p), Params{MaxTokens: 12})
	}
	got := make([][]byte, len(prompts))
	errs := make([]error, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		s := session(t, m, 128)
		wg.Go(func() {
			_, errs[i] = s.Generate(context.Background(), chat(p), Params{MaxTokens: 12}, func(b []byte) error {
				got[i] = append(got[i], b...)
				return nil
			})
		})
	}
	wg.Wait()
	for i := range prompts {
		if errs[i] != nil || !bytes.Equal(got[i], want[i]) {
			t.Errorf("prompt %d in parallel: %q (%v), alone: %q", i, got[i], errs[i], want[i])
		}
	}
}
