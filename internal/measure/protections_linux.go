package measure

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Protections reads every protection fact now.
func Protections() ProtectionState {
	var p ProtectionState

	now := time.Now()
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	p.Dumpable = Fact[bool]{Value: d != 0, ReadAt: now, Err: wrap("prctl", err)}

	p.CoreLimit = readLimit(unix.RLIMIT_CORE)
	p.MemlockLimit = readLimit(unix.RLIMIT_MEMLOCK)

	now = time.Now()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		err = wrap("status", err)
		p.LockedBytes = Fact[uint64]{ReadAt: now, Err: err}
		p.TracerPID = Fact[int]{ReadAt: now, Err: err}
		return p
	}
	status := string(b)
	lck, err := parseVmLck(status)
	p.LockedBytes = Fact[uint64]{Value: lck, ReadAt: now, Err: err}
	tp, err := parseTracerPID(status)
	p.TracerPID = Fact[int]{Value: tp, ReadAt: now, Err: err}
	return p
}

func readLimit(resource int) Fact[Limit] {
	var rl unix.Rlimit
	err := unix.Getrlimit(resource, &rl)
	f := Fact[Limit]{ReadAt: time.Now(), Err: wrap("getrlimit", err)}
	if err == nil {
		f.Value = Limit{Soft: clampLimit(rl.Cur), Hard: clampLimit(rl.Max)}
	}
	return f
}

// clampLimit maps RLIM_INFINITY to [Unlimited] whatever its width.
func clampLimit(v uint64) uint64 {
	if v == unix.RLIM_INFINITY {
		return Unlimited
	}
	return v
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("measure: %s: %w", what, err)
}
