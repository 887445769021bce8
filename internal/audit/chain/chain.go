// Package chain keeps the audit trail as an append-only, hash-chained JSONL
// file (SPEC A2): deleting, reordering or editing any record is detected by
// [Verify].
//
// # Format
//
// Each line is one record, written exactly as
//
//	{"seq":N,"prev":"<64 hex>","event":{…},"hash":"<64 hex>"}\n
//
// with no other spaces or keys, lowercase hex, seq in decimal:
//
//   - seq counts records from 1, with no gaps.
//   - prev is hex(SHA-256(previous line)), over the previous line's bytes
//     without its newline; 64 zeros for the first record.
//   - event is the audit.Event as JSON (see audit.Event.MarshalJSON).
//   - hash is hex(SHA-256(seq "|" prev "|" event)): the decimal seq, a '|'
//     byte, the 64 hex digits of prev, a '|', and the event's bytes exactly
//     as they appear in the line.
//
// hash seals a record on its own; prev binds it to everything before it. A
// verifier that pinned an earlier [Log.Head] can also detect truncation.
//
// That format (written by [Open]) is unkeyed: anyone can edit a record and
// recompute the chain. The relay writes the keyed format ([OpenKeyed]),
// where the last key is "mac" instead of "hash": mac is
// hex(HMAC-SHA256(key, "relay-audit-record-v2|" seq "|" prev "|" event)),
// and prev is the previous record's mac (for the first record, the
// chain's random id).
//
// A keyed chain is anchored by a head file ([Head]): the chain id, the
// first seq kept, the count and the last MAC, sealed under the same key,
// written atomically after each batched fsync, at rotation and at Close.
// It lives in the key directory, not beside the audit file, so that
// whoever can write the audit files but not the key directory cannot cut
// the tail, empty the file, or put an older copy or another chain's file
// in place unseen: [OpenKeyed] refuses such a chain and [VerifySet]
// reports it. The head trails the file by the appends of the last fsync
// interval (about 200 ms); records written after it are accepted when
// they verify, and a crash can lose that much unanchored tail.
//
// When the file would grow past Options.MaxBytes it is rotated: audit.jsonl
// becomes audit.1.jsonl (and so on, Options.Keep files kept); the chain
// runs on across files, and the head records the first seq kept.
//
// The key's bytes stay in the caller's locked memory (a memlock.Key); the
// HMAC's pads derived from it are on the Go heap while a Log is open,
// covered only by the process's own hardening (non-dumpable, mlockall
// where allowed). Anyone who can read the key can rewrite every record
// and the head consistently.
//
// # Durability
//
// Append writes each line with a single write(2) to a file opened with
// O_APPEND, so records never interleave. Syncing every append would cost a
// disk flush per request, so a goroutine batches it: after an append it
// waits 100 ms, then calls fsync once for everything written meanwhile.
// Syncs are at least 100 ms apart, and a record reaches stable storage
// within about 200 ms; Close syncs whatever is left. A crash can therefore
// lose the last fraction of a second of records, never corrupt earlier ones.
//
// The file is locked (flock, where the platform has it) while a [Log] holds
// it, so two relays cannot interleave two chains in one file.
package chain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/inference-relay/relay/internal/audit"
)

// syncInterval is the least time between two fsyncs of the file.
const syncInterval = 100 * time.Millisecond

var (
	// ErrClosed is returned by Append and Close after Close.
	ErrClosed = errors.New("chain: log closed")
	// ErrLocked is returned by Open when another Log holds the file.
	ErrLocked = errors.New("chain: audit file is in use by another process")
	// ErrTruncated is returned when the file's last line has no newline:
	// a write was torn (a crash, a full disk) or the file was cut. Open
	// refuses to continue such a chain; run Verify and move the file aside.
	ErrTruncated = errors.New("chain: the last record is truncated")
	// ErrCorrupt is returned by Open and Tail when a record they must read
	// does not parse (or, for Open, the last record's hash is wrong).
	ErrCorrupt = errors.New("chain: the audit file holds a malformed record")
	// ErrUnkeyed is returned by OpenKeyed when the file holds records in
	// the older, unkeyed format: a keyed chain is never appended to one.
	ErrUnkeyed = errors.New("chain: the audit file holds unkeyed records (older format)")
)

