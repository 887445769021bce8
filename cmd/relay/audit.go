package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/audit/chain"
)

// verifyChain checks the chain at path (with its rotated files) under the
// audit key from src, against the head at headPath ("" for none), and
// says what it checked. Any failure, an unreadable key included, exits 1.
func verifyChain(stdout io.Writer, path, headPath string, src audit.KeySource) error {
	var key chain.MACKey
	var keyErr error
	kr, err := audit.NewKeyring(src)
	if err != nil {
		keyErr = err
	} else {
		defer kr.Close()
		k, err := kr.Key(audit.AuditKeyName, false)
		if err != nil {
			keyErr = err
		} else {
			key = k
		}
	}
	rep, err := chain.VerifySet(path, headPath, key, keyErr)
	if err != nil {
		return err
	}
	if len(rep.Files) == 0 {
		fmt.Fprintf(stdout, "no audit file at %s\n", path)
	}
	for _, f := range rep.Files {
		if f.Records == 0 {
			fmt.Fprintf(stdout, "checked %s: %s\n", f.Path, f.Format)
			continue
		}
		fmt.Fprintf(stdout, "checked %s: %s, records %d-%d\n", f.Path, f.Format, f.First, f.Last)
	}
	switch {
	case rep.Unkeyed():
		fmt.Fprintln(stdout, "key: not used: these records are unkeyed (older format); their hash chain shows damage and naive edits, not an edit with the chain recomputed")
	case rep.KeyError != nil:
		fmt.Fprintf(stdout, "key: %s could not be read (%v): record MACs and the head were NOT checked; run this as the user the relay runs as\n", src.Where(audit.AuditKeyName), rep.KeyError)
	default:
		fmt.Fprintf(stdout, "key: %s: every record's MAC checked\n", src.Where(audit.AuditKeyName))
	}
	if rep.HeadChecked {
		fmt.Fprintf(stdout, "head: %s names record %d", headPath, rep.HeadSeq)
		if rep.HeadProblem == "" {
			fmt.Fprint(stdout, ": matches")
			if rep.AfterHead > 0 {
				fmt.Fprintf(stdout, " (%d later records verify but are not yet anchored: normal while the relay runs, or after a crash)", rep.AfterHead)
			}
		}
		fmt.Fprintln(stdout)
	}
	if rep.HeadProblem != "" {
		fmt.Fprintf(stdout, "head: PROBLEM: %s\n", rep.HeadProblem)
	}
	if rep.Reason != "" {
		fmt.Fprintf(stdout, "%s: BROKEN at record %d: %s (%d records before it are intact)\n", rep.BrokenFile, rep.BrokenSeq, rep.Reason, rep.Records)
	}
	if !rep.OK() {
		return &exitError{code: 1, msg: "the audit chain could not be verified"}
	}
	if rep.Unkeyed() {
		fmt.Fprintf(stdout, "intact, unkeyed (older format), %d records\n", rep.Records)
		return nil
	}
	fmt.Fprintf(stdout, "intact, keyed and anchored, %d records\n", rep.Records)
	return nil
}

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
		headPath := filepath.Join(cfg.Audit.KeyDir, audit.HeadName)
		if *file != "" && filepath.Clean(*file) != filepath.Clean(cfg.Audit.File) {
			headPath = "" // a file other than the configured chain: records only
		}
		return verifyChain(stdout, path, headPath, audit.FileKeys{Dir: cfg.Audit.KeyDir})
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
