package provider

import (
	"errors"
	"io"
	"testing"
)

func TestWipingBody(t *testing.T) {
	b := []byte("secret body")
	w := NewWipingBody(b)
	if w.Len() != int64(len(b)) {
		t.Fatalf("Len = %d", w.Len())
	}
	got, err := io.ReadAll(w)
	if err != nil || string(got) != "secret body" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if n, err := w.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("Read at the end = %d, %v; want 0, EOF", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d not zeroed after Close", i)
		}
	}
	if _, err := w.Read(make([]byte, 4)); !errors.Is(err, ErrBodyWiped) {
		t.Fatalf("Read after Close = %v, want ErrBodyWiped", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	// Closed before it was read: nothing is ever returned.
	w = NewWipingBody([]byte("unsent"))
	w.Close()
	if n, err := w.Read(make([]byte, 8)); n != 0 || !errors.Is(err, ErrBodyWiped) {
		t.Fatalf("Read of a body closed unread = %d, %v", n, err)
	}
}