// Options configure a keyed chain ([OpenKeyed]).
type Options struct {
	// Key is the audit key every record's MAC is made with.
	Key MACKey
	// HeadPath is the chain's head file, kept apart from the audit files
	// (the relay keeps it in the key directory).
	HeadPath string
	// MaxBytes rotates the file when a record would take it past this
	// size; 0: never.
	MaxBytes int64
	// Keep is the number of rotated files kept; older ones are deleted.
	Keep int
}

// Log appends events to one chained file. It is safe for concurrent use.
type Log struct {
	mu       sync.Mutex
	path     string
	o        Options
	mac      *macer // record MACs, under mu; nil for an unkeyed Log
	f        *os.File
	size     int64  // bytes in the current file
	chainID  string // keyed: the chain's id
	first    int64  // keyed: seq of the first record still kept
	seq      int64  // seq of the last record, 0 when none
	prevLine string // the next record's prev: the last MAC (keyed) or lineHash of the last line
	head     string // hash or MAC of the last record
	buf      []byte // reused line buffer
	err      error  // sticky: once a write or sync failed, the head is unsure
	closed   bool

	kick     chan struct{} // an append happened; capacity 1
	done     chan struct{} // closed by Close
	loopDone chan struct{} // closed when the sync goroutine returns
	syncFile func() error  // f.Sync, replaceable in tests

	// Head writes: by the sync goroutine (then Close) with headMac, and at
	// rotation under mu with mac. headMu serialises them; it is never
	// held while mu is taken.
	headMu      sync.Mutex
	headMac     *macer
	headWritten Head
	headErr     error
}

// Open opens or creates the audit file at path (mode 0600) for appending
// records in the older, unkeyed format and recovers the chain's head from
// its last record. It does not verify the rest of the file; [Verify] does.
// The relay writes keyed chains ([OpenKeyed]); Open remains for tools and
// tests that hold no key.
func Open(path string) (*Log, error) {
	return open(path, nil)
}

func open(path string, syncFn func() error) (*Log, error) {
	f, err := openLocked(path)
	if err != nil {
		return nil, err
	}
	l := newLog(path, f, syncFn)
	if err := l.recover(path); err != nil {
		f.Close()
		return nil, err
	}
	go l.syncLoop()
	return l, nil
}

func openLocked(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("chain: open: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func newLog(path string, f *os.File, syncFn func() error) *Log {
	l := &Log{
		path:     path,
		f:        f,
		prevLine: genesisPrev,
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
		syncFile: syncFn,
	}
	if l.syncFile == nil {
		l.syncFile = l.syncCurrent
	}
	return l
}

// syncCurrent fsyncs the current file without holding mu over the
// fsync, so appends go on meanwhile. A file rotated away meanwhile was
// synced by the rotation, so its closed-file error is no failure.
func (l *Log) syncCurrent() error {
	l.mu.Lock()
	f := l.f
	l.mu.Unlock()
	err := f.Sync()
	if err != nil {
		l.mu.Lock()
		rotated := l.f != f
		l.mu.Unlock()
		if rotated {
			return nil
		}
	}
	return err
}

// recover reads the last line to learn the head. The write handle is
// O_WRONLY, so it reads through a second one.
func (l *Log) recover(path string) error {
	r, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("chain: open: %w", err)
	}
	defer r.Close()
	lines, torn, err := lastLines(r, 1)
	switch {
	case err != nil:
		return fmt.Errorf("chain: read head: %w", err)
	case torn:
		return ErrTruncated
	case len(lines) == 0:
		return nil
	}
	rec, err := parseLine(lines[0])
	if err != nil || rec.Keyed || rec.Hash != recordHash(rec.Seq, rec.Prev, rec.Event) {
		return ErrCorrupt
	}
	l.seq, l.prevLine, l.head = rec.Seq, lineHash(lines[0]), rec.Hash
	return nil
}

// OpenKeyed opens or creates the keyed chain whose current file is path
// (mode 0600), anchored by the head at o.HeadPath.
//
// A new chain (no file, or an empty one, and no head) gets a random id and
// its head is written before Open returns. An existing chain must match its
// head: the head must verify under the key, the files must hold at least
// the head's records, the record the head names must carry the head's MAC,
// and every record after it must verify. Open refuses otherwise, with an
// error wrapping ErrHead that says what did not match; it never appends to
// a chain it cannot vouch for. (It checks only the tail; [VerifySet] checks
// every record.)
func OpenKeyed(path string, o Options) (*Log, error) {
	return openKeyed(path, o, nil)
}

