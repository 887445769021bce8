package audit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/inference-relay/relay/internal/memlock"
)

// Key names in a KeySource.
const (
	// AuditKeyName is the key of the audit chain's record MACs and head.
	AuditKeyName = "audit.key"
	// SessionKeyName is the key of session-id hashes ([Keyer]).
	SessionKeyName = "session.key"
	// HeadName is the audit chain's head file, kept beside the keys.
	HeadName = "audit.head"
)

// KeySource is where the relay's secret keys come from. FileKeys reads
// 0400 files in a private directory; an OS keyring can take its place.
type KeySource interface {
	// Load fills dst (32 bytes) with the named key. When the key does not
	// exist and create is true, a random one is made and stored first.
	// The key's bytes go straight into dst; the source keeps no copy.
	Load(name string, create bool, dst []byte) error
	// Where names the key's location for messages (a path, never a
	// value).
	Where(name string) string
}

// ErrKeyFile is returned when a key file exists but cannot be trusted: it
// has the wrong size, is not a regular file, or is readable by others.
var ErrKeyFile = errors.New("audit: key file is malformed or not private")

// ErrKeyDir is returned when the key directory is open to other users.
var ErrKeyDir = errors.New("audit: key directory is accessible to other users")

// FileKeys keeps keys as 32-byte files, mode 0400, in Dir, a directory of
// mode 0700 created on first use. Dir must not be the state directory:
// whoever may read the audit file must not read its key.
type FileKeys struct{ Dir string }

// Where implements KeySource.
func (k FileKeys) Where(name string) string { return filepath.Join(k.Dir, name) }

// Load implements KeySource.
func (k FileKeys) Load(name string, create bool, dst []byte) error {
	if len(dst) != keySize {
		return fmt.Errorf("audit: key buffer must be %d bytes", keySize)
	}
	if create {
		if err := os.MkdirAll(k.Dir, 0o700); err != nil {
			return fmt.Errorf("audit: key directory: %w", err)
		}
	}
	if err := checkPrivateDir(k.Dir); err != nil {
		return err
	}
	path := k.Where(name)
	err := readKeyFile(path, dst)
	if !create || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := createKeyFile(k.Dir, path); err != nil {
		return err
	}
	return readKeyFile(path, dst)
}

func checkPrivateDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("audit: key directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("audit: key directory %s is not a directory", dir)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %v; run: chmod 700 %s", ErrKeyDir, dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// readKeyFile reads the key at path straight into dst.
func readKeyFile(path string, dst []byte) error {
	if fi, err := os.Lstat(path); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return ErrKeyFile // a link could point anywhere
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	// Windows has no Unix permission bits to check.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return ErrKeyFile
	}
	if !fi.Mode().IsRegular() || fi.Size() != keySize {
		return ErrKeyFile
	}
	if _, err := f.ReadAt(dst, 0); err != nil {
		return fmt.Errorf("audit: read key: %w", err)
	}
	return nil
}

// createKeyFile writes a fresh random key, mode 0400, atomically: into a
// temporary file in dir, synced, then hard-linked into place. Link fails
// rather than overwrite, so when two processes race, both end up with the
// key that landed first.
func createKeyFile(dir, path string) error {
	var key [keySize]byte
	_, _ = rand.Read(key[:])
	defer clear(key[:])

	tmp, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return fmt.Errorf("audit: create key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(key[:])
	serr := tmp.Sync()
	if err := tmp.Chmod(0o400); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("audit: create key: %w", err)
	}
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

// Keyring holds loaded keys in a memlock arena: locked out of swap, out of
// core dumps, zeroed on Close.
type Keyring struct {
	src   KeySource
	arena *memlock.Arena
}

// NewKeyring returns a keyring over src.
func NewKeyring(src KeySource) (*Keyring, error) {
	a, err := memlock.NewArena(4)
	if err != nil {
		return nil, fmt.Errorf("audit: key memory: %w", err)
	}
	return &Keyring{src: src, arena: a}, nil
}

// Source is where the keys come from.
func (k *Keyring) Source() KeySource { return k.src }

// Key loads the named key into a locked slot (see KeySource.Load).
func (k *Keyring) Key(name string, create bool) (*memlock.Key, error) {
	slot, err := k.arena.Alloc()
	if err != nil {
		return nil, fmt.Errorf("audit: key memory: %w", err)
	}
	if err := k.src.Load(name, create, slot.Bytes()); err != nil {
		slot.Free()
		return nil, err
	}
	return slot, nil
}

// Status is what the kernel granted the keyring's memory.
func (k *Keyring) Status() memlock.ArenaStatus { return k.arena.Status() }

// Close zeroes and unmaps every key.
func (k *Keyring) Close() error { return k.arena.Close() }
