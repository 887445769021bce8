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
}

// Stats is the store's state for /audit: numbers only.
type Stats struct {
	Active   int                 `json:"active"`
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
}

// Stats reports the current state.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	st := Stats{Active: len(s.sessions), Bytes: s.total, Wipes: s.wipes, Refused: s.refused,
		Limits: LimitsView{s.limits.MaxSessions, s.limits.MaxBytesPerSession, s.limits.MaxTotalBytes, int64(s.limits.IdleTimeout / time.Second)}}
	for _, sess := range s.sessions {
		if sess.busy {
			st.Busy++
		}
	}
	s.mu.Unlock()
	st.KeyArena = s.arena.Status()
	return st
}
