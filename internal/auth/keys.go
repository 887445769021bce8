// Package auth keeps the relay's API keys. A key is shown once, when it is
// created; the store keeps only its SHA-256 (keys are 256-bit random, so a
// fast hash is enough: there is nothing to brute-force). Checking a
// presented key hashes it and compares it against every stored hash in
// constant time and names the key that matched by its id, so that what a
// key makes (its sessions) belongs to that key alone. There is no default
// key.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// KeyPrefix starts every key, so a leaked one is recognisable.
const KeyPrefix = "relay-"

// FileName is the store's file inside the state directory.
const FileName = "keys.json"

// ErrNotFound is returned by Revoke for an unknown id.
var ErrNotFound = errors.New("no key with that id")

// Info describes a stored key; it never holds the key.
type Info struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Hash    string    `json:"hash"` // "sha256:<hex>"
	Created time.Time `json:"created"`
}

// Store is the key file. Safe for concurrent use; it re-reads the file when
// it changes on disk, so keys created or revoked by `relay keys` take effect
// in a running server within a second.
type Store struct {
	path string

	mu      sync.Mutex
	keys    []Info
	sums    [][]byte
	modTime time.Time
	size    int64
	checked time.Time
}

// Open reads (or prepares to create) the store in dir.
func Open(dir string) (*Store, error) {
	s := &Store{path: filepath.Join(dir, FileName)}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

func (s *Store) load() error {
	fi, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		s.keys, s.sums, s.modTime, s.size = nil, nil, time.Time{}, 0
		return nil
	}
	if err != nil {
		return err
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return err
	}
	var keys []Info
	if err := json.Unmarshal(b, &keys); err != nil {
		return fmt.Errorf("key store %s is damaged: %w", s.path, err)
	}
	sums := make([][]byte, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		// A key's id names what it owns (its sessions): two keys must
		// never share one.
		if k.ID == "" || seen[k.ID] {
			return fmt.Errorf("key store %s is damaged: a key id is empty or used twice", s.path)
		}
		seen[k.ID] = true
		sum, err := parseHash(k.Hash)
		if err != nil {
			return fmt.Errorf("key store %s: key %s: %w", s.path, k.ID, err)
		}
		sums = append(sums, sum)
	}
	s.keys, s.sums, s.modTime, s.size = keys, sums, fi.ModTime(), fi.Size()
	return nil
}

func parseHash(h string) ([]byte, error) {
	const p = "sha256:"
	if len(h) != len(p)+64 || h[:len(p)] != p {
		return nil, errors.New("bad hash format")
	}
	return hex.DecodeString(h[len(p):])
}

// refresh re-reads the file if it changed, at most once a second.
func (s *Store) refresh() {
	now := time.Now()
	if now.Sub(s.checked) < time.Second {
		return
	}
	s.checked = now
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.keys, s.sums = nil, nil
	case err != nil:
		// Keep the keys we have: a transient stat failure must not lock
		// everyone out or let anyone in.
	case !fi.ModTime().Equal(s.modTime) || fi.Size() != s.size:
		_ = s.load() // on a damaged file keep the last good keys
	}
}

// Len is the number of keys.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	return len(s.keys)
}

// List returns the stored keys' descriptions.
func (s *Store) List() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	return append([]Info(nil), s.keys...)
}

// Check reports whether presented is a stored key and, if it is, the id of
// the key it matched (ids are unique in the store: see load). It hashes the
// presented key once and compares it with every stored hash, without early
// exit; which entry matched is picked without a branch on the comparison.
func (s *Store) Check(presented []byte) (id string, ok bool) {
	if len(presented) == 0 {
		return "", false
	}
	sum := sha256.Sum256(presented)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	match, idx := 0, 0
	for i, h := range s.sums {
		eq := subtle.ConstantTimeCompare(sum[:], h)
		idx = subtle.ConstantTimeSelect(eq, i, idx)
		match |= eq
	}
	if match != 1 {
		return "", false
	}
	return s.keys[idx].ID, true
}

// Create makes a new key, stores its hash and returns the key (to be shown
// once) and its id.
func (s *Store) Create(name string) (key, id string, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", err
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	clear(raw[:])
	sum := sha256.Sum256([]byte(key))

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return "", "", err
	}
	id = s.newID()
	keys := append(append([]Info(nil), s.keys...), Info{ID: id, Name: name, Hash: "sha256:" + hex.EncodeToString(sum[:]), Created: time.Now().UTC().Truncate(time.Second)})
	if err := s.save(keys); err != nil {
		return "", "", err
	}
	return key, id, nil
}

// newID picks a random 8-hex-digit id no stored key has. Called with s.mu
// held, after load.
func (s *Store) newID() string {
	for {
		var b [4]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		if !slices.ContainsFunc(s.keys, func(k Info) bool { return k.ID == id }) {
			return id
		}
	}
}

// Revoke deletes the key with the given id.
func (s *Store) Revoke(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return err
	}
	var keep []Info
	for _, k := range s.keys {
		if k.ID != id {
			keep = append(keep, k)
		}
	}
	if len(keep) == len(s.keys) {
		return ErrNotFound
	}
	return s.save(keep)
}

// save writes keys atomically (temp file + rename), mode 0600.
func (s *Store) save(keys []Info) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	if keys == nil {
		keys = []Info{}
	}
	b, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(s.path), ".keys-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), s.path); err != nil {
		return err
	}
	return s.load()
}
