package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/engine/enginetest"
)

// The dynamic loader mapped the sealed memory copies, not the files on disk.
func TestLoadedLibrariesAreTheVerifiedCopies(t *testing.T) {
	needEngine(t)
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps")
	}
	seen := 0
	for _, l := range strings.Split(string(maps), "\n") {
		if !strings.Contains(l, "libllama") && !strings.Contains(l, "libggml") {
			continue
		}
		seen++
		if !strings.Contains(l, "/memfd:relay-") {
			t.Errorf("mapped from disk, not from a verified copy: %s", l)
		}
	}
	if seen == 0 {
		t.Fatal("no llama.cpp library is mapped")
	}
}

// With LD_LIBRARY_PATH naming a directory that holds an unverified
// libggml-base.so, the loader must still never map it: the child process
// (this test binary again) checks its own mappings.
func TestLoadIgnoresLibrarySearchPath(t *testing.T) {
	if os.Getenv("ENGINE_TEST_CHILD") != "" {
		t.Skip("in the child")
	}
	needEngine(t)
	dir := enginetest.CopyLibDir(t)
	evil := t.TempDir()
	if err := os.Rename(filepath.Join(dir, "libggml-base.so"), filepath.Join(evil, "libggml-base.so")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadedLibrariesAreTheVerifiedCopies$", "-test.v")
	cmd.Env = append(os.Environ(), "ENGINE_TEST_CHILD=1", "LD_LIBRARY_PATH="+evil, "RELAY_LLAMA_LIBS="+enginetest.LibDir(t))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestLoadedLibrariesAreTheVerifiedCopies") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
