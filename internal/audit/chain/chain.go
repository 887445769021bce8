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
)

// Log appends events to one chained file. It is safe for concurrent use.
type Log struct {
	mu       sync.Mutex
	f        *os.File
	seq      int64  // seq of the last record, 0 when none
	prevLine string // lineHash of the last line: the next record's prev
	head     string // hash field of the last record
	buf      []byte // reused line buffer
	err      error  // sticky: once a write or sync failed, the head is unsure
	closed   bool

	kick     chan struct{} // an append happened; capacity 1
	done     chan struct{} // closed by Close
	loopDone chan struct{} // closed when the sync goroutine returns
	syncFile func() error  // f.Sync, replaceable in tests
}

// Open opens or creates the audit file at path (mode 0600) for appending and
// recovers the chain's head from its last record. It does not verify the
// rest of the file; [Verify] does.
func Open(path string) (*Log, error) {
	return open(path, nil)
}

func open(path string, syncFn func() error) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("chain: open: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	l := &Log{
		f:        f,
		prevLine: genesisPrev,
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
		syncFile: syncFn,
	}
	if l.syncFile == nil {
		l.syncFile = f.Sync
	}
	if err := l.recover(path); err != nil {
		f.Close()
		return nil, err
	}
	go l.syncLoop()
	return l, nil
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
	if err != nil || rec.Hash != recordHash(rec.Seq, rec.Prev, rec.Event) {
		return ErrCorrupt
	}
	l.seq, l.prevLine, l.head = rec.Seq, lineHash(lines[0]), rec.Hash
	return nil
}

// Append adds ev as the next record. The line is written before Append
// returns; it is synced to disk within about 200 ms (see the package doc).
func (l *Log) Append(ev audit.Event) error {
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
	rec := Record{Seq: l.seq + 1, Prev: l.prevLine, Event: event}
	rec.Hash = recordHash(rec.Seq, rec.Prev, rec.Event)
	line := append(appendLine(l.buf[:0], rec), '\n')
	l.buf = line
	if _, err := l.f.Write(line); err != nil {
		// Part of the line may be on disk: the chain cannot go on safely.
		l.err = fmt.Errorf("chain: append: %w", err)
		return l.err
	}
	l.seq, l.prevLine, l.head = rec.Seq, lineHash(line[:len(line)-1]), rec.Hash
	select {
	case l.kick <- struct{}{}:
	default: // a sync is already due
	}
	return nil
}

// Head returns the seq and hash of the last record: (0, "") for an empty
// file. Pinning it elsewhere lets a later Verify detect truncation too.
func (l *Log) Head() (seq int64, hash string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.head
}

// Close syncs and closes the file.
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
	cerr := l.f.Close() // also drops the lock
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("chain: close: %w", err)
	}
	return nil
}

// syncLoop fsyncs after appends, at most once per syncInterval.
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
		}
	}
}
