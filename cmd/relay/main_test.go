package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	sopenai "github.com/inference-relay/relay/internal/standin/openai"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"relay": func() { os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestCLI runs the scripts in testdata/*.txtar against the relay command.
func TestCLI(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("RELAY_STATE_DIR", filepath.Join(env.WorkDir, "state"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "xdg"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
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
