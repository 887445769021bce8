package session

import (
	"errors"

	"github.com/inference-relay/relay/internal/content"
)

// testHookPlain, when set by a test, sees every plaintext buffer the store
// allocates, so that the test can check the store zeroed them.
var testHookPlain func([]byte)

// Turn is one request/reply exchange on a session, holding the session's
// turn lock. A Turn is used by one goroutine.
type Turn struct {
	s       *Store
	sess    *session
	history []content.Message
	created bool // the session was made by this turn
	done    bool
}

// Scope is the session's name for backends: see [Store.Scope].
func (t *Turn) Scope() string { return t.sess.scope }

// Created reports whether this turn started a new session.
func (t *Turn) Created() bool { return t.created }

// History is the conversation so far, decrypted into fresh buffers, oldest
// first, to be prepended to the new turn. Commit and Abort zero it: do not
// use it afterwards.
func (t *Turn) History() []content.Message { return t.history }

// Commit appends the new turn's messages (what the client sent now, which
// may be several: tool results then a question) and the reply, sealed, and
// ends the turn. If that would exceed the session's or the store's limit
// it returns [ErrTooLarge] (or [ErrStoreFull]) and appends nothing: the
// session keeps its previous state. If the session was wiped meanwhile it
// returns [ErrWiped]. The caller still owns, and wipes, user and reply.
func (t *Turn) Commit(user []content.Message, reply content.Message) error {
	if t.done {
		return ErrDone
	}
	defer t.finish()
	msgs := make([]*content.Message, 0, len(user)+1)
	for i := range user {
		msgs = append(msgs, &user[i])
	}
	msgs = append(msgs, &reply)
	add := SealedSize(user...) + SealedSize(reply)

	s, sess := t.s, t.sess
	s.mu.Lock()
	switch {
	case s.sessions[sess.hash] != sess:
		s.mu.Unlock()
		return ErrWiped
	case sess.bytes+add > s.limits.MaxBytesPerSession:
		s.refused.TooLarge++
		s.mu.Unlock()
		return ErrTooLarge
	case sess.owner.bytes+add > s.limits.MaxBytesPerOwner:
		s.refused.OwnerTooLarge++
		s.mu.Unlock()
		return ErrOwnerFull
	case s.total+add > s.limits.MaxTotalBytes:
		s.refused.TooLarge++
		s.mu.Unlock()
		return ErrStoreFull
	}
	// Reserve now; a wipe that removes the session from here on subtracts
	// the reservation with the rest.
	sess.bytes += add
	sess.owner.bytes += add
	s.total += add
	s.mu.Unlock()

	err := sess.append(msgs)
	if err != nil && !errors.Is(err, ErrWiped) {
		// Still in the map: give the reservation back. (A wiped session
		// was removed, and its removal already subtracted it.)
		s.mu.Lock()
		if s.sessions[sess.hash] == sess {
			sess.bytes -= add
			sess.owner.bytes -= add
			s.total -= add
		}
		s.mu.Unlock()
	}
	return err
}

// append seals msgs onto the session.
func (sess *session) append(msgs []*content.Message) error {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.wiped {
		return ErrWiped
	}
	sl, err := newSealer(sess.key.Bytes())
	if err != nil {
		return err
	}
	defer sl.wipe()
	for _, m := range msgs {
		plain := make([]byte, encodedSize(m))
		if testHookPlain != nil {
			testHookPlain(plain)
		}
		encode(plain, m)
		sess.sealed = append(sess.sealed, sl.seal(len(sess.sealed), plain))
		clear(plain)
	}
	return nil
}

// Abort ends the turn without appending anything (the upstream failed, the
// client went away). It is a no-op after Commit or Abort.
func (t *Turn) Abort() {
	if t.done {
		return
	}
	t.finish()
}

// finish zeroes the history, releases the turn lock and drops the session
// if it holds nothing (a first turn that failed): an empty session has no
// content to keep and would only hold a slot until it idled out.
func (t *Turn) finish() {
	t.done = true
	wipeMessages(t.history)
	t.history = nil
	s, sess := t.s, t.sess
	s.mu.Lock()
	if s.sessions[sess.hash] != sess {
		s.mu.Unlock()
		return
	}
	sess.busy = false
	sess.lastUsed = s.now()
	empty := sess.bytes == 0
	if empty {
		s.remove(sess)
	}
	s.mu.Unlock()
	if empty {
		sess.wipe()
	}
}

func wipeMessages(ms []content.Message) {
	for i := range ms {
		ms[i].Wipe()
	}
}

// SealedSize is what msgs would add to a session: the number Commit checks
// against the limits.
func SealedSize(msgs ...content.Message) int64 {
	var n int64
	for i := range msgs {
		n += int64(Overhead + encodedSize(&msgs[i]))
	}
	return n
}

// Room is how many sealed bytes this session can still take, within its
// own limit, its owner's share and the store's, as of now. A front end can refuse a turn
// whose new messages already exceed it (compare with SealedSize) before
// going upstream, rather than learn it from Commit after the reply was
// streamed. Other sessions may use the store's room meanwhile, so Commit
// can still refuse.
func (t *Turn) Room() int64 {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[t.sess.hash] != t.sess {
		return 0
	}
	return max(0, min(s.limits.MaxBytesPerSession-t.sess.bytes, s.limits.MaxBytesPerOwner-t.sess.owner.bytes, s.limits.MaxTotalBytes-s.total))
}
