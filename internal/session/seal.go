package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"reflect"
)

const (
	nonceSize = 12
	tagSize   = 16
	// Overhead is what sealing adds to each message: nonce and tag.
	Overhead = nonceSize + tagSize
)

// sealer is an AES-256-GCM instance for one operation. crypto/aes expands
// the key into round keys on the heap and crypto/cipher precomputes a GHASH
// table from it; both are key material, so a sealer lives for one Begin or
// Commit and is zeroed afterwards ([sealer.wipe]) instead of being cached.
type sealer struct {
	block cipher.Block
	aead  cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		zeroPointee(block)
		return nil, err
	}
	return &sealer{block: block, aead: aead}, nil
}

// wipe zeroes the expanded key and the GHASH table.
func (s *sealer) wipe() {
	zeroPointee(s.aead)
	zeroPointee(s.block)
	s.aead, s.block = nil, nil
}

// zeroPointee zeroes the struct that an interface's pointer refers to. The
// standard library's AES and GCM types hide their fields; reflect.NewAt
// gives a settable view of the same memory, and SetZero clears it with the
// write barriers the garbage collector needs if it ever held pointers.
func zeroPointee(v any) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Interface {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return
	}
	reflect.NewAt(rv.Type().Elem(), rv.UnsafePointer()).Elem().SetZero()
}

// aad binds a sealed message to its position in the session.
func aad(index int) [8]byte {
	var a [8]byte
	binary.BigEndian.PutUint64(a[:], uint64(index))
	return a
}

// seal returns nonce | ciphertext | tag in one exactly sized buffer.
func (s *sealer) seal(index int, plain []byte) []byte {
	out := make([]byte, nonceSize, Overhead+len(plain))
	rand.Read(out) // never fails (crypto/rand aborts the process instead)
	ad := aad(index)
	return s.aead.Seal(out, out[:nonceSize], plain, ad[:])
}

// open decrypts a sealed message into a fresh buffer.
func (s *sealer) open(index int, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, ErrCorrupt
	}
	plain := make([]byte, 0, len(sealed)-Overhead)
	ad := aad(index)
	plain, err := s.aead.Open(plain, sealed[:nonceSize], sealed[nonceSize:], ad[:])
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}
