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
	d := &doctor{out: stdout, cfg: cfg}
	problems := 0
	for _, check := range doctorChecks {
		problems += check(d)
	}
	if problems > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d problem(s) found", problems)}
	}
	return nil
}

// doctor is what the checks print to and what the earlier ones learned
// for the later ones.
type doctor struct {
	out    io.Writer
	cfg    config.Config
	nkeys  int                     // API keys in the store
	found  map[string]detect.Found // local engines running
	libDir string                  // the llama.cpp libraries' directory
	libsOK bool                    // and whether they verified
	models []weights.Model         // the engine's model files
}

// doctorChecks run in order; each prints its lines and returns the number
// of problems it found.
var doctorChecks = []func(*doctor) int{
	(*doctor).runningServer,
	(*doctor).keys,
	(*doctor).listen,
	(*doctor).localEngines,
	(*doctor).configuredBackends,
	(*doctor).embeddedEngine,
	(*doctor).anyBackend,
	(*doctor).unusedKeys,
}

// runningServer reports the relay server running for this state directory,
// as it measures itself (its /audit), or that none runs.
func (d *doctor) runningServer() int {
	srv, err := findServer(d.cfg.StateDir)
	if err != nil {
		fmt.Fprintf(d.out, "server:  problem: %v\n", err)
		return 1
	}
	if srv == nil {
		fmt.Fprintln(d.out, "server:  none running for this state directory; 'relay serve' starts one")
		return 0
	}
	fmt.Fprintf(d.out, "server:  running, pid %d, %s\n", srv.info.PID, srv.info.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ms, err := srv.models(ctx)
	if err != nil {
		fmt.Fprintf(d.out, "  problem: %v\n", err)
		return 1
	}
	for _, m := range ms {
		fmt.Fprintf(d.out, "  serving %s\n", m)
	}
	children, _, err := srv.engineChildren(ctx)
	if err != nil {
		fmt.Fprintf(d.out, "  problem: %v\n", err)
		return 1
	}
	problems := 0
	for _, ch := range children {
		fmt.Fprintf(d.out, "  engine child pid %d: confined %v, no network %v (measured by the server)\n", ch.Pid, ch.Confined, ch.NoNetwork)
		if ch.Problem != "" {
			fmt.Fprintf(d.out, "    problem: %s\n", ch.Problem)
			problems++
		}
	}
	return problems
}

func (d *doctor) keys() int {
	keys, err := auth.Open(d.cfg.StateDir)
	if err != nil {
		fmt.Fprintf(d.out, "keys:    problem: %v\n", err)
		return 1
	}
	d.nkeys = keys.Len()
	fmt.Fprintf(d.out, "keys:    %d API key(s)", d.nkeys)
	if d.nkeys == 0 {
		fmt.Fprint(d.out, " — 'relay serve' creates the first one, or run 'relay keys create'")
	}
	fmt.Fprintln(d.out)
	return 0
}

func (d *doctor) listen() int {
	if err := d.cfg.Validate(d.nkeys); err != nil {
		fmt.Fprintf(d.out, "listen:  problem: %v\n", err)
		return 1
	}
	fmt.Fprintf(d.out, "listen:  %v\n", d.cfg.Listen)
	return 0
}

func (d *doctor) autodetectOff() bool { return d.cfg.Autodetect != nil && !*d.cfg.Autodetect }

func (d *doctor) localEngines() int {
	client := egress.New(egress.LoopbackOnly).HTTPClient()
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Fprintln(d.out, "local engines (probed on their usual ports):")
	if d.autodetectOff() {
		fmt.Fprintln(d.out, "  auto-detection is off")
	}
	d.found = map[string]detect.Found{}
	for _, f := range detect.Probe(ctx, client, detect.Usual, time.Second) {
		d.found[f.Name] = f
	}
	for _, c := range detect.Usual {
		if f, ok := d.found[c.Name]; ok {
			fmt.Fprintf(d.out, "  %-9s %s  found, %d model(s)\n", c.Name, c.BaseURL, len(f.Models))
		} else {
			fmt.Fprintf(d.out, "  %-9s %s  not running\n", c.Name, c.BaseURL)
		}
	}
	return 0
}

func (d *doctor) configuredBackends() int {
	problems := 0
	fmt.Fprintln(d.out, "configured backends ([[backend]]):")
	if len(d.cfg.Backends) == 0 {
		fmt.Fprintln(d.out, "  none (the embedded engine's models are under 'embedded engine')")
	}
	for _, b := range d.cfg.Backends {
		status := "ok"
		if b.APIKeyEnv != "" && os.Getenv(b.APIKeyEnv) == "" && b.Kind != config.KindOpenAICompatible {
			status = "problem: " + b.APIKeyEnv + " is not set"
			problems++
		}
		fmt.Fprintf(d.out, "  %-9s %s %s  %s\n", b.Name, b.Kind, b.BaseURL, status)
	}
	return problems
}

func (d *doctor) embeddedEngine() int {
	problems := 0
	fmt.Fprintln(d.out, "embedded engine:")
	d.libDir = d.cfg.Engine.LibDir
	if d.libDir == "" {
		d.libDir = llamalibs.Dir(d.cfg.StateDir, false)
	}
	d.libsOK = llamalibs.Verify(d.libDir) == nil
	if d.libsOK {
		fmt.Fprintf(d.out, "  llama.cpp %s libraries: verified in %s\n", llamalibs.Release, d.libDir)
	} else {
		fmt.Fprintf(d.out, "  llama.cpp libraries: not installed or not verified in %s — run %s\n", d.libDir, llamalibs.SetupScript)
	}
	wc := weights.Config{Ollama: d.cfg.Engine.Ollama == nil || *d.cfg.Engine.Ollama, OllamaDir: d.cfg.Engine.OllamaDir}
	for _, m := range d.cfg.Models {
		wc.Models = append(wc.Models, weights.ModelConfig{Name: m.Name, Path: m.Path, SHA256: m.SHA256})
	}
	models, derr := weights.Discover(wc)
	d.models = models
	for _, m := range models {
		fmt.Fprintf(d.out, "  model %-20s %s (hashed at every start)\n", m.Name, m.Path)
	}
	if derr != nil {
		fmt.Fprintf(d.out, "  problem: %v\n", derr)
		problems++
	}
	if len(models) == 0 {
		fmt.Fprintln(d.out, "  no model: add [[model]] name/path to the config, or try 'relay demo'")
		return problems
	}
	if !d.libsOK {
		problems++ // models to serve, and nothing to serve them with
	}
	if !doctorConfinement(d.out, d.libDir) {
		problems++
	}
	return problems
}

// anyBackend explains how to add a backend when nothing would serve.
func (d *doctor) anyBackend() int {
	usable := len(d.found) + len(d.cfg.Backends)
	if d.autodetectOff() {
		usable = len(d.cfg.Backends)
	}
	if d.libsOK {
		usable += len(d.models)
	}
	if usable > 0 {
		return 0
	}
	fmt.Fprintln(d.out, "\nNo backend: 'relay serve' would serve only its random-weight demo model (--no-demo: answer 503). To add a real one, either")
	fmt.Fprintln(d.out, "  - name a GGUF model for the embedded engine ([[model]] name = \"…\", path = \"…\"; scripts/setup-llama once), or")
	fmt.Fprintln(d.out, "  - start a local engine (e.g. 'ollama serve', 'llama-server -m model.gguf') and restart the relay, or")
	fmt.Fprintln(d.out, "  - add to the config file:")
	fmt.Fprintln(d.out, "      [[backend]]\n      name = \"anthropic\"\n      kind = \"anthropic\"   # key read from ANTHROPIC_API_KEY")
	return 0
}

// unusedKeys notes a provider key in the environment that no backend uses:
// the relay never sends anything anywhere the config does not name.
func (d *doctor) unusedKeys() int {
	for _, k := range []struct{ env, kind string }{{"ANTHROPIC_API_KEY", config.KindAnthropic}, {"OPENAI_API_KEY", config.KindOpenAI}} {
		if os.Getenv(k.env) != "" && !hasKind(d.cfg, k.kind) {
			fmt.Fprintf(d.out, "note: %s is set but no backend of kind %q is configured; the relay never sends anything to a remote API unless the config names it\n", k.env, k.kind)
		}
	}
	return 0
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
