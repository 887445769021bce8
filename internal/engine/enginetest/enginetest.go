// Package enginetest helps tests that need the embedded engine: it finds
// the llama.cpp libraries that scripts/setup-llama installed and writes
// the generated random-weight test model.
package enginetest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/engine"
	"github.com/inference-relay/relay/internal/gguf"
)

// LibDir returns the installed libraries ($RELAY_LLAMA_LIBS, else the
// state dir's). Without them the test is skipped — or fails under CI,
// where scripts/test installs them, so a missing install cannot hide the
// engine's tests.
func LibDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("RELAY_LLAMA_LIBS")
	if dir == "" {
		dir = engine.LibDir(config.DefaultStateDir(), false)
	}
	if _, err := os.Stat(filepath.Join(dir, engine.Manifest)); err != nil {
		msg := fmt.Sprintf("llama.cpp libraries not installed in %s: run scripts/setup-llama (or set RELAY_LLAMA_LIBS)", dir)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// TinyModel writes the generated random-weight model for seed into a
// temporary directory and returns its path.
func TinyModel(t testing.TB, seed int64, o gguf.TinyOptions) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("tiny-%d.gguf", seed))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gguf.TinyLlama(f, seed, o); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
