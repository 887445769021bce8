// Package enginetest helps tests that need the embedded engine: it finds
// the llama.cpp libraries that scripts/setup-llama installed and writes
// the generated random-weight test model.
package enginetest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/engine/llamalibs"
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
		dir = llamalibs.Dir(config.DefaultStateDir(), false)
	}
	if _, err := os.Stat(filepath.Join(dir, llamalibs.Manifest)); err != nil {
		msg := fmt.Sprintf("llama.cpp libraries not installed in %s: run %s (or set RELAY_LLAMA_LIBS)", dir, llamalibs.SetupScript)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// CopyLibDir copies the installed libraries (symlinks as symlinks) into a
// temporary directory a test may damage; it skips or fails as [LibDir].
func CopyLibDir(t testing.TB) string {
	t.Helper()
	src, dst := LibDir(t), t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, to); err != nil {
				t.Fatal(err)
			}
			continue
		}
		in, err := os.Open(from)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(to)
		if err != nil {
			in.Close()
			t.Fatal(err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
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
