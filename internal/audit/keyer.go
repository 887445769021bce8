package audit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
)

// KeyFile is the name of the per-install key file inside the state dir.
const KeyFile = "audit-hmac.key"

const (
	keySize     = 32
	hashSize    = 16 // bytes of the HMAC kept: 128 bits is ample to correlate
	hashPrefix  = "hmac-sha256:"
	prefixChars = 8
)

// KeyedHash is an HMAC-SHA256, truncated to 16 bytes, of a value under the
// per-install key: records about the same session can be correlated, but the
// session name cannot be recovered without the key. Only a [Keyer] makes one.
// The zero value means "none".
type KeyedHash struct {
	sum [hashSize]byte
	set bool
}

// String renders "hmac-sha256:" and 32 hex digits, or "" for the zero value.
func (h KeyedHash) String() string {
	if !h.set {
		return ""
	}
	return hashPrefix + hex.EncodeToString(h.sum[:])
}

// Prefix returns the first 8 hex digits, enough to tell sessions apart in a
// wipe log without being a stable handle; "" for the zero value.
func (h KeyedHash) Prefix() string {
	if !h.set {
		return ""
	}
	return hex.EncodeToString(h.sum[:prefixChars/2])
}

// IsZero reports whether h is the zero value (no session).
func (h KeyedHash) IsZero() bool { return !h.set }

// MarshalText encodes [KeyedHash.String].
func (h KeyedHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// LogValue logs [KeyedHash.String].
func (h KeyedHash) LogValue() slog.Value { return slog.StringValue(h.String()) }

// Keyer computes keyed hashes under the per-install key. It is immutable
// and safe for concurrent use.
type Keyer struct {
	key    [keySize]byte
	loaded bool // false for a Keyer not made by OpenKeyer: it hashes nothing
}

// ErrKeyFile is returned when the key file exists but cannot be trusted: it
// has the wrong size, or is readable by others.
var ErrKeyFile = errors.New("audit: key file is malformed or not private")

// OpenKeyer loads the key from dir/[KeyFile], creating dir (0700) and the
// file (0600) with 32 fresh random bytes when it does not exist.
//
// Creation is atomic: the key is written and synced to a temporary file in
// dir, then hard-linked into place. Link fails rather than overwrite, so when
// two processes race, both end up with the key that landed first.
func OpenKeyer(dir string) (*Keyer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: state dir: %w", err)
	}
	path := filepath.Join(dir, KeyFile)
	k, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := createKey(dir, path); err != nil {
		return nil, err
	}
	return loadKey(path)
}

func loadKey(path string) (*Keyer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// Windows has no Unix permission bits to check.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, ErrKeyFile
	}
	if !fi.Mode().IsRegular() || fi.Size() != keySize {
		return nil, ErrKeyFile
	}
	k := new(Keyer)
	if _, err := f.ReadAt(k.key[:], 0); err != nil {
		return nil, fmt.Errorf("audit: read key: %w", err)
	}
	k.loaded = true
	return k, nil
}

func createKey(dir, path string) error {
	var key [keySize]byte
	_, _ = rand.Read(key[:])
	defer clear(key[:])

	tmp, err := os.CreateTemp(dir, ".audit-key-*")
	if err != nil {
		return fmt.Errorf("audit: create key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("audit: create key: %w", err)
	}
	_, werr := tmp.Write(key[:])
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("audit: create key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another process won the race; use its key
		}
		return fmt.Errorf("audit: create key: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes the new directory entry durable. Best effort: not every
// platform can fsync a directory, and the key is already safe in its inode.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Hash returns the keyed hash of b. An empty b (no session) gives the zero
// KeyedHash, and so does a Keyer not made by [OpenKeyer], which has no key.
func (k *Keyer) Hash(b []byte) KeyedHash {
	if k == nil || !k.loaded || len(b) == 0 {
		return KeyedHash{}
	}
	m := hmac.New(sha256.New, k.key[:])
	m.Write(b)
	var h KeyedHash
	copy(h.sum[:], m.Sum(nil))
	h.set = true
	return h
}
