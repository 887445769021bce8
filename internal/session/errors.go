package session

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors. Their text never holds a session id or content.
var (
	// ErrInvalidID: the session id breaks the rule of [ValidID] (or the
	// owner is empty).
	ErrInvalidID = errors.New("session: invalid session id")
	// ErrTooMany: no room for another session.
	ErrTooMany = errors.New("session: too many sessions")
	// ErrOwnerTooMany: the owner already holds its share of sessions
	// (Limits.MaxSessionsPerOwner). errors.Is(ErrOwnerTooMany, ErrTooMany)
	// holds.
	ErrOwnerTooMany = fmt.Errorf("%w (this owner's share)", ErrTooMany)
	// ErrBusy: the session already has a turn in progress.
	ErrBusy = errors.New("session: a turn is already in progress for this session")
	// ErrTooLarge: the turn would grow the session past its size limit.
	ErrTooLarge = errors.New("session: turn would exceed the session size limit")
	// ErrStoreFull: the turn would grow the store past its total limit.
	// errors.Is(ErrStoreFull, ErrTooLarge) holds.
	ErrStoreFull = fmt.Errorf("%w (store memory limit reached)", ErrTooLarge)
	// ErrOwnerFull: the turn would grow the owner's sessions past its
	// share of the store (Limits.MaxBytesPerOwner).
	// errors.Is(ErrOwnerFull, ErrTooLarge) holds.
	ErrOwnerFull = fmt.Errorf("%w (this owner's share of store memory reached)", ErrTooLarge)
	// ErrNotFound: no such session.
	ErrNotFound = errors.New("session: no such session")
	// ErrWiped: the session was wiped (ended, shut down, locked down)
	// while this turn was in progress; nothing was appended.
	ErrWiped = errors.New("session: session was wiped during the turn")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("session: store closed")
	// ErrDone: Commit after Commit or Abort.
	ErrDone = errors.New("session: turn already finished")
	// ErrCorrupt: a sealed message failed authentication or framing. It
	// means a bug or memory corruption; the session is left untouched.
	ErrCorrupt = errors.New("session: sealed message failed to open")
)

// HTTPStatus maps an error from this package to the status a front end
// should answer with (500 for anything else).
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrInvalidID):
		return http.StatusBadRequest
	case errors.Is(err, ErrTooMany):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrBusy), errors.Is(err, ErrWiped):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}
