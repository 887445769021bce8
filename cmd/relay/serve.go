package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/inference-relay/relay"
	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/discovery"
	"github.com/inference-relay/relay/internal/logging"
)

// What relay serve says when it serves the demo model: the README's first
// section quotes both lines (TestREADMEQuotesServe).
const (
	demoNotice    = `No model or engine was found, so the relay serves "` + demoName + `": a tiny model with RANDOM WEIGHTS, for trying the APIs and clients — its answers are gibberish.`
	realModelHint = "For real answers: relay serve --model PATH.gguf, a [[model]] in the config, or an Ollama / LM Studio that is already running (found by itself)."
)

func cmdServe(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay serve", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, true)
	noInitKey := fs.Bool("no-init-key", false, "do not create a first API key when none exists")
	noDemo := fs.Bool("no-demo", false, "when no model or engine is found, serve nothing rather than the random-weight demo model")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	cfg, path, err := cf.load()
	if err != nil {
		return err
	}
	cfg.Logger = logging.New(stderr, slog.LevelInfo)
	cfg.HardenProcess = true

	keys, err := auth.Open(cfg.StateDir)
	if err != nil {
		return err
	}
	initKey := keys.Len() == 0 && !*noInitKey
	nkeys := keys.Len()
	if initKey {
		nkeys = 1
	}
	// Refuse a bad configuration before creating anything.
	if err := cfg.Validate(nkeys); err != nil {
		return err
	}
	if initKey {
		key, id, err := keys.Create("first")
		if err != nil {
			return fmt.Errorf("creating the first API key: %w", err)
		}
		fmt.Fprintf(stderr, "No API key existed, so one was created (id %s). It is shown this once; only its hash is kept:\n\n    %s\n\nUse it as the API key of any OpenAI or Anthropic client. More: relay keys create\n\n", id, key)
	}

	if exe, err := os.Executable(); err == nil {
		cfg.EngineBinary = exe // the embedded engine runs as `relay engine`
	}
	token, err := discovery.NewToken()
	if err != nil {
		return err
	}
	cfg.LocalToken = token
	if running, err := discovery.Find(cfg.StateDir); err == nil {
		return &exitError{code: 1, msg: fmt.Sprintf("a relay server already runs for %s (pid %d, %s); stop it first, or give this one its own --state-dir", cfg.StateDir, running.PID, running.URL)}
	}
	r, err := relay.New(cfg)
	if err != nil {
		return err
	}
	if len(r.Backends()) == 0 && !*noDemo && !cfg.Engine.Disabled {
		// Nothing to serve: rather than answer 503 to every request,
		// serve the random-weight demo model, and say so.
		path, werr := ensureDemoModel(cfg.StateDir)
		if werr == nil {
			r.Close()
			cfg.Models = append(cfg.Models, config.Model{Name: demoName, Path: path})
			if r, err = relay.New(cfg); err != nil {
				return err
			}
			fmt.Fprintln(stderr, demoNotice)
			fmt.Fprintln(stderr, realModelHint)
		} else {
			fmt.Fprintf(stderr, "the demo model could not be written (%v)\n", werr)
		}
	}
	defer r.Close()
	if path == "" {
		path = "none (embedded defaults)"
	}
	fmt.Fprintf(stderr, "config: %s\nstate:  %s\n", path, cfg.StateDir)
	backends := r.Backends()
	if len(backends) == 0 {
		fmt.Fprintln(stderr, "backends: none found — inference calls will answer 503 until one is added.\n  For local inference by the relay itself: add a GGUF model to the config ([[model]] name = \"…\", path = \"…\"),\n  or try the mechanics with 'relay demo' (a tiny random-weight model). 'relay doctor' shows what was probed.")
	}
	for _, b := range backends {
		how := "configured"
		if b.Detected {
			how = "detected"
		}
		fmt.Fprintf(stderr, "backend: %s (%s, %s, %s) %d model(s)\n", b.Name, b.Kind, how, b.BaseURL, len(b.Models))
		if b.Problem != "" {
			fmt.Fprintf(stderr, "  problem: %s\n", b.Problem)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	defer discovery.Remove(cfg.StateDir, token)
	return r.Serve(ctx, func(addrs []net.Addr) {
		scheme := "http"
		if cfg.TLS.Enabled() {
			scheme = "https"
		}
		for _, a := range addrs {
			fmt.Fprintf(stderr, "serving: %s://%s  (OpenAI: /v1/chat/completions, Anthropic: /v1/messages)\n", scheme, a)
		}
		// Tell this state directory's command-line tools where we are
		// (relay chat, models, ps): the first loopback address.
		for _, a := range addrs {
			if ta, ok := a.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
				info, err := discovery.Self(scheme+"://"+ta.String(), token, version)
				if err == nil {
					err = discovery.Write(cfg.StateDir, info)
				}
				if err != nil {
					fmt.Fprintf(stderr, "warning: relay chat/models/ps will not find this server: %v\n", err)
				}
				break
			}
		}
	})
}
