package chain

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// More reasons VerifySet gives.
const (
	ReasonMACMismatch = "MAC mismatch"                  // the record's MAC does not verify under the audit key
	ReasonMixed       = "unkeyed record in keyed chain" // an older-format record among keyed ones
	ReasonNotChain    = "wrong chain"                   // the first record does not start the chain the head names
)

// FileReport is what VerifySet found in one file.
type FileReport struct {
	Path string
	// Format is "keyed", "unkeyed (older format)" or "empty".
	Format  string
	Records int
	// First and Last are the seqs of the file's first and last intact
	// records.
	First, Last int64
}

// Report is what VerifySet found in a chain's files and its head.
type Report struct {
	Files []FileReport
	// Keyed is true when the records are in the keyed format.
	Keyed bool
	// KeyError is set when the key could not be had: MACs and the head
	// were then not checked, and the report is not OK.
	KeyError error
	// Records is the number of records verified intact across the files.
	Records int
	// BrokenFile, BrokenSeq and Reason locate the first broken record
	// (BrokenSeq is the seq it should have had).
	BrokenFile string
	BrokenSeq  int64
	Reason     string
	// HeadChecked is true when the head was read and compared; HeadSeq is
	// the record it names; HeadProblem says what did not match.
	HeadChecked bool
	HeadSeq     int64
	HeadProblem string
	// AfterHead counts the records written after the head was last
	// updated (the last fraction of a second before a crash, or while the
	// relay runs): they verify, but nothing outside the files vouches for
	// them.
	AfterHead int64
}

// OK reports whether everything was checked and found intact.
func (r Report) OK() bool {
	if r.Reason != "" || r.HeadProblem != "" {
		return false
	}
	if r.Records > 0 && !r.Keyed {
		return true // older format: checked as far as it can be (see Unkeyed)
	}
	return r.KeyError == nil && (!r.Keyed || r.HeadChecked)
}

// Unkeyed reports an intact chain in the older, unkeyed format.
func (r Report) Unkeyed() bool { return r.Records > 0 && !r.Keyed }

// VerifySet checks the chain whose current file is path together with its
// rotated files (oldest first) and, for a keyed chain, against its head at
// headPath with key. key may be nil (the key could not be read; keyErr
// says why): the structure is then still walked (seq continuity and prev
// links), but the report is not OK, since without the key anyone could
// have rewritten it.
//
// A file whose records are all in the older, unkeyed format is verified as
// [Verify] does, and reported as "unkeyed (older format)": its hash chain
// shows accidental damage and naive edits, not an edit with the chain
// recomputed.
//
// The error is for failures to read files, not for a broken chain.
func VerifySet(path, headPath string, key MACKey, keyErr error) (Report, error) {
	var rep Report
	var m *macer
	if key != nil {
		var err error
		if m, err = newMacer(key); err != nil {
			keyErr = err
		}
	}
	if m == nil {
		rep.KeyError = keyErr
		if rep.KeyError == nil {
			rep.KeyError = errNoKey
		}
	}
	files := chainFiles(path)
	var (
		prev     string // the last intact record's seal: the next one's prev
		lastSeq  int64
		firstSeq int64
		seals    = map[int64]string{} // seq → MAC, for the head's record only
		head     Head
		headErr  error
	)
	if m != nil {
		head, headErr = readHead(headPath, m)
	}
	for _, p := range files {
		fr, stop, err := rep.walk(p, m, &prev, &lastSeq, &firstSeq, head, seals)
		if err != nil {
			return rep, err
		}
		rep.Files = append(rep.Files, fr)
		if stop {
			return rep, nil
		}
	}
	_, statErr := os.Stat(headPath)
	headExists := statErr == nil
	if rep.Records > 0 && !rep.Keyed {
		// The older format. It stands on its own unless a keyed chain was
		// started here: then these records replaced it.
		if headExists {
			rep.HeadProblem = "a head file exists, so this chain was keyed, but the files hold unkeyed records: they were replaced"
		}
		return rep, nil
	}
	if m == nil {
		return rep, nil
	}
	if rep.Records == 0 && !headExists {
		return rep, nil // nothing written yet, nothing to check
	}
	rep.Keyed = true
	switch {
	case errors.Is(headErr, fs.ErrNotExist):
		rep.HeadProblem = "there is no head file: it was deleted, or this is not the key directory the chain was written with"
	case headErr != nil:
		rep.HeadProblem = headErr.Error()
	default:
		rep.HeadChecked, rep.HeadSeq = true, head.Seq
		switch {
		case lastSeq < head.Seq:
			rep.HeadProblem = fmt.Sprintf("the head says the chain holds %d records, but the files end at record %d: the tail was cut, the file emptied, or an older copy put in place", head.Seq, lastSeq)
		case rep.Records > 0 && firstSeq != head.First:
			rep.HeadProblem = fmt.Sprintf("the head says the oldest record kept is %d, but the files start at %d: files were removed or added", head.First, firstSeq)
		case head.Seq > 0 && seals[head.Seq] != head.MAC:
			rep.HeadProblem = fmt.Sprintf("record %d is not the one the head names: the chain was rewritten or replaced", head.Seq)
		default:
			rep.AfterHead = lastSeq - head.Seq
		}
	}
	return rep, nil
}

