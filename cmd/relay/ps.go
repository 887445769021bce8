package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"
)

// cmdPs shows the relay server running for the state directory, like
// `ollama ps`: where it listens, what it serves, and its engine children.
func cmdPs(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay ps", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("ps: unexpected argument")
	}
	cfg, _, err := cf.load()
	if err != nil {
		return err
	}
	srv, err := findServer(cfg.StateDir)
	if err != nil {
		return err
	}
	if srv == nil {
		return &exitError{code: 1, msg: "no relay server is running for " + cfg.StateDir + "; start one with 'relay serve'"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ms, err := srv.models(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "server   pid %d, %s, up %s (version %s)\n", srv.info.PID, srv.info.URL, time.Since(srv.info.Started).Round(time.Second), srv.info.Version)
	for _, m := range ms {
		fmt.Fprintf(stdout, "model    %s\n", m)
	}
	children, ok, err := srv.engineChildren(ctx)
	if err != nil {
		return err
	}
	for _, ch := range children {
		fmt.Fprintf(stdout, "engine   pid %d, confined %v, no network %v\n", ch.Pid, ch.Confined, ch.NoNetwork)
	}
	if ok && len(children) == 0 {
		fmt.Fprintln(stdout, "engine   no child running")
	}
	return nil
}
