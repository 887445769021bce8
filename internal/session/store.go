package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/memlock"
)

// Limits bound the store. A zero field takes its default.
type Limits struct {
	MaxSessions        int           // default 1000
	MaxBytesPerSession int64         // default 8 MiB of sealed bytes
	MaxTotalBytes      int64         // default 256 MiB of sealed bytes
	IdleTimeout        time.Duration // default 1 h
	// MaxSessionsPerOwner is one owner's (API key's) share of
	// MaxSessions, so that one key cannot take every slot: default a
	// quarter of MaxSessions, at least 1.
	MaxSessionsPerOwner int
	// MaxBytesPerOwner is one owner's share of MaxTotalBytes: default a
	// quarter of MaxTotalBytes, but at least MaxBytesPerSession (and at
	// most MaxTotalBytes), so one session can always grow to its limit.
	MaxBytesPerOwner int64
}

// Defaults.
const (
	DefaultMaxSessions        = 1000
	DefaultMaxBytesPerSession = 8 << 20
	DefaultMaxTotalBytes      = 256 << 20
	DefaultIdleTimeout        = time.Hour
)

func (l Limits) withDefaults() Limits {
	if l.MaxSessions <= 0 {
		l.MaxSessions = DefaultMaxSessions
	}
	if l.MaxBytesPerSession <= 0 {
		l.MaxBytesPerSession = DefaultMaxBytesPerSession
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxSessionsPerOwner <= 0 {
		l.MaxSessionsPerOwner = max(1, l.MaxSessions/4)
	}
	if l.MaxBytesPerOwner <= 0 {
		l.MaxBytesPerOwner = min(max(l.MaxTotalBytes/4, l.MaxBytesPerSession), l.MaxTotalBytes)
	}
	return l
}

// Store holds the sessions. It is safe for concurrent use.
//
// Locking: Store.mu guards the map, the byte counts, busy and lastUsed;
// session.mu guards a session's key and sealed messages, and is held
// during crypto so that a wipe never races a cipher. Store.mu may be taken
// before session.mu, never the other way round.
type Store struct {
	limits   Limits
	now      func() time.Time
	arena    *memlock.Arena
	ownArena bool
	hashKey  *memlock.Key // HMAC key for session ids and owners

	mu       sync.Mutex
	sessions map[[sha256.Size]byte]*session
	owners   map[[sha256.Size]byte]*usage // per owner, while it has sessions
	total    int64
	closed   bool
	wipes    WipeCounts
	refused  RefusedCounts

	// live counts sessions created and not yet wiped, so that Close
	// unmaps the arena only after every key slot is zero and no cipher
	// is reading one.
	live sync.WaitGroup
}

// usage is what one owner holds. Guarded by Store.mu.
type usage struct {
	hash     [sha256.Size]byte
	sessions int
	bytes    int64
}

type session struct {
	hash  [sha256.Size]byte
	owner *usage
	scope string // Store.Scope of (owner, id): a keyed hash, not the id

	// Guarded by Store.mu.
	bytes    int64 // sealed bytes, including a commit's reservation
	busy     bool
	lastUsed time.Time

	live *sync.WaitGroup // Store.live: done once wiped

	mu     sync.Mutex
	key    *memlock.Key
	sealed [][]byte
	wiped  bool
}

// New makes a store. With a nil arena it maps its own, with one slot per
// session plus one for the id-hashing key, and closes it in [Store.Close].
// A shared arena's free slots also bound the number of sessions. now is
// the clock for idle timeouts (nil: time.Now).
func New(l Limits, arena *memlock.Arena, now func() time.Time) (*Store, error) {
	l = l.withDefaults()
	if now == nil {
		now = time.Now
	}
	s := &Store{limits: l, now: now, arena: arena, sessions: map[[sha256.Size]byte]*session{}, owners: map[[sha256.Size]byte]*usage{}}
	if arena == nil {
		a, err := memlock.NewArena(min(l.MaxSessions+1, memlock.MaxSlots))
		if err != nil {
			return nil, err
		}
		s.arena, s.ownArena = a, true
	}
	k, err := s.arena.Alloc()
	if err != nil {
		if s.ownArena {
			_ = s.arena.Close()
		}
		return nil, err
	}
	rand.Read(k.Bytes())
	s.hashKey = k
	return s, nil
}

// check validates a request's owner and id.
func check(owner, id string) error {
	if owner == "" || !ValidID(id) {
		return ErrInvalidID
	}
	return nil
}

// hash makes a keyed hash under the store's key. Called with s.mu held and
// the store open, so that Close cannot free the key under it. ok is false
// when the key is gone (a shared arena closed under the store): never hash
// under a zero key.
func (s *Store) hash(domain byte, parts ...string) (h [sha256.Size]byte, ok bool) {
	key := s.hashKey.Bytes()
	if key == nil {
		return h, false
	}
	return keyedHash(key, domain, parts...), true
}

// Begin starts a turn on the session named id of owner, creating the
// session if it does not exist, and decrypts its history. owner names the
// API key the request was made with: sessions of different owners never
// meet, even under one id. Only one turn per session runs at a time: a
// second gets [ErrBusy]. The caller must end the turn with [Turn.Commit]
// or [Turn.Abort] (defer Abort: it is a no-op after Commit); a session
// whose turn never ends is never reaped.
func (s *Store) Begin(owner, id string) (*Turn, error) {
	if err := check(owner, id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed { // checked before hashing: Close frees the hash key next
		s.mu.Unlock()
		return nil, ErrClosed
	}
	h, ok := s.hash(domainSession, owner, id)
	scope, _ := s.hash(domainScope, owner, id)
	if !ok {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	sess := s.sessions[h]
	created := false
	var err error
	if sess == nil {
		if sess, err = s.create(h, owner, hex.EncodeToString(scope[:ScopeLen/2])); err != nil {
			if errors.Is(err, ErrOwnerTooMany) {
				s.refused.OwnerTooMany++
			} else {
				s.refused.TooMany++
			}
			s.mu.Unlock()
			return nil, err
		}
		created = true
	}
	if sess.busy {
		s.refused.Busy++
		s.mu.Unlock()
		return nil, ErrBusy
	}
	sess.busy = true
	sess.lastUsed = s.now()
	s.mu.Unlock()

	t := &Turn{s: s, sess: sess, created: created}
	hist, err := sess.openAll()
	if err != nil {
		t.Abort()
		return nil, err
	}
	t.history = hist
	return t, nil
}

// create adds an empty session for owner. Called with s.mu held and the
// store open. The owner's share is checked first: a key at its own limit
// learns that, not whether the store as a whole has room.
func (s *Store) create(h [sha256.Size]byte, owner, scope string) (*session, error) {
	oh, ok := s.hash(domainOwner, owner)
	if !ok {
		return nil, ErrClosed
	}
	u := s.owners[oh]
	if u != nil && u.sessions >= s.limits.MaxSessionsPerOwner {
		return nil, ErrOwnerTooMany
	}
	if len(s.sessions) >= s.limits.MaxSessions {
		return nil, ErrTooMany
	}
	k, err := s.arena.Alloc()
	if err != nil {
		return nil, ErrTooMany // arena full (or closed): no room
	}
	rand.Read(k.Bytes())
	if u == nil {
		u = &usage{hash: oh}
		s.owners[oh] = u
	}
	u.sessions++
	sess := &session{hash: h, owner: u, scope: scope, key: k, live: &s.live}
	s.sessions[h] = sess
	s.live.Add(1)
	return sess, nil
}

// ScopeLen is the length of a [Store.Scope] name.
const ScopeLen = 32

// Scope is the name under which a backend that keeps its own per-session
// state (the embedded engine's KV cache) knows the session (owner, id):
// [ScopeLen] hex digits of a keyed hash under this process's random key.
// Owners get different names for one id, and the name reveals neither the
// id nor the owner. [Turn.Scope] is the same name.
func (s *Store) Scope(owner, id string) (string, error) {
	if err := check(owner, id); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	h, ok := s.hash(domainScope, owner, id)
	if !ok {
		return "", ErrClosed
	}
	return hex.EncodeToString(h[:ScopeLen/2]), nil
}

// openAll decrypts every message into fresh buffers.
func (sess *session) openAll() ([]content.Message, error) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.wiped {
		return nil, ErrWiped
	}
	if len(sess.sealed) == 0 {
		return nil, nil
	}
	sl, err := newSealer(sess.key.Bytes())
	if err != nil {
		return nil, err
	}
	defer sl.wipe()
	out := make([]content.Message, 0, len(sess.sealed))
	for i, c := range sess.sealed {
		plain, err := sl.open(i, c)
		if err == nil {
			if testHookPlain != nil {
				testHookPlain(plain)
			}
			var m content.Message
			if m, err = decode(plain); err == nil {
				out = append(out, m)
				continue
			}
		}
		wipeMessages(out)
		return nil, ErrCorrupt
	}
	return out, nil
}
