package session

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// MaxIDLen bounds a session id: ids are names, not payloads.
const MaxIDLen = 128

// IDRule is the session id rule in words, for error messages and docs:
// exactly what [ValidID] accepts.
const IDRule = "1-128 characters, each a printable ASCII character other than space " +
	"(letters, digits and punctuation such as - _ . : @ /; no spaces, control characters or non-ASCII)"

// ValidID reports whether id is a valid session id: 1 to [MaxIDLen]
// bytes, each in 0x21-0x7E (printable ASCII, space excluded). Space is
// excluded because net/http trims it from the ends of a header value, so
// the same id would name different sessions in the body and the header.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// Domains separate the keyed hashes made under the store's one key.
const (
	domainSession byte = 's' // map key of a session: (owner, id)
	domainOwner   byte = 'o' // map key of an owner's usage: owner
	domainScope   byte = 'p' // name handed to backends: (owner, id)
)

// keyedHash is HMAC-SHA256 over the domain byte and each part, every part
// preceded by its length (uvarint), so that no two tuples share an input:
// ("ab", "c") and ("a", "bc") hash apart.
func keyedHash(key []byte, domain byte, parts ...string) [sha256.Size]byte {
	n := 1
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	msg := make([]byte, 1, n)
	msg[0] = domain
	for _, p := range parts {
		msg = binary.AppendUvarint(msg, uint64(len(p)))
		msg = append(msg, p...)
	}
	h := hmacSHA256(key, msg)
	clear(msg)
	return h
}

// hmacSHA256 is HMAC-SHA256(key, msg) (RFC 2104), computed by hand so that
// the padded key exists only in buffers this function zeroes: crypto/hmac
// would keep key⊕ipad and key⊕opad in heap buffers it never clears.
func hmacSHA256(key, msg []byte) [sha256.Size]byte {
	const block = sha256.BlockSize
	inner := make([]byte, block+len(msg))
	copy(inner, key)
	for i := range block {
		inner[i] ^= 0x36
	}
	copy(inner[block:], msg)
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