func openKeyed(path string, o Options, syncFn func() error) (*Log, error) {
	if o.Key == nil || o.HeadPath == "" {
		return nil, errors.New("chain: a keyed chain needs a key and a head path")
	}
	m, err := newMacer(o.Key)
	if err != nil {
		return nil, err
	}
	hm, _ := newMacer(o.Key)
	f, err := openLocked(path)
	if err != nil {
		return nil, err
	}
	l := newLog(path, f, syncFn)
	l.o, l.mac, l.headMac = o, m, hm
	if err := l.recoverKeyed(); err != nil {
		f.Close()
		return nil, err
	}
	go l.syncLoop()
	return l, nil
}

// lastRecord returns the last complete record of the chain's files and
// the size of the current one. ok is false when they hold no record.
func (l *Log) lastRecord() (rec Record, line []byte, size int64, ok bool, err error) {
	files := chainFiles(l.path)
	for i := len(files) - 1; i >= 0; i-- {
		lines, torn, sz, err := tailOf(files[i], 1)
		if files[i] == l.path {
			size = sz
		}
		switch {
		case err != nil:
			return Record{}, nil, 0, false, err
		case torn:
			return Record{}, nil, 0, false, ErrTruncated
		case len(lines) == 0:
			continue
		}
		rec, perr := parseLine(lines[0])
		if perr != nil {
			return Record{}, nil, 0, false, ErrCorrupt
		}
		return rec, lines[0], size, true, nil
	}
	return Record{}, nil, size, false, nil
}

func tailOf(path string, n int) (lines [][]byte, torn bool, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, 0, fmt.Errorf("chain: open: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, 0, err
	}
	lines, torn, err = lastLines(f, n)
	return lines, torn, fi.Size(), err
}

func (l *Log) recoverKeyed() error {
	last, _, size, any, err := l.lastRecord()
	if err != nil {
		return err
	}
	l.size = size
	if any && !last.Keyed {
		return ErrUnkeyed
	}
	h, err := readHead(l.o.HeadPath, l.mac)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !any:
		// A new chain.
		l.chainID, l.first = newChainID(), 1
		l.prevLine = l.chainID
		l.headMu.Lock()
		defer l.headMu.Unlock()
		return l.writeHeadLocked(Head{Chain: l.chainID, First: 1, Seq: 0, MAC: l.chainID}, l.mac)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: the audit files hold %d records but there is no head file (%s): it was deleted, or the key directory is not the one this chain was written with", ErrHead, last.Seq, l.o.HeadPath)
	case err != nil:
		return err
	}
	if !any {
		if h.Seq > 0 {
			return fmt.Errorf("%w: the head says the chain holds %d records, but the audit files are empty or missing: they were emptied or removed", ErrHead, h.Seq)
		}
		l.chainID, l.first, l.prevLine = h.Chain, h.First, h.Chain
		l.headWritten = h
		return nil
	}
	if last.Seq < h.Seq {
		return fmt.Errorf("%w: the head says the chain holds %d records, but the audit files end at record %d: the tail was cut, or an older copy was put in place", ErrHead, h.Seq, last.Seq)
	}
	// Check from the head's record to the last one.
	if err := l.checkTail(h, last.Seq); err != nil {
		return err
	}
	l.chainID, l.first = h.Chain, h.First
	l.seq, l.prevLine, l.head = last.Seq, last.Hash, last.Hash
	l.headWritten = h
	return nil
}

