//go:build !linux

package measure

import (
	"errors"
	"time"
)

// Protections is only measured on Linux: every fact carries
// errors.ErrUnsupported.
func Protections() ProtectionState {
	now := time.Now()
	e := errors.ErrUnsupported
	return ProtectionState{
		Dumpable:     Fact[bool]{ReadAt: now, Err: e},
		CoreLimit:    Fact[Limit]{ReadAt: now, Err: e},
		MemlockLimit: Fact[Limit]{ReadAt: now, Err: e},
		LockedBytes:  Fact[uint64]{ReadAt: now, Err: e},
		TracerPID:    Fact[int]{ReadAt: now, Err: e},
	}
}
