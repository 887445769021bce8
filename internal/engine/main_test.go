package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/engine/enginetest"
	"github.com/inference-relay/relay/internal/gguf"
)

var engine struct {
	once    sync.Once
	err     error // the libraries are there but failed to load: a failure
	tmp     string
	models  map[string]*Model
	modelMu sync.Mutex
}

func TestMain(m *testing.M) {
	code := m.Run()
	if engine.tmp != "" {
		os.RemoveAll(engine.tmp)
	}
	os.Exit(code)
}

// needEngine loads the libraries once, or skips (not installed; a failure
// under CI, see enginetest.LibDir) or fails (installed but refused).
func needEngine(t testing.TB) {
	t.Helper()
	dir := enginetest.LibDir(t)
	engine.once.Do(func() {
		engine.err = Load(dir)
		engine.models = map[string]*Model{}
	})
	if engine.err != nil {
		t.Fatalf("Load: %v", engine.err)
	}
}

// tinyModel returns the tiny random model for o (seed 1), generated once
// per test binary and shared; tests use their own sessions.
func tinyModel(t testing.TB, o gguf.TinyOptions) *Model {
	t.Helper()
	needEngine(t)
	engine.modelMu.Lock()
	defer engine.modelMu.Unlock()
	key := fmt.Sprintf("%+v", o)
	if m := engine.models[key]; m != nil {
		return m
	}
	if engine.tmp == "" {
		tmp, err := os.MkdirTemp("", "engine-test-")
		if err != nil {
			t.Fatal(err)
		}
		engine.tmp = tmp
	}
	path := filepath.Join(engine.tmp, fmt.Sprintf("tiny-%d.gguf", len(engine.models)))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gguf.TinyLlama(f, 1, o); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := OpenModel(path, ModelOptions{Threads: 1})
	if err != nil {
		t.Fatalf("OpenModel: %v", err)
	}
	engine.models[key] = m
	return m
}

func session(t testing.TB, m *Model, ctxLen int) *Session {
	t.Helper()
	s, err := m.NewSession(ctxLen)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func chat(turns ...string) []ChatMessage {
	roles := []string{"user", "assistant"}
	msgs := []ChatMessage{{Role: "system", Content: content.FromString("You are a test.")}}
	for i, t := range turns {
		msgs = append(msgs, ChatMessage{Role: roles[i%2], Content: content.FromString(t)})
	}
	return msgs
}
