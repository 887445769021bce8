package llamalibs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/engine/enginetest"
	"github.com/inference-relay/relay/internal/engine/llamalibs"
)

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyLibsAcceptsTheInstall(t *testing.T) {
	dir := enginetest.CopyLibDir(t)
	if err := llamalibs.Verify(dir); err != nil {
		t.Fatalf("VerifyLibs of an intact copy: %v", err)
	}
}

func TestVerifyLibsRefusesACorruptLibrary(t *testing.T) {
	dir := enginetest.CopyLibDir(t)
	flipByte(t, filepath.Join(dir, "libggml-base.so"), 4096)
	err := llamalibs.Verify(dir)
	if !errors.Is(err, llamalibs.ErrRefused) || !strings.Contains(err.Error(), "libggml-base.so") {
		t.Fatalf("VerifyLibs after a flipped byte: %v", err)
	}
}

// An attacker who can write the directory can also rewrite SHA256SUMS; the
// pinned sums compiled into the binary still refuse the result.
func TestVerifyLibsRefusesARewrittenManifest(t *testing.T) {
	dir := enginetest.CopyLibDir(t)
	lib := filepath.Join(dir, "libllama.v0.5.0.so")
	flipByte(t, lib, 8192)
	b, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	manifest := filepath.Join(dir, llamalibs.Manifest)
	old, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(old)), "\n") {
		if strings.HasSuffix(l, " libllama.v0.5.0.so") {
			l = hex.EncodeToString(sum[:]) + "  libllama.v0.5.0.so"
		}
		lines = append(lines, l)
	}
	if err := os.WriteFile(manifest, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := llamalibs.Verify(dir); !errors.Is(err, llamalibs.ErrRefused) {
		t.Fatalf("VerifyLibs with a manifest rewritten to match: %v", err)
	}
}

func TestVerifyLibsRefusesAnUnlistedLibrary(t *testing.T) {
	dir := enginetest.CopyLibDir(t)
	if err := os.WriteFile(filepath.Join(dir, "libggml-cpu-evil.so"), []byte("\x7fELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := llamalibs.Verify(dir); !errors.Is(err, llamalibs.ErrRefused) || !strings.Contains(err.Error(), "libggml-cpu-evil.so") {
		t.Fatalf("VerifyLibs with an extra backend: %v", err)
	}
}
