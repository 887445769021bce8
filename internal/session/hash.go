package session

import (
	"crypto/sha256"
	"encoding/hex"
)

// MaxIDLen bounds a session id: ids are names, not payloads.
const MaxIDLen = 512

// idHash is HMAC-SHA256(key, id) (RFC 2104), computed by hand so that the
// padded key exists only in buffers this function zeroes: crypto/hmac
// would keep key⊕ipad and key⊕opad in heap buffers it never clears.
func idHash(key []byte, id string) [sha256.Size]byte {
	const block = sha256.BlockSize
	inner := make([]byte, block+len(id))
	copy(inner, key)
	for i := range block {
		inner[i] ^= 0x36
	}
	copy(inner[block:], id)
	ih := sha256.Sum256(inner)
	clear(inner)

	var outer [block + sha256.Size]byte
	copy(outer[:], key)
	for i := range block {
		outer[i] ^= 0x5c
	}
	copy(outer[block:], ih[:])
	sum := sha256.Sum256(outer[:])
	clear(outer[:])
	clear(ih[:])
	return sum
}

// prefix is the 8 hex digits a WipeRecord shows.
func prefix(h *[sha256.Size]byte) string { return hex.EncodeToString(h[:4]) }
