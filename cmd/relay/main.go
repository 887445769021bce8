// Command relay serves the OpenAI and Anthropic APIs on loopback and routes
// requests to local engines or provider accounts the user trusts.
//
//	relay serve     start the relay (embedded defaults, auto-detected engines)
//	relay chat      chat in the terminal through the relay
//	relay models    list the models the relay can route
//	relay ps        show the running relay server: its models and engine
//	relay keys      create, list and revoke API keys
//	relay audit     verify or show the hash-chained audit trail
//	relay doctor    show what the relay found and what it would do
//	relay demo      write a tiny random-weight model to try the embedded engine
//	relay engine    the embedded engine's child process (started by the relay)
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/inference-relay/relay/internal/sandbox"
)

// version is set at release build time with -ldflags.
var version = "dev"

// exitError carries an exit code; its message is printed once by main.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, a...)}
}

const usage = `relay — OpenAI and Anthropic APIs on loopback, served by infrastructure you trust

Usage:
  relay serve   [--config FILE] [--listen ADDR]... [--route GLOB=BACKEND/MODEL]... [--no-detect]
  relay serve   ... [--model PATH.gguf]... [--no-demo]
  relay chat    [--config FILE] [--model NAME] [--system TEXT] [PROMPT...]
  relay models  [--config FILE] [--no-detect]
  relay ps      [--config FILE]        the running server: pid, address, models, engine
  relay keys    create [--name NAME] | list | revoke ID
  relay audit   verify | tail [-n N]   [--file FILE]
  relay doctor  [--config FILE]
  relay demo    [--state-dir DIR]      write a tiny random-weight model for the embedded engine
  relay version

Run 'relay COMMAND -h' for a command's flags.
`

func main() {
	// First thing: when the relay started this process as its confined
	// engine child, Enter confines it and re-executes it; otherwise it
	// does nothing.
	sandbox.Enter()
	os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// realMain runs a command and returns the process exit code: 0 on success,
// 2 for usage errors, 1 for everything else.
func realMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := run(args, stdin, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "relay:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErr("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(rest, stderr)
	case "chat":
		return cmdChat(rest, stdin, stdout, stderr)
	case "models":
		return cmdModels(rest, stdout, stderr)
	case "ps":
		return cmdPs(rest, stdout, stderr)
	case "keys":
		return cmdKeys(rest, stdout, stderr)
	case "audit":
		return cmdAudit(rest, stdout, stderr)
	case "engine":
		return cmdEngine(rest, stdin, stdout, stderr)
	case "demo":
		return cmdDemo(rest, stdin, stdout, stderr)
	case "doctor":
		return cmdDoctor(rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "relay", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageErr("unknown command %q", cmd)
	}
}