// walk verifies one file, continuing the chain from prev. stop is true
// when a broken record was found.
func (rep *Report) walk(p string, m *macer, prev *string, lastSeq, firstSeq *int64, head Head, seals map[int64]string) (FileReport, bool, error) {
	fr := FileReport{Path: p, Format: "empty"}
	f, err := os.Open(p)
	if err != nil {
		return fr, false, fmt.Errorf("chain: verify: %w", err)
	}
	defer f.Close()
	br := newReader(f)
	unkeyedPrev := genesisPrev
	for {
		line, complete, err := readLine(br)
		if errors.Is(err, io.EOF) {
			return fr, false, nil
		}
		want := *lastSeq + 1
		broken := func(reason string) (FileReport, bool, error) {
			rep.BrokenFile, rep.BrokenSeq, rep.Reason = p, want, reason
			return fr, true, nil
		}
		switch {
		case errors.Is(err, errLineTooLong):
			return broken(ReasonBadJSON)
		case err != nil:
			return fr, false, fmt.Errorf("chain: verify: %w", err)
		case !complete:
			return broken(ReasonTruncated)
		}
		rec, err := parseLine(line)
		if err != nil {
			return broken(ReasonBadJSON)
		}
		if rep.Records == 0 {
			rep.Keyed = rec.Keyed
			*firstSeq = rec.Seq
			want = rec.Seq
			if !rec.Keyed {
				want = 1
			}
		}
		if fr.Records == 0 {
			fr.First = rec.Seq
			fr.Format = "unkeyed (older format)"
			if rec.Keyed {
				fr.Format = "keyed"
			}
		}
		switch {
		case rec.Keyed != rep.Keyed:
			return broken(ReasonMixed)
		case rec.Seq != want:
			return broken(ReasonSeqGap)
		case !rec.Keyed:
			// The older format: prev is the hash of the line before.
			if rec.Prev != unkeyedPrev || (rep.Records > 0 && fr.Records == 0) {
				return broken(ReasonPrevMismatch)
			}
			if rec.Hash != recordHash(rec.Seq, rec.Prev, rec.Event) {
				return broken(ReasonHashMismatch)
			}
			unkeyedPrev = lineHash(line)
		case m != nil && rec.Hash != m.record(rec.Seq, rec.Prev, rec.Event):
			// First: a record not made under this key is not this
			// relay's, whatever its links say.
			return broken(ReasonMACMismatch)
		default:
			if rep.Records == 0 {
				// The first record kept: it starts the chain the head
				// names, or (rotated away before it) cannot be linked.
				if m != nil && head.Chain != "" && rec.Seq == 1 && rec.Prev != head.Chain {
					return broken(ReasonNotChain)
				}
			} else if rec.Prev != *prev {
				return broken(ReasonPrevMismatch)
			}
			if rec.Seq == head.Seq {
				seals[rec.Seq] = rec.Hash
			}
		}
		*prev = rec.Hash
		*lastSeq = rec.Seq
		rep.Records++
		fr.Records++
		fr.Last = rec.Seq
	}
}
