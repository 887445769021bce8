package sandbox

import (
	"bytes"
	"testing"
)

func TestRingKeepsTail(t *testing.T) {
	var all []byte
	r := newRing(10)
	writes := []string{"abc", "defg", "", "hij", "k", "lmnopqrstuvwxyz0123", "45", "6789ABCDEF"}
	for _, w := range writes {
		n, err := r.Write([]byte(w))
		if n != len(w) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
		all = append(all, w...)
		want := all
		if len(want) > 10 {
			want = want[len(want)-10:]
		}
		if got := r.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("after %q: Bytes = %q, want %q", w, got, want)
		}
	}
}

func TestRingByteAtATime(t *testing.T) {
	r := newRing(7)
	var all []byte
	for i := 0; i < 50; i++ {
		b := []byte{byte('a' + i%26)}
		r.Write(b)
		all = append(all, b...)
		want := all[max(0, len(all)-7):]
		if got := r.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("after %d bytes: %q, want %q", i+1, got, want)
		}
	}
}

func TestRingReturnsCopy(t *testing.T) {
	r := newRing(4)
	r.Write([]byte("abcd"))
	b := r.Bytes()
	b[0] = 'X'
	if got := r.Bytes(); string(got) != "abcd" {
		t.Errorf("caller's edit reached the ring: %q", got)
	}
}
