package memlock

import (
	"errors"
	"sync"
)

// SlotSize is the size of one key slot: a 256-bit key.
const SlotSize = 32

// DefaultSlots fills 64 KiB.
const DefaultSlots = 2048

// MaxSlots bounds one arena to 32 MiB; more locked memory than that is
// almost certainly a configuration mistake.
const MaxSlots = 1 << 20

var (
	// ErrFull: every slot is in use.
	ErrFull = errors.New("memlock: key arena full")
	// ErrClosed: the arena was closed.
	ErrClosed = errors.New("memlock: key arena closed")
	// ErrSlots: the slot count is out of range.
	ErrSlots = errors.New("memlock: slot count out of range")
)

// Arena is a region of memory outside the Go heap for keys. It is safe for
// concurrent use.
type Arena struct {
	mu     sync.Mutex
	region []byte // slots*SlotSize bytes, nil once closed
	free   []int32
	slots  int
	m      mapping
	unmap  func(mapping) error // unmapRegion; tests wrap it to look before
	closed bool
}

// ArenaStatus is what the kernel granted the arena, and its use.
type ArenaStatus struct {
	Slots int `json:"slots"`
	InUse int `json:"in_use"`
	// Bytes is the size of the key region (guard pages excluded).
	Bytes int `json:"bytes"`
	// Locked: mlock succeeded, the region is never swapped out.
	Locked bool `json:"locked"`
	// DontDump: MADV_DONTDUMP succeeded, the region is left out of core dumps.
	DontDump bool `json:"dont_dump"`
	// WipeOnFork: MADV_WIPEONFORK succeeded, a forked child sees zeros.
	WipeOnFork bool `json:"wipe_on_fork"`
	// Guarded: PROT_NONE pages surround the region, so an overrun faults
	// instead of reading a neighbour.
	Guarded bool `json:"guarded"`
	// LockErr, DontDumpErr and WipeOnForkErr say why not (errno class).
	LockErr       error `json:"-"`
	DontDumpErr   error `json:"-"`
	WipeOnForkErr error `json:"-"`
}

// mapping is what the platform layer (arena_linux.go, arena_other.go)
// returns: the region and what it could apply to it.
type mapping struct {
	whole                         []byte // the full mapping, guards included
	region                        []byte
	locked, dontDump, wipe, guard bool
	lockErr, dontDumpErr, wipeErr error
}

// NewArena maps a region of slots key slots; slots <= 0 means
// [DefaultSlots]. A refused mlock is not an error: see [Arena.Locked].
func NewArena(slots int) (*Arena, error) {
	if slots <= 0 {
		slots = DefaultSlots
	}
	if slots > MaxSlots {
		return nil, ErrSlots
	}
	m, err := mapRegion(slots * SlotSize)
	if err != nil {
		return nil, err
	}
	a := &Arena{region: m.region, slots: slots, m: m, unmap: unmapRegion, free: make([]int32, slots)}
	// Hand out low slots first (popped from the end).
	for i := range a.free {
		a.free[i] = int32(slots - 1 - i)
	}
	return a, nil
}

// Key is one slot. Its bytes live in the arena, never on the Go heap.
type Key struct {
	a     *Arena
	off   int
	freed bool // guarded by a.mu
}

// Alloc returns a zeroed slot, or [ErrFull] / [ErrClosed].
func (a *Arena) Alloc() (*Key, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	n := len(a.free)
	if n == 0 {
		return nil, ErrFull
	}
	i := a.free[n-1]
	a.free = a.free[:n-1]
	off := int(i) * SlotSize
	clear(a.region[off : off+SlotSize]) // already zero; cheap insurance
	return &Key{a: a, off: off}, nil
}

// Bytes returns the slot itself (not a copy), 32 bytes, for the cipher to
// read; nil once the key is freed or the arena closed. Callers must not
// retain the slice past Free.
func (k *Key) Bytes() []byte {
	k.a.mu.Lock()
	defer k.a.mu.Unlock()
	if k.freed || k.a.closed {
		return nil
	}
	return k.a.region[k.off : k.off+SlotSize : k.off+SlotSize]
}

// Free zeroes the slot and returns it to the arena. A second Free, or a
// Free after Close, does nothing.
func (k *Key) Free() {
	a := k.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if k.freed || a.closed {
		k.freed = true
		return
	}
	k.freed = true
	clear(a.region[k.off : k.off+SlotSize])
	a.free = append(a.free, int32(k.off/SlotSize))
}

// Locked reports whether mlock succeeded on the region.
func (a *Arena) Locked() bool { return a.m.locked }

// DontDump reports whether MADV_DONTDUMP succeeded on the region.
func (a *Arena) DontDump() bool { return a.m.dontDump }

// InUse is the number of allocated slots.
func (a *Arena) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0
	}
	return a.slots - len(a.free)
}

// Status reports the arena's protections and use.
func (a *Arena) Status() ArenaStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := ArenaStatus{
		Slots: a.slots, Bytes: a.slots * SlotSize,
		Locked: a.m.locked, DontDump: a.m.dontDump, WipeOnFork: a.m.wipe, Guarded: a.m.guard,
		LockErr: a.m.lockErr, DontDumpErr: a.m.dontDumpErr, WipeOnForkErr: a.m.wipeErr,
	}
	if !a.closed {
		s.InUse = a.slots - len(a.free)
	}
	return s
}

// Inspect calls f with the whole key region, under the arena's lock, so
// that tests and audits can prove that freed slots are zero. f must not
// retain or copy region. After Close, f gets nil.
func (a *Arena) Inspect(f func(region []byte)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		f(nil)
		return
	}
	f(a.region)
}

// Close zeroes the whole region, unlocks and unmaps it. Keys still
// allocated become invalid (Bytes returns nil). Close is idempotent.
func (a *Arena) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	clear(a.region)
	a.region = nil
	a.free = nil
	return a.unmap(a.m)
}
