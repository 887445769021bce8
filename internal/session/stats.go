package session

import (
	"time"

	"github.com/inference-relay/relay/internal/memlock"
)

// RefusedCounts counts refused requests by cause.
type RefusedCounts struct {
	TooMany  uint64 `json:"too_many"`
	Busy     uint64 `json:"busy"`
	TooLarge uint64 `json:"too_large"`
	// OwnerTooMany and OwnerTooLarge count refusals at one owner's share
	// (not counted in TooMany and TooLarge).
	OwnerTooMany  uint64 `json:"owner_too_many"`
	OwnerTooLarge uint64 `json:"owner_too_large"`
}

// Stats is the store's state for /audit: numbers only.
type Stats struct {
	Active   int                 `json:"active"`
	Owners   int                 `json:"owners"` // owners (API keys) holding sessions
	Busy     int                 `json:"busy"`
	Bytes    int64               `json:"bytes"`
	Limits   LimitsView          `json:"limits"`
	Wipes    WipeCounts          `json:"wipes"`
	Refused  RefusedCounts       `json:"refused"`
	KeyArena memlock.ArenaStatus `json:"key_arena"`
}

// LimitsView is Limits as JSON.
type LimitsView struct {
	MaxSessions        int   `json:"max_sessions"`
	MaxBytesPerSession int64 `json:"max_bytes_per_session"`
	MaxTotalBytes      int64 `json:"max_total_bytes"`
	IdleTimeoutSeconds int64 `json:"idle_timeout_s"`
	MaxSessionsPerKey  int   `json:"max_sessions_per_key"`
	MaxBytesPerKey     int64 `json:"max_bytes_per_key"`
}

// Stats reports the current state.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	l := s.limits
	st := Stats{Active: len(s.sessions), Owners: len(s.owners), Bytes: s.total, Wipes: s.wipes, Refused: s.refused,
		Limits: LimitsView{l.MaxSessions, l.MaxBytesPerSession, l.MaxTotalBytes, int64(l.IdleTimeout / time.Second), l.MaxSessionsPerOwner, l.MaxBytesPerOwner}}
	for _, sess := range s.sessions {
		if sess.busy {
			st.Busy++
		}
	}
	s.mu.Unlock()
	st.KeyArena = s.arena.Status()
	return st
}
