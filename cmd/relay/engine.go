package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/engine/child"
	"github.com/inference-relay/relay/internal/engine/llamalibs"
	"github.com/inference-relay/relay/internal/gguf"
)

// cmdEngine is the embedded engine's child process. The relay starts it
// itself (internal/provider/engine); it is not meant to be run by hand.
func cmdEngine(args []string, _ io.Reader, _, _ io.Writer) error {
	err := child.RunArgs(args, child.Options{})
	if errors.Is(err, child.ErrUsage) {
		return usageErr("%v", err)
	}
	return err
}

// demoModel is the generated model's file name in <state dir>/models.
const demoModel = "relay-demo-random.gguf"

// cmdDemo writes the tiny random-weight model and says how to serve it.
func cmdDemo(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", config.DefaultStateDir(), "state directory")
	if err := fs.Parse(args); err != nil {
		return usageErr("demo: %v", err)
	}
	path := filepath.Join(*stateDir, "models", demoModel)
	_, statErr := os.Stat(path)
	if _, err := ensureDemoModel(*stateDir); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		fmt.Fprintln(stdout, "wrote", path)
	} else {
		fmt.Fprintln(stdout, "using", path)
	}
	fmt.Fprintf(stdout, `
This model has RANDOM WEIGHTS: it produces gibberish. It exists to show the
mechanics (verified weights, a sandboxed engine child with no network,
streaming, stop sequences, sessions), not to answer anything.

The engine needs the llama.cpp libraries: scripts/setup-llama installs them in
%s

Add to your config:

  [engine]
  threads = 1

  [[model]]
  name = "demo-random-weights"
  path = %q

(relay serve does this by itself when it finds no other model or engine.)

then run 'relay serve' and, with a key from 'relay keys create':

  curl http://127.0.0.1:%d/v1/chat/completions \
    -H "Authorization: Bearer $RELAY_KEY" -H 'Content-Type: application/json' \
    -d '{"model":"demo-random-weights","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}'
`, llamalibs.Dir(*stateDir, false), path, config.DefaultPort)
	return nil
}

// demoName is what the demo model is served as: the name says what it is
// wherever it is listed.
const demoName = "demo-random-weights"

// ensureDemoModel writes the demo model into <state dir>/models unless it
// is there, and returns its path.
func ensureDemoModel(stateDir string) (string, error) {
	dir := filepath.Join(stateDir, "models")
	path := filepath.Join(dir, demoModel)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	return path, writeDemoModel(dir, path)
}

func writeDemoModel(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".demo-*.gguf")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := gguf.TinyLlama(tmp, 1, gguf.TinyOptions{EndWeight: 2}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
