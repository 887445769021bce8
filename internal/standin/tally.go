// Package standin holds what the wire-accurate stand-ins of the remote
// APIs (standin/openai, standin/anthropic) share: the counters tests read
// to see what reached the upstream.
package standin

import (
	"bytes"
	"sync"
)

// Tally counts a stand-in's requests. The zero value is ready; it is safe
// for concurrent use.
type Tally struct {
	mu       sync.Mutex
	requests int
	canceled int
	last     []byte
}

// Hit counts one request and returns its number, from 1.
func (t *Tally) Hit() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	return t.requests
}

// Keep records body as the last request body.
func (t *Tally) Keep(body []byte) {
	t.mu.Lock()
	t.last = body
	t.mu.Unlock()
}

// Cancel counts a request whose client went away before the answer ended.
func (t *Tally) Cancel() {
	t.mu.Lock()
	t.canceled++
	t.mu.Unlock()
}

// Requests is how many requests were received, any endpoint.
func (t *Tally) Requests() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests
}

// LastRequest is a copy of the last kept request body.
func (t *Tally) LastRequest() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.last)
}

// Canceled is how many requests saw their client go away mid-answer.
func (t *Tally) Canceled() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.canceled
}
