package memlock

import (
	"errors"
	"syscall"
)

// Protection is one hardening step as the kernel reports it after the
// attempt.
type Protection struct {
	// Name is "dumpable", "core" or "mlockall".
	Name string `json:"name"`
	// Applied is true only when the call succeeded and the read-back
	// confirms it.
	Applied bool `json:"applied"`
	// Err says why not (nil when Applied): an errno class or one of this
	// package's sentinels. It never holds a path.
	Err error `json:"-"`
	// ReadBack is what the kernel reported afterwards, e.g. "dumpable=0",
	// "core soft=0 hard=0", "locked_bytes=…"; empty when it could not be
	// read.
	ReadBack string `json:"read_back"`
}

// ErrString is Err as text for reports ("" when nil).
func (p Protection) ErrString() string {
	if p.Err == nil {
		return ""
	}
	return p.Err.Error()
}

// Report lists what [Harden] did.
type Report struct {
	Dumpable Protection `json:"dumpable"`
	Core     Protection `json:"core"`
	Mlockall Protection `json:"mlockall"`
}

// All returns the protections in a fixed order.
func (r Report) All() []Protection { return []Protection{r.Dumpable, r.Core, r.Mlockall} }

// Options tune [HardenWith].
type Options struct {
	// SkipMlockall leaves memory unlocked whatever the limit.
	SkipMlockall bool
	// MlockallMinLimit is the smallest finite RLIMIT_MEMLOCK soft limit
	// under which mlockall is attempted; zero means
	// [DefaultMlockallMinLimit]. An unlimited soft limit, or CAP_IPC_LOCK
	// (which makes the kernel ignore the limit), always qualifies.
	MlockallMinLimit uint64
}

// DefaultMlockallMinLimit is 16 GiB.
//
// Why a threshold at all: with MCL_FUTURE every later mapping is locked at
// creation and counted against RLIMIT_MEMLOCK, including the Go runtime's
// PROT_NONE address-space reservations. A Go process starts with about
// 1.2 GiB of mapped address space (measured on linux/amd64, Go 1.26) and
// maps more as the heap grows (2.3 GiB mapped after 1 GiB of heap). Once
// the limit is reached, mmap fails with EAGAIN and the runtime aborts
// ("fatal error: runtime: cannot map pages in arena address space" or
// "fatal error: out of memory"); no code can recover from that, and a test
// here reproduces it. A limit below the current mapping size only makes
// mlockall fail with ENOMEM (harmless); a limit somewhat above it is the
// trap. 16 GiB is seven times the mapped size measured after a 1 GiB heap,
// while the relay's session store is capped at 256 MiB by default. It is a
// margin, not a proof: operators who know their peak can lower it, and
// below it memory stays unlocked (the key [Arena] is locked on its own).
const DefaultMlockallMinLimit = 16 << 30

// Sentinel errors. Each names a class; none carries a value.
var (
	// ErrUnsupported: the protection does not exist on this system.
	ErrUnsupported = errors.New("memlock: not supported on this system")
	// ErrLimitTooSmall: RLIMIT_MEMLOCK is finite and below the threshold,
	// and the process lacks CAP_IPC_LOCK, so mlockall was not attempted.
	ErrLimitTooSmall = errors.New("memlock: RLIMIT_MEMLOCK below the mlockall threshold; memory left unlocked")
	// ErrSanitizer: a race-detector or sanitizer build, whose shadow memory
	// (terabytes of address space) mlockall would try to lock.
	ErrSanitizer = errors.New("memlock: mlockall refused in a race/sanitizer build")
	// ErrSkipped: the caller asked not to lock memory.
	ErrSkipped = errors.New("memlock: mlockall skipped by configuration")
	// ErrNotConfirmed: the call returned success but the read-back disagrees.
	ErrNotConfirmed = errors.New("memlock: kernel read-back does not confirm the protection")
	// ErrUnreadable: the state could not be read back.
	ErrUnreadable = errors.New("memlock: state could not be read back")
)

// mlockallAllowed is the policy, kept pure so that it can be tested without
// touching the process: lock everything only when no later allocation can
// be refused because of it.
func mlockallAllowed(o Options, soft uint64, unlimited, capIPCLock bool) error {
	if o.SkipMlockall {
		return ErrSkipped
	}
	if sanitizerBuild {
		return ErrSanitizer
	}
	if capIPCLock || unlimited {
		return nil
	}
	min := o.MlockallMinLimit
	if min == 0 {
		min = DefaultMlockallMinLimit
	}
	if soft < min {
		return ErrLimitTooSmall
	}
	return nil
}

// errClass reduces err to its errno when there is one, dropping any path
// that an *fs.PathError would print.
func errClass(err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	// Anything else (an *fs.PathError without an errno, a parse failure)
	// is reported as a class, never with its text, which may hold a path.
	return ErrUnreadable
}
