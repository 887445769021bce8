package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/detect"
	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/engine/llamalibs"
	pengine "github.com/inference-relay/relay/internal/provider/engine"
	"github.com/inference-relay/relay/internal/sandbox"
	"github.com/inference-relay/relay/internal/weights"
)

func cmdDoctor(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay doctor", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, true)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	cfg, path, err := cf.load()
	if path == "" {
		path = "none (embedded defaults)"
	}
	fmt.Fprintf(stdout, "config:  %s\n", path)
	if err != nil {
		fmt.Fprintf(stdout, "  problem: %v\n", err)
		return &exitError{code: 1, msg: "the configuration has problems (above)"}
	}
	fmt.Fprintf(stdout, "state:   %s\n", cfg.StateDir)
	problems := 0
	keys, err := auth.Open(cfg.StateDir)
	nkeys := 0
	if err != nil {
		fmt.Fprintf(stdout, "keys:    problem: %v\n", err)
		problems++
	} else {
		nkeys = keys.Len()
		fmt.Fprintf(stdout, "keys:    %d API key(s)", nkeys)
		if nkeys == 0 {
			fmt.Fprint(stdout, " — 'relay serve' creates the first one, or run 'relay keys create'")
		}
		fmt.Fprintln(stdout)
	}
	if err := cfg.Validate(nkeys); err != nil {
		fmt.Fprintf(stdout, "listen:  problem: %v\n", err)
		problems++
	} else {
		fmt.Fprintf(stdout, "listen:  %v\n", cfg.Listen)
	}

	client := egress.New(egress.LoopbackOnly).HTTPClient()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Fprintln(stdout, "local engines (probed on their usual ports):")
	if cfg.Autodetect != nil && !*cfg.Autodetect {
		fmt.Fprintln(stdout, "  auto-detection is off")
	}
	found := map[string]detect.Found{}
	for _, f := range detect.Probe(ctx, client, detect.Usual, time.Second) {
		found[f.Name] = f
	}
	for _, c := range detect.Usual {
		if f, ok := found[c.Name]; ok {
			fmt.Fprintf(stdout, "  %-9s %s  found, %d model(s)\n", c.Name, c.BaseURL, len(f.Models))
		} else {
			fmt.Fprintf(stdout, "  %-9s %s  not running\n", c.Name, c.BaseURL)
		}
	}
	fmt.Fprintln(stdout, "configured backends:")
	if len(cfg.Backends) == 0 {
		fmt.Fprintln(stdout, "  none")
	}
	for _, b := range cfg.Backends {
		status := "ok"
		if b.APIKeyEnv != "" && os.Getenv(b.APIKeyEnv) == "" && b.Kind != config.KindOpenAICompatible {
			status = "problem: " + b.APIKeyEnv + " is not set"
			problems++
		}
		fmt.Fprintf(stdout, "  %-9s %s %s  %s\n", b.Name, b.Kind, b.BaseURL, status)
	}
	fmt.Fprintln(stdout, "embedded engine:")
	libDir := cfg.Engine.LibDir
	if libDir == "" {
		libDir = llamalibs.Dir(cfg.StateDir, false)
	}
	libsOK := llamalibs.Verify(libDir) == nil
	if libsOK {
		fmt.Fprintf(stdout, "  llama.cpp %s libraries: verified in %s\n", llamalibs.Release, libDir)
	} else {
		fmt.Fprintf(stdout, "  llama.cpp libraries: not installed or not verified in %s — run scripts/setup-llama\n", libDir)
	}
	wc := weights.Config{Ollama: cfg.Engine.Ollama == nil || *cfg.Engine.Ollama, OllamaDir: cfg.Engine.OllamaDir}
	for _, m := range cfg.Models {
		wc.Models = append(wc.Models, weights.ModelConfig{Name: m.Name, Path: m.Path, SHA256: m.SHA256})
	}
	models, derr := weights.Discover(wc)
	for _, m := range models {
		fmt.Fprintf(stdout, "  model %-20s %s (hashed at every start)\n", m.Name, m.Path)
	}
	if derr != nil {
		fmt.Fprintf(stdout, "  problem: %v\n", derr)
		problems++
	}
	if len(models) == 0 {
		fmt.Fprintln(stdout, "  no model: add [[model]] name/path to the config, or try 'relay demo'")
	} else {
		if !libsOK {
			problems++ // models to serve, and nothing to serve them with
		}
		if !doctorConfinement(stdout, libDir) {
			problems++
		}
	}
	usable := len(found) + len(cfg.Backends)
	if cfg.Autodetect != nil && !*cfg.Autodetect {
		usable = len(cfg.Backends)
	}
	if libsOK {
		usable += len(models)
	}
	if usable == 0 {
		fmt.Fprintln(stdout, "\nNo backend: inference calls will answer 503. To add one, either")
		fmt.Fprintln(stdout, "  - name a GGUF model for the embedded engine ([[model]] name = \"…\", path = \"…\"; scripts/setup-llama once), or")
		fmt.Fprintln(stdout, "  - start a local engine (e.g. 'ollama serve', 'llama-server -m model.gguf') and restart the relay, or")
		fmt.Fprintln(stdout, "  - add to the config file:")
		fmt.Fprintln(stdout, "      [[backend]]\n      name = \"anthropic\"\n      kind = \"anthropic\"   # key read from ANTHROPIC_API_KEY")
	}
	for env, kind := range map[string]string{"ANTHROPIC_API_KEY": config.KindAnthropic, "OPENAI_API_KEY": config.KindOpenAI} {
		if os.Getenv(env) != "" && !hasKind(cfg, kind) {
			fmt.Fprintf(stdout, "note: %s is set but no backend of kind %q is configured; the relay never sends anything to a remote API unless the config names it\n", env, kind)
		}
	}
	if problems > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d problem(s) found", problems)}
	}
	return nil
}

func hasKind(c config.Config, kind string) bool {
	for _, b := range c.Backends {
		if b.Kind == kind {
			return true
		}
	}
	return false
}

// doctorConfinement starts the engine child as relay serve would, confined
// but loading nothing, and prints its confinement as measured: what the
// kernel shows of it and its own self-test. It reports whether the engine
// can run confined here.
func doctorConfinement(stdout io.Writer, libDir string) bool {
	sup := sandbox.NewSupervisor()
	defer sup.Close(time.Second)
	rep, m, err := pengine.CheckConfinement(pengine.Config{LibDir: libDir, Supervisor: sup, StartTimeout: 20 * time.Second})
	if err != nil {
		fmt.Fprintf(stdout, "  confinement: problem: %v\n", err)
		return false
	}
	fmt.Fprintf(stdout, "  confinement (measured in a test child): own user and network namespaces (uid map %q), capabilities %s/%s (effective/bounding), no_new_privs %v, seccomp mode %d\n",
		m.UIDMap, capWord(uint64(m.CapEff)), capWord(uint64(m.CapBnd)), m.NoNewPrivs, m.Seccomp)
	fmt.Fprintf(stdout, "  confinement self-test: Landlock ABI %d, opening / %s, TCP %s\n", rep.LandlockABI, rep.SelfTest.OpenRoot, rep.SelfTest.TCP)
	if len(rep.Missing) > 0 {
		fmt.Fprintf(stdout, "  note: this kernel lacks %v; the engine runs with the other layers\n", rep.Missing)
	}
	return true
}

func capWord(c uint64) string {
	if c == 0 {
		return "none"
	}
	return fmt.Sprintf("%#x", c)
}
