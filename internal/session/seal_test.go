package session

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"unsafe"
)

func TestSealOpen(t *testing.T) {
	key := randomBytes(32)
	sl, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.wipe()
	plain := bytes.Repeat([]byte("canary-7d1f "), 100)
	sealed := sl.seal(3, plain)
	if len(sealed) != len(plain)+Overhead || cap(sealed) != len(sealed) {
		t.Fatalf("sealed len %d cap %d, want exactly %d", len(sealed), cap(sealed), len(plain)+Overhead)
	}
	// No 8-byte window of the plaintext survives.
	for i := 0; i+8 <= len(plain); i += 8 {
		if bytes.Contains(sealed, plain[i:i+8]) {
			t.Fatalf("ciphertext contains plaintext at %d", i)
		}
	}
	if again := sl.seal(3, plain); bytes.Equal(again[:nonceSize], sealed[:nonceSize]) {
		t.Fatal("two seals reused a nonce")
	}
	got, err := sl.open(3, sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %v", err)
	}
	if _, err := sl.open(4, sealed); !errors.Is(err, ErrCorrupt) {
		t.Errorf("open at another position: %v, want ErrCorrupt", err)
	}
	flipped := bytes.Clone(sealed)
	flipped[nonceSize+5] ^= 1
	if _, err := sl.open(3, flipped); !errors.Is(err, ErrCorrupt) {
		t.Errorf("open of a tampered message: %v, want ErrCorrupt", err)
	}
	other, _ := newSealer(randomBytes(32))
	defer other.wipe()
	if _, err := other.open(3, sealed); !errors.Is(err, ErrCorrupt) {
		t.Errorf("open under another key: %v, want ErrCorrupt", err)
	}
	if _, err := sl.open(0, sealed[:Overhead-1]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("open of a short buffer: %v, want ErrCorrupt", err)
	}
}

// pointeeBytes views the struct an interface's pointer refers to.
func pointeeBytes(v any) []byte {
	rv := reflect.ValueOf(v)
	return unsafe.Slice((*byte)(rv.UnsafePointer()), rv.Type().Elem().Size())
}

// The expanded AES key and the GHASH table are heap memory derived from the
// key; wipe must zero them.
func TestSealerWipeZeroesKeySchedule(t *testing.T) {
	sl, err := newSealer(randomBytes(32))
	if err != nil {
		t.Fatal(err)
	}
	block, aead := pointeeBytes(sl.block), pointeeBytes(sl.aead)
	if allZero(block) || allZero(aead) {
		t.Fatal("cipher state already zero before wipe: the test would prove nothing")
	}
	sl.wipe()
	if !allZero(block) {
		t.Error("AES key schedule not zeroed")
	}
	if !allZero(aead) {
		t.Error("GCM state (round keys, GHASH table) not zeroed")
	}
}

func TestIDHashIsHMACSHA256(t *testing.T) {
	key := randomBytes(32)
	for _, id := range []string{"a", "session-42", string(bytes.Repeat([]byte("z"), MaxIDLen))} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		want := m.Sum(nil)
		got := hmacSHA256(key, []byte(id))
		if !bytes.Equal(got[:], want) {
			t.Fatalf("hmacSHA256(%d-byte message) differs from crypto/hmac", len(id))
		}
	}
	if a, b := hmacSHA256(key, []byte("x")), hmacSHA256(randomBytes(32), []byte("x")); a == b {
		t.Fatal("the hash does not depend on the key")
	}
}

// TestKeyedHashFramesItsParts: the length prefixes keep tuples apart that
// plain concatenation would merge, and the domains keep the map key, the
// owner key and the backend name apart.
func TestKeyedHashFramesItsParts(t *testing.T) {
	key := randomBytes(32)
	seen := map[[sha256.Size]byte]string{}
	for _, c := range []struct {
		d     byte
		parts []string
	}{
		{domainSession, []string{"ab", "c"}},
		{domainSession, []string{"a", "bc"}},
		{domainSession, []string{"abc", ""}},
		{domainSession, []string{"", "abc"}},
		{domainSession, []string{"a\x01b", "c"}},
		{domainScope, []string{"ab", "c"}},
		{domainOwner, []string{"ab"}},
		{domainOwner, []string{"abc"}},
	} {
		h := keyedHash(key, c.d, c.parts...)
		name := string(c.d) + fmt.Sprintf("%q", c.parts)
		if prev, dup := seen[h]; dup {
			t.Fatalf("%s and %s hash alike", prev, name)
		}
		seen[h] = name
	}
	// And it is the HMAC of exactly the framed message.
	want := hmacSHA256(key, []byte{domainSession, 2, 'a', 'b', 1, 'c'})
	if got := keyedHash(key, domainSession, "ab", "c"); got != want {
		t.Fatal("keyedHash is not HMAC over domain, uvarint length, part, ...")
	}
}
