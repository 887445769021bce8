package chain

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// The reasons Verify gives. They are the relay's own words; nothing from
// the file is ever quoted.
const (
	ReasonHashMismatch = "hash mismatch"  // the record's hash does not match its seq, prev and event
	ReasonPrevMismatch = "prev mismatch"  // prev is not the hash of the line before
	ReasonBadJSON      = "bad json"       // the line is not a record in canonical form
	ReasonSeqGap       = "seq gap"        // seq is not one more than the line before (a line deleted or moved)
	ReasonTruncated    = "truncated line" // the last line has no newline
)

// Result is what Verify found.
type Result struct {
	// Records is the number of records verified intact, from the first.
	Records int
	// FirstBroken is the 1-based line number of the first record that
	// failed (which is also the seq it should have had), 0 when none did.
	FirstBroken int64
	// Reason says why FirstBroken failed; "" when none did.
	Reason string
	// Head is the hash of the last intact record, "" when there is none.
	Head string
}

// OK reports whether the whole file verified.
func (r Result) OK() bool { return r.FirstBroken == 0 }

// Verify walks the file at path from the first record and checks every
// line: canonical form, seq continuity, prev against the previous line and
// the record's own hash, in that order. It stops at the first broken record.
// The error is for failures to read the file, not for a broken chain.
//
// Verify may run while a [Log] appends; a record being written at that
// moment can show as a truncated last line.
func Verify(path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("chain: verify: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)

	var res Result
	prev := genesisPrev
	for n := int64(1); ; n++ {
		line, complete, err := readLine(br)
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		broken := func(reason string) (Result, error) {
			res.FirstBroken, res.Reason = n, reason
			return res, nil
		}
		switch {
		case errors.Is(err, errLineTooLong):
			return broken(ReasonBadJSON)
		case err != nil:
			return Result{}, fmt.Errorf("chain: verify: %w", err)
		case !complete:
			return broken(ReasonTruncated)
		}
		rec, err := parseLine(line)
		switch {
		case err != nil:
			return broken(ReasonBadJSON)
		case rec.Seq != n:
			return broken(ReasonSeqGap)
		case rec.Prev != prev:
			return broken(ReasonPrevMismatch)
		case rec.Hash != recordHash(rec.Seq, rec.Prev, rec.Event):
			return broken(ReasonHashMismatch)
		}
		res.Records++
		res.Head = rec.Hash
		prev = lineHash(line)
	}
}

// Tail returns the last n complete records of the file at path, oldest
// first, without verifying the chain. It reads only the end of the file. A
// partial last line (a record being written, or a torn write) is skipped;
// Verify reports the latter.
func Tail(path string, n int) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("chain: tail: %w", err)
	}
	defer f.Close()
	lines, _, err := lastLines(f, n)
	if err != nil {
		return nil, fmt.Errorf("chain: tail: %w", err)
	}
	recs := make([]Record, 0, len(lines))
	for _, line := range lines {
		rec, err := parseLine(line)
		if err != nil {
			return nil, ErrCorrupt
		}
		recs = append(recs, rec)
	}
	return recs, nil
}
