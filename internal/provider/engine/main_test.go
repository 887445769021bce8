package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/engine/child"
	"github.com/inference-relay/relay/internal/engine/enginetest"
	"github.com/inference-relay/relay/internal/gguf"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/sandbox"
	"github.com/inference-relay/relay/internal/weights"
	"golang.org/x/sys/unix"
)

// The test binary is its own engine child: the provider runs
// os.Executable() with the same argv `relay engine` gets ("engine
// --lib-dir D"), and TestMain serves as the child then, with probe frames
// enabled. So the tests need no prior `go build ./cmd/relay`.
func TestMain(m *testing.M) {
	sandbox.Enter() // as the engine child: confine first (no-op otherwise)
	if len(os.Args) > 1 && os.Args[1] == "engine" {
		if err := child.RunArgs(os.Args[2:], child.Options{AllowProbe: true}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	// As the relay: non-dumpable, as relay serve makes itself (its forks'
	// /proc files then belong to root, which the sandbox must cope with).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "PR_SET_DUMPABLE:", err)
		os.Exit(2)
	}
	code := m.Run()
	if live.p != nil {
		live.p.Close()
	}
	os.Exit(code)
}

// libDir returns the installed libraries, or skips (fails under CI).
func libDir(t *testing.T) string { return enginetest.LibDir(t) }

// tinyModel writes a tiny random model and verifies it (trust on first
// use in a temp state dir).
func tinyModel(t *testing.T, name string, o gguf.TinyOptions) weights.Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".gguf")
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
	rs := weights.Verify([]weights.Model{{Name: name, Path: path, Source: weights.SourceConfig}}, weights.Options{StateDir: t.TempDir()})
	if rs[0].Status != weights.StatusOK {
		t.Fatalf("verify: %v", rs[0].Err)
	}
	return rs[0].Model
}

func newProvider(t *testing.T, ctxLen int, models ...weights.Model) *Provider {
	t.Helper()
	lib := libDir(t)
	sup := sandbox.NewSupervisor()
	t.Cleanup(func() { sup.Close(time.Second) })
	p, err := New(Config{LibDir: lib, Models: models, Threads: 1, ContextLength: ctxLen, Supervisor: sup})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func request(user string) *content.Request {
	return &content.Request{
		System:   []content.Text{content.FromString("You are a test.")},
		Messages: []content.Message{{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: content.FromString(user)}}}},
	}
}

func params(maxTokens int, temp float64, seed int64) logic.Params {
	return logic.Params{MaxTokens: maxTokens, Temperature: &temp, Seed: &seed}
}

// run streams one request and returns the concatenated deltas and status.
func run(t *testing.T, p *Provider, model string, lp logic.Params, r *content.Request) (string, logic.Status) {
	t.Helper()
	s, err := p.Stream(context.Background(), logic.Target{Provider: "engine", Model: model}, lp, r)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer s.Close()
	var out bytes.Buffer
	for {
		d, err := s.Recv()
		if err == io.EOF {
			return out.String(), s.Status()
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if d.Kind != content.DeltaText || d.Index != 0 {
			t.Fatalf("delta kind %d index %d", d.Kind, d.Index)
		}
		out.Write(d.Text.Bytes())
	}
}

func class(err error) logic.ErrorClass {
	if pe := provider.AsError(err); pe != nil {
		return pe.Class
	}
	return logic.ErrNone
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
