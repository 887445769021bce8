// Command binscan scans built binaries for embedded secrets.
//
//	binscan [-allow FILE] BINARY...
//
// It prints one line per finding (file, offset, rule, the first four bytes
// and the length of the candidate, and its SHA-256) and a summary line, and
// exits 1 when it found anything, 0 when the binaries are clean and 2 on a
// usage error. FILE lists the SHA-256 of candidates to let through, one per
// line. See package binscan for the rules.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/inference-relay/relay/internal/tools/binscan"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("binscan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	allowPath := fs.String("allow", "", "file of SHA-256 hashes (hex, one per line) of candidates to allow")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: binscan [-allow FILE] BINARY...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var allow *binscan.Allowlist
	if *allowPath != "" {
		f, err := os.Open(*allowPath)
		if err != nil {
			fmt.Fprintln(stderr, "binscan:", err)
			return 2
		}
		allow, err = binscan.ParseAllowlist(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "binscan: %s: %v\n", *allowPath, err)
			return 2
		}
	}
	var size int64
	found := 0
	for _, path := range fs.Args() {
		r, err := binscan.ScanFile(path, allow)
		if err != nil {
			fmt.Fprintln(stderr, "binscan:", err)
			return 2
		}
		size += r.Size
		for _, f := range r.Findings {
			fmt.Fprintf(stdout, "%s: %s\n", path, f)
		}
		found += len(r.Findings)
	}
	fmt.Fprintf(stdout, "binscan: %d bytes scanned, %d findings\n", size, found)
	if found > 0 {
		return 1
	}
	return 0
}
