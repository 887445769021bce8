package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/engine/llamalibs"
	"github.com/inference-relay/relay/internal/sandbox"
	sopenai "github.com/inference-relay/relay/internal/standin/openai"
)

func TestMain(m *testing.M) {
	sandbox.Enter() // as the engine child: confine first (no-op otherwise)
	// The relay under test runs its own executable (this test binary) as
	// the engine child: serve that as relay engine does.
	if len(os.Args) > 1 && os.Args[1] == "engine" {
		os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	// The start-up benchmark runs this binary as the relay.
	if os.Getenv("RELAY_TEST_AS_RELAY") == "1" {
		os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"relay": func() { os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestCLI runs the scripts in testdata/*.txtar against the relay command.
func TestCLI(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		// [llama]: the embedded engine's libraries are installed (under
		// CI, where scripts/test installs them, their absence fails).
		Condition: func(cond string) (bool, error) {
			if cond != "llama" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			libs, ok := llamaLibs()
			if !ok && os.Getenv("CI") != "" {
				return false, fmt.Errorf("llama.cpp libraries not installed in %s: run scripts/setup-llama", libs)
			}
			return ok, nil
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("RELAY_STATE_DIR", filepath.Join(env.WorkDir, "state"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "xdg"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// engine-config FILE writes a config that serves only what the
			// embedded engine is given (no detection, no Ollama store),
			// with the llama.cpp libraries scripts/setup-llama installed.
			"engine-config": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: engine-config FILE")
				}
				libs, ok := llamaLibs()
				if !ok {
					ts.Fatalf("llama.cpp libraries not installed in %s: run scripts/setup-llama (guard the script with [llama])", libs)
				}
				cfg := fmt.Sprintf("autodetect = false\n\n[engine]\nlib_dir = %q\nthreads = 1\nollama = false\n", libs)
				if err := os.WriteFile(ts.MkAbs(args[0]), []byte(cfg), 0o600); err != nil {
					ts.Fatalf("%v", err)
				}
			},
			// waitfor FILE waits until FILE exists (a hang guard of a
			// minute, not a timing).
			"waitfor": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: waitfor FILE")
				}
				deadline := time.Now().Add(time.Minute)
				for {
					if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s did not appear", args[0])
					}
					time.Sleep(50 * time.Millisecond)
				}
			},
			// replace FILE OLD NEW replaces the first OLD in FILE with NEW.
			"replace": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 3 {
					ts.Fatalf("usage: replace FILE OLD NEW")
				}
				b, err := os.ReadFile(ts.MkAbs(args[0]))
				ts.Check(err)
				if !strings.Contains(string(b), args[1]) {
					ts.Fatalf("%s does not contain %q", args[0], args[1])
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Replace(string(b), args[1], args[2], 1)), 0o600))
			},
			// standin-config FILE starts a stand-in OpenAI-compatible
			// engine for the rest of the script and writes a config file
			// naming it as backend "local".
			"standin-config": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: standin-config FILE")
				}
				srv := httptest.NewServer(sopenai.New(sopenai.Options{}))
				ts.Defer(srv.Close)
				cfg := fmt.Sprintf("autodetect = false\n\n[[backend]]\nname = \"local\"\nkind = \"openai-compatible\"\nbase_url = %q\n", srv.URL+"/v1")
				if err := os.WriteFile(ts.MkAbs(args[0]), []byte(cfg), 0o600); err != nil {
					ts.Fatalf("%v", err)
				}
			},
		},
	})
}

// llamaLibs finds the llama.cpp libraries scripts/setup-llama installed
// ($RELAY_LLAMA_LIBS, else the default state dir's).
func llamaLibs() (string, bool) {
	libs := os.Getenv("RELAY_LLAMA_LIBS")
	if libs == "" {
		libs = llamalibs.Dir(config.DefaultStateDir(), false)
	}
	_, err := os.Stat(filepath.Join(libs, llamalibs.Manifest))
	return libs, err == nil
}

// The README's first section shows what relay serve prints on a fresh
// machine: the very lines, which newcomer.txtar sees the binary print.
func TestREADMEQuotesServe(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{demoNotice, realModelHint} {
		if !strings.Contains(string(b), "    "+line+"\n") {
			t.Errorf("README.md does not quote relay serve's line:\n%s", line)
		}
	}
}
