package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/inference-relay/relay/internal/auth"
)

func cmdKeys(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay keys", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	name := fs.String("name", "", "a label for the new key (create)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: relay keys create [--name NAME] | list | revoke ID")
		fs.PrintDefaults()
	}
	sub, cfg, err := parseSubcommand(fs, &cf, "keys", args, stderr)
	if err != nil {
		return err
	}
	store, err := auth.Open(cfg.StateDir)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if fs.NArg() != 0 {
			return usageErr("keys create: unexpected argument")
		}
		key, id, err := store.Create(*name)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		fmt.Fprintf(stderr, "created key %s; it is shown this once, only its hash is stored in %s\n", id, store.Path())
		return nil
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED")
		for _, k := range store.List() {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.Name, k.Created.Format(time.RFC3339))
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return usageErr("keys revoke: exactly one key id is required")
		}
		err := store.Revoke(fs.Arg(0))
		if errors.Is(err, auth.ErrNotFound) {
			return &exitError{code: 1, msg: "keys revoke: no key with that id (relay keys list shows them)"}
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "revoked key", fs.Arg(0))
		return nil
	default:
		fs.Usage()
		return usageErr("keys: unknown subcommand %q", sub)
	}
}
