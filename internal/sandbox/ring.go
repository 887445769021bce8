package sandbox

import "sync"

// ring keeps the last cap bytes written to it. Writes never fail and never
// block on the reader, which is what lets a child write any amount of
// stderr without stalling on a full pipe.
type ring struct {
	mu   sync.Mutex
	buf  []byte // len(buf) == cap once allocated
	next int    // where the next byte goes
	full bool   // buf has wrapped at least once
}

func newRing(capacity int) *ring { return &ring{buf: make([]byte, capacity)} }

func (r *ring) Write(p []byte) (int, error) {
	n := len(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	c := len(r.buf)
	if c == 0 {
		return n, nil
	}
	if len(p) >= c {
		// Only the tail of p can survive; keep it and start over.
		copy(r.buf, p[len(p)-c:])
		r.next, r.full = 0, true
		return n, nil
	}
	k := copy(r.buf[r.next:], p)
	if k < len(p) {
		copy(r.buf, p[k:])
		r.full = true
	}
	r.next = (r.next + len(p)) % c
	if r.next == 0 && len(p) > 0 {
		r.full = true
	}
	return n, nil
}

// Bytes returns a copy of what is kept, oldest byte first.
func (r *ring) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]byte(nil), r.buf[:r.next]...)
	}
	out := make([]byte, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}
