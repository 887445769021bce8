package binscan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
)

// Finding is one piece of secret-like material. It deliberately does not
// hold the candidate: printing a finding must not print the secret.
type Finding struct {
	Offset  int64  // where the candidate starts in the file
	Rule    string // which rule matched, e.g. "anthropic-key", "base64-entropy"
	Length  int    // the candidate's length in bytes
	Preview string // the candidate's first 4 bytes (at most), non-printables as '.'
	SHA256  string // hex SHA-256 of the candidate: what an allowlist lists
}

// String formats f as "0x00001234 rule "abcd…" (44 bytes) sha256:…".
func (f Finding) String() string {
	return fmt.Sprintf("0x%08x %s %q… (%d bytes) sha256:%s", f.Offset, f.Rule, f.Preview, f.Length, f.SHA256)
}

// previewLen is how much of a candidate a finding shows.
const previewLen = 4

// Options says what a scan may let through.
type Options struct {
	// Allow lists the SHA-256 of candidates to let through; nil allows none.
	Allow *Allowlist
	// Known are exact strings the data legitimately holds (see [Known]).
	// Every occurrence is blanked before the rules run, so a run that only
	// continues into a known string is judged on its own bytes.
	Known [][]byte
}

// Scan runs every rule over data and returns the findings in file order.
// A candidate whose bytes overlap an earlier one (a more specific rule, or
// an allowed candidate) is not reported twice.
func Scan(data []byte, opt Options) []Finding {
	b := data
	if len(opt.Known) > 0 {
		b = bytes.Clone(data)
		for _, k := range opt.Known {
			blank(b, k)
		}
	}
	var claimed [][2]int
	var out []Finding
	emit := func(start, end int, rule string) {
		for _, c := range claimed {
			if start < c[1] && c[0] < end {
				return
			}
		}
		claimed = append(claimed, [2]int{start, end})
		cand := data[start:end]
		sum := sha256.Sum256(cand)
		if opt.Allow.has(sum) {
			return
		}
		out = append(out, Finding{
			Offset:  int64(start),
			Rule:    rule,
			Length:  end - start,
			Preview: preview(cand),
			SHA256:  hex.EncodeToString(sum[:]),
		})
	}
	// Specific shapes claim their bytes first, then hex, then base64. The
	// base64 stretches are found first all the same: the shapes with a
	// variable body ask whether it holds one.
	voc := newVocabulary(b)
	random := scanB64(b, voc)
	scanShapes(&shapeScan{b: b, random: random, voc: voc}, emit)
	scanHex(b, emit)
	for _, r := range random {
		emit(r[0], r[1], "base64-entropy")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	return out
}

// blank overwrites every occurrence of k in b with NUL bytes.
func blank(b, k []byte) {
	if len(k) == 0 {
		return
	}
	for off := 0; ; {
		i := bytes.Index(b[off:], k)
		if i < 0 {
			return
		}
		clear(b[off+i : off+i+len(k)])
		off += i + len(k)
	}
}

func preview(cand []byte) string {
	p := []byte(cand[:min(previewLen, len(cand))])
	p = bytes.Clone(p)
	for i, c := range p {
		if c < 0x20 || c > 0x7e {
			p[i] = '.'
		}
	}
	return string(p)
}

// Report is the result of scanning one file.
type Report struct {
	Path     string
	Size     int64
	Findings []Finding
}

// ScanFile reads the file at path and scans it with the built-in
// allowances for what it is (see [Known]) and the given allowlist.
func ScanFile(path string, allow *Allowlist) (Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Report{}, err
	}
	return Report{
		Path:     path,
		Size:     int64(len(data)),
		Findings: Scan(data, Options{Allow: allow, Known: Known(data)}),
	}, nil
}