// checkTail verifies the records from the head's (h.Seq) to lastSeq: the
// head's carries the head's MAC (or, when the head's is in a rotated file
// or is seq 0, the next one's prev is the head's MAC), every later one
// chains to the one before and its MAC verifies.
func (l *Log) checkTail(h Head, lastSeq int64) error {
	want := lastSeq - h.Seq + 1
	var recs []Record
	// The tail may span the current file and the rotated ones.
	for _, p := range reverse(chainFiles(l.path)) {
		lines, torn, _, err := tailOf(p, int(want)-len(recs))
		if err != nil {
			return err
		}
		if torn {
			return ErrTruncated
		}
		batch := make([]Record, 0, len(lines))
		for _, line := range lines {
			rec, err := parseLine(line)
			if err != nil {
				return ErrCorrupt
			}
			batch = append(batch, rec)
		}
		recs = append(batch, recs...)
		if int64(len(recs)) >= want {
			break
		}
	}
	prev := ""
	for i, rec := range recs {
		switch {
		case !rec.Keyed:
			return ErrUnkeyed
		case rec.Hash != l.mac.record(rec.Seq, rec.Prev, rec.Event):
			return fmt.Errorf("%w: record %d's MAC does not verify under the audit key (edited, or written with another key)", ErrHead, rec.Seq)
		case i == 0 && rec.Seq == h.Seq && rec.Hash != h.MAC:
			return fmt.Errorf("%w: record %d is not the one the head names: the chain was rewritten or replaced", ErrHead, rec.Seq)
		case i == 0 && rec.Seq == h.Seq+1 && rec.Prev != h.MAC:
			return fmt.Errorf("%w: record %d does not follow the head: the chain was rewritten or replaced", ErrHead, rec.Seq)
		case i == 0 && rec.Seq != h.Seq && rec.Seq != h.Seq+1:
			return fmt.Errorf("%w: the records the head names are missing", ErrHead)
		case i > 0 && (rec.Seq != recs[i-1].Seq+1 || rec.Prev != prev):
			return fmt.Errorf("%w: record %d does not follow record %d", ErrHead, rec.Seq, recs[i-1].Seq)
		}
		prev = rec.Hash
	}
	return nil
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// Append adds ev (an audit.Event or an audit.Refusals summary) as the next
// record. The line is written before Append returns; it is synced to disk
// within about 200 ms (see the package doc).
func (l *Log) Append(ev audit.Entry) error {
	event, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("chain: encode event: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.err != nil {
		return l.err
	}
	rec := Record{Seq: l.seq + 1, Prev: l.prevLine, Event: event, Keyed: l.mac != nil}
	if rec.Keyed {
		rec.Hash = l.mac.record(rec.Seq, rec.Prev, rec.Event)
	} else {
		rec.Hash = recordHash(rec.Seq, rec.Prev, rec.Event)
	}
	line := append(appendLine(l.buf[:0], rec), '\n')
	l.buf = line
	if l.o.MaxBytes > 0 && l.size > 0 && l.size+int64(len(line)) > l.o.MaxBytes {
		if err := l.rotate(); err != nil {
			l.err = err
			return err
		}
	}
	if _, err := l.f.Write(line); err != nil {
		// Part of the line may be on disk: the chain cannot go on safely.
		l.err = fmt.Errorf("chain: append: %w", err)
		return l.err
	}
	l.size += int64(len(line))
	l.seq, l.head = rec.Seq, rec.Hash
	if rec.Keyed {
		l.prevLine = rec.Hash
	} else {
		l.prevLine = lineHash(line[:len(line)-1])
	}
	select {
	case l.kick <- struct{}{}:
	default: // a sync is already due
	}
	return nil
}

// rotate, under mu: sync and close the current file, shift the rotated
// ones up (deleting the oldest beyond Keep), start a new current file and
// write the head. The chain runs on: the new file's first record follows
// the old file's last.
func (l *Log) rotate() error {
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("chain: rotate: %w", err)
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("chain: rotate: %w", err)
	}
	keep := max(l.o.Keep, 1)
	if err := os.Remove(RotatedPath(l.path, keep)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("chain: rotate: %w", err)
	}
	for i := keep - 1; i >= 0; i-- {
		err := os.Rename(RotatedPath(l.path, i), RotatedPath(l.path, i+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("chain: rotate: %w", err)
		}
	}
	if l.mac != nil {
		// The oldest file kept now starts the retained chain.
		files := chainFiles(l.path)
		if len(files) > 0 {
			if first, ok := firstSeq(files[0]); ok {
				l.first = first
			}
		}
	}
	f, err := openLocked(l.path)
	if err != nil {
		return fmt.Errorf("chain: rotate: %w", err)
	}
	l.f, l.size = f, 0
	if l.mac != nil {
		l.headMu.Lock()
		defer l.headMu.Unlock()
		if err := l.writeHeadLocked(Head{Chain: l.chainID, First: l.first, Seq: l.seq, MAC: l.prevLine}, l.mac); err != nil {
			return err
		}
	}
	return nil
}

// firstSeq reads the seq of the first record of the file at path.
func firstSeq(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	line, complete, err := readLine(newReader(f))
	if err != nil || !complete {
		return 0, false
	}
	rec, err := parseLine(line)
	if err != nil {
		return 0, false
	}
	return rec.Seq, true
}

// writeHeadLocked writes h unless a newer head is already written; headMu
// is held.
func (l *Log) writeHeadLocked(h Head, m *macer) error {
	if l.headWritten.Chain != "" && h.Seq < l.headWritten.Seq {
		return nil
	}
	if err := writeHead(l.o.HeadPath, h, m); err != nil {
		l.headErr = err
		return err
	}
	l.headWritten, l.headErr = h, nil
	return nil
}

// updateHead writes the head for what is on disk now. It runs after a
// sync, outside mu but for a snapshot.
func (l *Log) updateHead() error {
	l.mu.Lock()
	h := Head{Chain: l.chainID, First: l.first, Seq: l.seq, MAC: l.prevLine}
	l.mu.Unlock()
	l.headMu.Lock()
	defer l.headMu.Unlock()
	if h == l.headWritten {
		return nil
	}
	return l.writeHeadLocked(h, l.headMac)
}

// Head returns the seq and hash (or MAC) of the last record: (0, "") for
// an empty file.
func (l *Log) Head() (seq int64, hash string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.head
}

// ChainState is what /audit shows of a chain.
type ChainState struct {
	Keyed    bool   `json:"keyed"`
	Anchored bool   `json:"anchored"`
	Records  int64  `json:"records"`
	First    int64  `json:"first_kept,omitempty"`
	Head     string `json:"head"`
	// HeadSeq is the record the head file names now; it trails Records by
	// the appends of the last fraction of a second.
	HeadSeq   int64  `json:"head_file_seq"`
	HeadError string `json:"head_error,omitempty"`
	Rotation  struct {
		MaxBytes int64 `json:"max_bytes"`
		Keep     int   `json:"keep"`
	} `json:"rotation"`
}

// State reports the chain's state.
func (l *Log) State() ChainState {
	l.mu.Lock()
	st := ChainState{Keyed: l.mac != nil, Records: l.seq, First: l.first, Head: l.head}
	st.Rotation.MaxBytes, st.Rotation.Keep = l.o.MaxBytes, l.o.Keep
	l.mu.Unlock()
	l.headMu.Lock()
	st.HeadSeq = l.headWritten.Seq
	st.Anchored = st.Keyed && l.headWritten.Chain != "" && l.headErr == nil
	if l.headErr != nil {
		st.HeadError = "the head file could not be written"
	}
	l.headMu.Unlock()
	return st
}

// Close syncs and closes the file, and writes the head a last time.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()

	close(l.done)
	<-l.loopDone
	serr := l.syncFile()
	var herr error
	if serr == nil && l.mac != nil {
		herr = l.updateHead()
	}
	cerr := l.f.Close() // also drops the lock
	if err := errors.Join(serr, herr, cerr); err != nil {
		return fmt.Errorf("chain: close: %w", err)
	}
	return nil
}

// syncLoop fsyncs after appends, at most once per syncInterval, and then
// brings a keyed chain's head up to date.
func (l *Log) syncLoop() {
	defer close(l.loopDone)
	t := time.NewTimer(syncInterval)
	t.Stop()
	for {
		select {
		case <-l.kick:
		case <-l.done:
			return
		}
		t.Reset(syncInterval)
		select {
		case <-t.C:
		case <-l.done:
			t.Stop()
			return // Close syncs
		}
		// This sync covers every append so far; forget their kicks.
		select {
		case <-l.kick:
		default:
		}
		if err := l.syncFile(); err != nil {
			l.mu.Lock()
			if l.err == nil {
				l.err = fmt.Errorf("chain: sync: %w", err)
			}
			l.mu.Unlock()
			continue
		}
		if l.mac != nil {
			// A failed head write is retried after the next sync; State
			// reports it meanwhile.
			_ = l.updateHead()
		}
	}
}
