package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/inference-relay/relay/internal/audit/chain"
)

func cmdAudit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay audit", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	file := fs.String("file", "", "audit file (default: the configured one, audit.jsonl in the state dir)")
	n := fs.Int("n", 20, "number of records to show (tail)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: relay audit verify | tail [-n N]")
		fs.PrintDefaults()
	}
	sub, cfg, err := parseSubcommand(fs, &cf, "audit", args, stderr)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("audit %s: unexpected argument", sub)
	}
	path := cfg.Audit.File
	if *file != "" {
		path = *file
	}
	switch sub {
	case "verify":
		res, err := chain.Verify(path)
		if err != nil {
			return err
		}
		if !res.OK() {
			fmt.Fprintf(stdout, "%s: BROKEN at record %d: %s (%d records before it are intact)\n", path, res.FirstBroken, res.Reason, res.FirstBroken-1)
			return &exitError{code: 1, msg: "the audit chain is broken"}
		}
		fmt.Fprintf(stdout, "%s: intact, %d records, head %s\n", path, res.Records, res.Head)
		return nil
	case "tail":
		if *n < 1 {
			return usageErr("audit tail: -n must be at least 1")
		}
		recs, err := chain.Tail(path, *n)
		if err != nil {
			return err
		}
		for _, r := range recs {
			fmt.Fprintf(stdout, "%d %s\n", r.Seq, r.Event)
		}
		return nil
	default:
		fs.Usage()
		return usageErr("audit: unknown subcommand %q", sub)
	}
}
