package weights

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"
)

// Status is the outcome of verifying one model.
type Status uint8

const (
	StatusOK       Status = iota + 1 // the hash matches (or was pinned now)
	StatusMismatch                   // the file is not what it should be: never served
	StatusError                      // the file could not be read
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusMismatch:
		return "mismatch"
	case StatusError:
		return "error"
	}
	return "unknown"
}

// Trust says where the expected hash came from.
type Trust uint8

const (
	TrustConfig   Trust = iota + 1 // sha256 in the configuration
	TrustOllama                    // the Ollama blob's name
	TrustPinned                    // the pinned record of an earlier start
	TrustFirstUse                  // nothing to compare with: pinned now (trust on first use)
)

func (t Trust) String() string {
	switch t {
	case TrustConfig:
		return "config"
	case TrustOllama:
		return "ollama-digest"
	case TrustPinned:
		return "pinned"
	case TrustFirstUse:
		return "first-use"
	}
	return "unknown"
}

// Result is the outcome for one model. For StatusOK, Model.File is the open
// descriptor that was hashed.
type Result struct {
	Model    Model
	Status   Status
	Trust    Trust
	SHA256   string // what the file hashed to ("" on StatusError)
	Bytes    int64
	Duration time.Duration
	Err      error // why, for StatusMismatch and StatusError; names the file only
}

// Options tune Verify.
type Options struct {
	// StateDir holds the pinned record (PinFile) for configured models
	// without a sha256. "" disables pinning: such models are refused.
	StateDir string
	// Progress receives a progress bar when it is a terminal and the files
	// are large; otherwise nothing is written to it.
	Progress io.Writer
}

// ErrMismatch is wrapped by the Err of every StatusMismatch result.
var ErrMismatch = errors.New("weights: SHA-256 mismatch")

// hashBuf is the read size: large reads keep the hash, not the syscalls,
// the bottleneck.
const hashBuf = 4 << 20

// Verify hashes every model's file, in parallel across files (at most
// GOMAXPROCS at once), and compares each with its expected hash. It returns
// one Result per model, in order.
func Verify(models []Model, o Options) []Result {
	results := make([]Result, len(models))
	var pins *pinStore
	if o.StateDir != "" {
		pins = loadPins(o.StateDir)
	}
	bar := newProgress(o.Progress, models)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, m := range models {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = verifyOne(m, bar)
		})
	}
	wg.Wait()
	bar.finish()
	for i := range results {
		settle(&results[i], pins)
	}
	if pins != nil && pins.dirty {
		if err := pins.save(); err != nil {
			// The files were verified; only the record failed. Say so on
			// each first-use result rather than pretend it was pinned.
			for i := range results {
				if results[i].Trust == TrustFirstUse {
					results[i].Err = fmt.Errorf("weights: could not write the pinned record: %w", err)
				}
			}
		}
	}
	return results
}

// Verified returns the models of results that verified.
func Verified(results []Result) []Model {
	var out []Model
	for _, r := range results {
		if r.Status == StatusOK {
			out = append(out, r.Model)
		}
	}
	return out
}

func verifyOne(m Model, bar *progress) Result {
	start := time.Now()
	r := Result{Model: m}
	f, err := os.Open(m.Path)
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil && !st.Mode().IsRegular() {
			err = errors.New("not a regular file")
		}
	}
	var sum [32]byte
	if err == nil {
		sum, r.Bytes, err = hashFile(f, bar)
	}
	r.Duration = time.Since(start)
	if err != nil {
		if f != nil {
			f.Close()
		}
		r.Status, r.Err = StatusError, fmt.Errorf("weights: %s: %w", m.Path, err)
		return r
	}
	r.SHA256 = hex.EncodeToString(sum[:])
	r.Model.File = f
	return r
}

// settle compares r's hash with the expected one (from the model, or the
// pinned record) and decides r's status. Only a mismatch closes the file.
func settle(r *Result, pins *pinStore) {
	if r.Status == StatusError {
		return
	}
	want := r.Model.SHA256
	switch {
	case want != "" && r.Model.Source == SourceOllama:
		r.Trust = TrustOllama
	case want != "":
		r.Trust = TrustConfig
	case pins == nil:
		r.Model.File.Close()
		r.Model.File = nil
		r.Status, r.Err = StatusError, fmt.Errorf("weights: %s: no sha256 configured and no state dir to pin one", r.Model.Path)
		return
	default:
		if pinned, ok := pins.get(r.Model.Path); ok {
			want, r.Trust = pinned, TrustPinned
		} else {
			pins.set(r.Model.Path, r.SHA256, r.Bytes)
			want, r.Trust = r.SHA256, TrustFirstUse
		}
	}
	if want != r.SHA256 {
		r.Model.File.Close()
		r.Model.File = nil
		r.Status, r.Err = StatusMismatch, fmt.Errorf("%w: %s (expected from %s)", ErrMismatch, r.Model.Path, r.Trust)
		return
	}
	r.Model.SHA256 = r.SHA256
	r.Status = StatusOK
}

// hashFile hashes f from offset 0 with ReadAt, leaving f's offset alone,
// and reports progress as it goes.
func hashFile(f *os.File, bar *progress) ([32]byte, int64, error) {
	h := sha256.New()
	buf := make([]byte, hashBuf)
	var off int64
	for {
		n, err := f.ReadAt(buf, off)
		if n > 0 {
			h.Write(buf[:n])
			off += int64(n)
			bar.add(int64(n))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return [32]byte{}, off, err
		}
	}
	return [32]byte(h.Sum(nil)), off, nil
}
