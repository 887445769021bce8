package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/inference-relay/relay/internal/backends"
	"github.com/inference-relay/relay/internal/egress"
)

func cmdModels(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay models", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("models: unexpected argument")
	}
	cfg, _, err := cf.load()
	if err != nil {
		return err
	}
	// The server running for this state directory knows best what it
	// serves.
	srv, err := findServer(cfg.StateDir)
	if err != nil {
		return err
	}
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ms, err := srv.models(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "served by the relay server (pid %d, %s)\n", srv.info.PID, srv.info.URL)
		for _, m := range ms {
			fmt.Fprintln(stdout, m)
		}
		return nil
	}
	// No server: list what a relay started now would find. Listing needs only the backends: no keys, no audit trail, so it works
	// beside a running server.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := backends.Build(ctx, cfg, backends.Options{Client: egress.New(nil).HTTPClient()})
	if err != nil {
		return err
	}
	infos := b.Infos
	if len(infos) == 0 {
		return &exitError{code: 1, msg: "no backend found; run 'relay doctor' to see what was probed and how to add one"}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tBACKEND\tKIND")
	for _, b := range infos {
		if len(b.Models) == 0 {
			fmt.Fprintf(tw, "(any %s/…)\t%s\t%s\n", b.Name, b.Name, b.Kind)
		}
		for _, m := range b.Models {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m, b.Name, b.Kind)
		}
	}
	return tw.Flush()
}
