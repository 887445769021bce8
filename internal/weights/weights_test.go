package weights

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/gguf"
)

func tinyFile(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := gguf.TinyLlama(&buf, 1, gguf.TinyOptions{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tiny.gguf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func closeAll(rs []Result) {
	for _, r := range rs {
		if r.Model.File != nil {
			r.Model.File.Close()
		}
	}
}

func TestConfiguredHashVerifies(t *testing.T) {
	dir := t.TempDir()
	path, data := tinyFile(t, dir)
	models, err := Discover(Config{Models: []ModelConfig{{Name: "tiny", Path: path, SHA256: hexSum(data)}}})
	if err != nil || len(models) != 1 {
		t.Fatalf("Discover: %v, %d models", err, len(models))
	}
	rs := Verify(models, Options{})
	defer closeAll(rs)
	r := rs[0]
	if r.Status != StatusOK || r.Trust != TrustConfig || r.Bytes != int64(len(data)) || r.Model.File == nil || r.SHA256 != hexSum(data) {
		t.Fatalf("result %+v", r)
	}
	if got := Verified(rs); len(got) != 1 || got[0].Name != "tiny" {
		t.Fatalf("Verified = %v", got)
	}
}

func TestFlippedByteRefused(t *testing.T) {
	dir := t.TempDir()
	path, data := tinyFile(t, dir)
	want := hexSum(data)
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rs := Verify([]Model{{Name: "tiny", Path: path, SHA256: want, Source: SourceConfig}}, Options{})
	defer closeAll(rs)
	if rs[0].Status != StatusMismatch || !errors.Is(rs[0].Err, ErrMismatch) || rs[0].Model.File != nil {
		t.Fatalf("result %+v", rs[0])
	}
	if len(Verified(rs)) != 0 {
		t.Fatal("a mismatched model was returned as verified")
	}
}

func TestTrustOnFirstUse(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	path, data := tinyFile(t, dir)
	m := []Model{{Name: "tiny", Path: path, Source: SourceConfig}}

	rs := Verify(m, Options{StateDir: state})
	closeAll(rs)
	if rs[0].Status != StatusOK || rs[0].Trust != TrustFirstUse || rs[0].Err != nil {
		t.Fatalf("first start: %+v", rs[0])
	}
	if _, err := os.Stat(filepath.Join(state, PinFile)); err != nil {
		t.Fatalf("no pinned record: %v", err)
	}
	rs = Verify(m, Options{StateDir: state})
	closeAll(rs)
	if rs[0].Status != StatusOK || rs[0].Trust != TrustPinned {
		t.Fatalf("second start: %+v", rs[0])
	}
	data[100] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rs = Verify(m, Options{StateDir: state})
	closeAll(rs)
	if rs[0].Status != StatusMismatch || rs[0].Trust != TrustPinned {
		t.Fatalf("changed file: %+v", rs[0])
	}
	// Without a state dir there is nothing to trust.
	rs = Verify(m, Options{})
	closeAll(rs)
	if rs[0].Status != StatusError {
		t.Fatalf("no state dir: %+v", rs[0])
	}
}

// fakeOllama lays out a store with one model whose blob holds data, named
// by the hash of named.
func fakeOllama(t *testing.T, data, named []byte) string {
	t.Helper()
	store := t.TempDir()
	sum := hexSum(named)
	blobs := filepath.Join(store, "blobs")
	man := filepath.Join(store, "manifests", "registry.example", "library", "tiny")
	for _, d := range []string{blobs, man} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(blobs, "sha256-"+sum), data, 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"layers":[
		{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:%s","size":1},
		{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:%s","size":%d}]}`,
		hexSum([]byte("x")), sum, len(data))
	if err := os.WriteFile(filepath.Join(man, "latest"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	// Junk next to it is skipped with an error, not a crash.
	if err := os.WriteFile(filepath.Join(man, "broken"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	return store
}

func TestOllamaStore(t *testing.T) {
	_, data := tinyFile(t, t.TempDir())
	store := fakeOllama(t, data, data)
	models, err := Discover(Config{Ollama: true, OllamaDir: store})
	if err == nil {
		t.Error("the broken manifest was not reported")
	}
	if len(models) != 1 || models[0].Name != "tiny:latest" || models[0].SHA256 != hexSum(data) || models[0].Source != SourceOllama {
		t.Fatalf("models %+v", models)
	}
	rs := Verify(models, Options{})
	defer closeAll(rs)
	if rs[0].Status != StatusOK || rs[0].Trust != TrustOllama {
		t.Fatalf("result %+v", rs[0])
	}

	// A model outside the "library" namespace keeps its namespace in its
	// name, whatever the registry directory is called.
	other := filepath.Join(store, "manifests", "another.registry", "someone", "mini")
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}
	latest, err := os.ReadFile(filepath.Join(store, "manifests", "registry.example", "library", "tiny", "latest"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "q4"), latest, 0o600); err != nil {
		t.Fatal(err)
	}
	models, _ = Discover(Config{Ollama: true, OllamaDir: store})
	names := map[string]bool{}
	for _, m := range models {
		names[m.Name] = true
	}
	if len(models) != 2 || !names["tiny:latest"] || !names["someone/mini:q4"] {
		t.Fatalf("models %+v", models)
	}
}

func TestOllamaBlobNotMatchingItsName(t *testing.T) {
	_, data := tinyFile(t, t.TempDir())
	store := fakeOllama(t, data, append([]byte("other"), data...))
	models, _ := Discover(Config{Ollama: true, OllamaDir: store})
	if len(models) != 1 {
		t.Fatalf("models %+v", models)
	}
	rs := Verify(models, Options{})
	defer closeAll(rs)
	if rs[0].Status != StatusMismatch {
		t.Fatalf("result %+v", rs[0])
	}
}

func TestMissingStoreAndFile(t *testing.T) {
	models, err := Discover(Config{Ollama: true, OllamaDir: filepath.Join(t.TempDir(), "none")})
	if err != nil || len(models) != 0 {
		t.Fatalf("missing store: %v %v", models, err)
	}
	if _, err := Discover(Config{Models: []ModelConfig{{Name: "a", Path: "/x", SHA256: "zz"}}}); err == nil {
		t.Fatal("a malformed sha256 was accepted")
	}
	rs := Verify([]Model{{Name: "gone", Path: filepath.Join(t.TempDir(), "gone.gguf"), SHA256: hexSum(nil)}}, Options{})
	if rs[0].Status != StatusError {
		t.Fatalf("missing file: %+v", rs[0])
	}
}

func TestNoProgressOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	if p := newProgress(&buf, nil); p != nil {
		t.Fatal("a progress bar for a non-terminal")
	}
	// A nil bar is safe to use.
	var p *progress
	p.add(1)
	p.finish()
}

// BenchmarkHash compares hashFile's throughput with sha256sum's on the
// same 256 MiB file; ratio = sha256sum time / ours (target >= 0.95).
func BenchmarkHash(b *testing.B) {
	tool, err := exec.LookPath("sha256sum")
	if err != nil {
		b.Skip("sha256sum not installed")
	}
	path := filepath.Join(b.TempDir(), "big")
	data := make([]byte, 256<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	data = nil
	var ours, theirs time.Duration
	b.SetBytes(256 << 20)
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, _, err := hashFile(f, nil); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		f.Close()
		start = time.Now()
		if err := exec.Command(tool, path).Run(); err != nil {
			b.Fatal(err)
		}
		theirs += time.Since(start)
	}
	b.ReportMetric(float64(theirs)/float64(ours), "ratio")
}
