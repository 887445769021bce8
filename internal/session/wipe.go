package session

import (
	"context"
	"errors"
	"time"
)

// Reason says why a session was wiped.
type Reason uint8

const (
	ReasonEnd      Reason = iota + 1 // the client ended it
	ReasonIdle                       // idle past IdleTimeout
	ReasonShutdown                   // the relay is stopping
	ReasonLockdown                   // an operator or a policy locked the relay down
)

var reasonNames = [...]string{ReasonEnd: "end", ReasonIdle: "idle", ReasonShutdown: "shutdown", ReasonLockdown: "lockdown"}

// String names the reason.
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "unknown"
}

// MarshalText writes the name.
func (r Reason) MarshalText() ([]byte, error) {
	if r.String() == "unknown" {
		return nil, errors.New("session: unknown wipe reason")
	}
	return []byte(r.String()), nil
}

// WipeRecord is what remains of a wiped session: metadata only, no id and
// no content.
type WipeRecord struct {
	// Session is the first 8 hex digits of the keyed hash of the id (the
	// key is per process: records of one run can be told apart, the id
	// cannot be recovered).
	Session  string        `json:"session"`
	Messages int           `json:"messages"`
	Bytes    int64         `json:"bytes"`
	Reason   Reason        `json:"reason"`
	Took     time.Duration `json:"took_ns"`
	// Scope is the name backends knew the session by ([Store.Scope]), so
	// that the caller can have them drop their state too. It is never
	// logged or marshalled.
	Scope string `json:"-"`
}

// WipeCounts counts wipes by reason.
type WipeCounts struct {
	End      uint64 `json:"end"`
	Idle     uint64 `json:"idle"`
	Shutdown uint64 `json:"shutdown"`
	Lockdown uint64 `json:"lockdown"`
}

func (c *WipeCounts) add(r Reason) {
	switch r {
	case ReasonEnd:
		c.End++
	case ReasonIdle:
		c.Idle++
	case ReasonShutdown:
		c.Shutdown++
	case ReasonLockdown:
		c.Lockdown++
	}
}

// wipe zeroes every sealed buffer and the key, once. It returns the
// message count and sealed bytes it destroyed.
func (sess *session) wipe() (int, int64) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.wiped {
		return 0, 0
	}
	sess.wiped = true
	n, b := len(sess.sealed), int64(0)
	for i, c := range sess.sealed {
		b += int64(len(c))
		clear(c)
		sess.sealed[i] = nil
	}
	sess.sealed = nil
	sess.key.Free()
	sess.key = nil
	sess.live.Done()
	return n, b
}

// remove drops sess from the map. Called with s.mu held.
func (s *Store) remove(sess *session) {
	delete(s.sessions, sess.hash)
	s.total -= sess.bytes
	u := sess.owner
	u.bytes -= sess.bytes
	if u.sessions--; u.sessions == 0 {
		delete(s.owners, u.hash)
	}
}

// wipeOut wipes removed sessions (s.mu not held) and records them.
func (s *Store) wipeOut(list []*session, reason Reason) []WipeRecord {
	recs := make([]WipeRecord, 0, len(list))
	for _, sess := range list {
		start := time.Now()
		n, b := sess.wipe()
		recs = append(recs, WipeRecord{Session: prefix(&sess.hash), Messages: n, Bytes: b, Reason: reason, Took: time.Since(start), Scope: sess.scope})
	}
	s.mu.Lock()
	for range recs {
		s.wipes.add(reason)
	}
	s.mu.Unlock()
	return recs
}

// End wipes owner's session named id now, even during a turn (whose
// Commit then returns [ErrWiped]). Another owner's session of the same id
// is not touched: for this owner it does not exist ([ErrNotFound], exactly
// as for an id nobody used).
func (s *Store) End(owner, id string) (WipeRecord, error) {
	if err := check(owner, id); err != nil {
		return WipeRecord{}, err
	}
	s.mu.Lock()
	var sess *session
	if !s.closed { // checked before hashing: Close frees the hash key next
		if h, ok := s.hash(domainSession, owner, id); ok {
			sess = s.sessions[h]
		}
	}
	if sess == nil {
		s.mu.Unlock()
		return WipeRecord{}, ErrNotFound
	}
	s.remove(sess)
	s.mu.Unlock()
	return s.wipeOut([]*session{sess}, ReasonEnd)[0], nil
}

// Reap wipes every session idle for at least IdleTimeout. A session with a
// turn in progress is not idle.
func (s *Store) Reap() []WipeRecord {
	now := s.now()
	var idle []*session
	s.mu.Lock()
	for _, sess := range s.sessions {
		if !sess.busy && now.Sub(sess.lastUsed) >= s.limits.IdleTimeout {
			s.remove(sess)
			idle = append(idle, sess)
		}
	}
	s.mu.Unlock()
	if len(idle) == 0 {
		return nil
	}
	return s.wipeOut(idle, ReasonIdle)
}

// Run reaps every interval until ctx is done (every <= 0: one minute).
func (s *Store) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			s.Reap()
		}
	}
}

// WipeAll wipes every session, those with a turn in progress included, for
// shutdown or lockdown. The store stays usable; see [Store.Close].
func (s *Store) WipeAll(reason Reason) []WipeRecord {
	s.mu.Lock()
	all := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		s.remove(sess)
		all = append(all, sess)
	}
	s.mu.Unlock()
	return s.wipeOut(all, reason)
}

// Close wipes every session (reason shutdown), refuses new turns, zeroes
// the id-hashing key and, if the store mapped its own arena, unmaps it.
func (s *Store) Close() []WipeRecord {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	recs := s.WipeAll(ReasonShutdown)
	// Sessions removed just before (End, Reap, a failed first turn) may
	// still be wiping on other goroutines.
	s.live.Wait()
	s.hashKey.Free()
	if s.ownArena {
		_ = s.arena.Close()
	}
	return recs
}
