package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"

	"github.com/inference-relay/relay/internal/memlock"
)

// LegacyKeyFile is where older relays kept the session-id key: in the
// state dir, beside the audit file. The relay removes it at start (see
// relay.New): anyone who could read the state dir could test guessed
// session ids with it.
const LegacyKeyFile = "audit-hmac.key"

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

// Keyer computes keyed hashes under the session-id key. It is safe for
// concurrent use. The key lives in a [Keyring]'s locked memory.
type Keyer struct {
	key  *memlock.Key // nil for a Keyer not made by NewKeyer/OpenKeyer: it hashes nothing
	ring *Keyring     // owned (closed by Close) when OpenKeyer made it
}

// NewKeyer loads the session-id key ([SessionKeyName]) from kr, creating it
// when absent.
func NewKeyer(kr *Keyring) (*Keyer, error) {
	key, err := kr.Key(SessionKeyName, true)
	if err != nil {
		return nil, err
	}
	return &Keyer{key: key}, nil
}

// OpenKeyer loads the session-id key from the key directory dir (a
// [FileKeys]), creating dir (0700) and the key (0400) when absent.
func OpenKeyer(dir string) (*Keyer, error) {
	kr, err := NewKeyring(FileKeys{Dir: dir})
	if err != nil {
		return nil, err
	}
	k, err := NewKeyer(kr)
	if err != nil {
		kr.Close()
		return nil, err
	}
	k.ring = kr
	return k, nil
}

// Close forgets the key (a Keyer made by OpenKeyer zeroes its memory).
// Hash returns the zero KeyedHash after.
func (k *Keyer) Close() error {
	if k == nil || k.key == nil {
		return nil
	}
	k.key.Free()
	if k.ring != nil {
		return k.ring.Close()
	}
	return nil
}

// Hash returns the keyed hash of b. An empty b (no session) gives the zero
// KeyedHash, and so does a Keyer without a key.
func (k *Keyer) Hash(b []byte) KeyedHash {
	if k == nil || k.key == nil || len(b) == 0 {
		return KeyedHash{}
	}
	key := k.key.Bytes()
	if key == nil {
		return KeyedHash{}
	}
	m := hmac.New(sha256.New, key)
	m.Write(b)
	var h KeyedHash
	copy(h.sum[:], m.Sum(nil))
	h.set = true
	return h
}
