package provider

import (
	"errors"
	"io"
	"sync"
)

// ErrBodyWiped is what a WipingBody's Read returns after Close: the bytes
// are gone, and a transport that reads again must fail rather than send a
// short body.
var ErrBodyWiped = errors.New("provider: request body already wiped")

// WipingBody is an upstream request body that zeroes its bytes when the
// transport closes it (net/http closes a request body once it is sent or
// the request fails), so the encoded request — content — does not outlive
// the send. Reads return the bytes, then io.EOF; after Close, ErrBodyWiped.
// The transport may Close from its own goroutine while Read is in use,
// hence the lock.
type WipingBody struct {
	mu     sync.Mutex
	b      []byte
	off    int
	closed bool
}

// NewWipingBody takes ownership of b.
func NewWipingBody(b []byte) *WipingBody { return &WipingBody{b: b} }

// Len is the body's length, for the request's ContentLength.
func (w *WipingBody) Len() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int64(len(w.b))
}

func (w *WipingBody) Read(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrBodyWiped
	}
	if w.off >= len(w.b) {
		return 0, io.EOF
	}
	n := copy(p, w.b[w.off:])
	w.off += n
	return n, nil
}

// Close zeroes the bytes. It is safe to call more than once.
func (w *WipingBody) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		clear(w.b)
		w.b, w.off = nil, 0
	}
	return nil
}
