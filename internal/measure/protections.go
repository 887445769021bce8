package measure

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Fact is one value read from the OS, with when it was read and, if the
// read failed, why.
type Fact[T any] struct {
	Value  T
	ReadAt time.Time
	Err    error
}

// MarshalJSON writes {"value":…,"read_at":"…"} and "error" when the read
// failed (the OS's own words, e.g. "operation not permitted").
func (f Fact[T]) MarshalJSON() ([]byte, error) {
	out := struct {
		Value  *T     `json:"value,omitempty"`
		ReadAt string `json:"read_at"`
		Error  string `json:"error,omitempty"`
	}{ReadAt: f.ReadAt.UTC().Format(time.RFC3339Nano)}
	if f.Err != nil {
		out.Error = f.Err.Error()
	} else {
		out.Value = &f.Value
	}
	return json.Marshal(out)
}

// Unlimited is a resource limit of RLIM_INFINITY.
const Unlimited = math.MaxUint64

// Limit is a resource limit, in the resource's unit (bytes for both limits
// here). [Unlimited] means none.
type Limit struct {
	Soft, Hard uint64
}

// MarshalJSON writes numbers, or "unlimited".
func (l Limit) MarshalJSON() ([]byte, error) {
	enc := func(v uint64) any {
		if v == Unlimited {
			return "unlimited"
		}
		return v
	}
	return json.Marshal(map[string]any{"soft": enc(l.Soft), "hard": enc(l.Hard)})
}

// ProtectionState holds the memory and debugging protections in force (SPEC C6,
// W1), each as the OS reports it.
type ProtectionState struct {
	// Dumpable is prctl(PR_GET_DUMPABLE) != 0. When false, the process
	// writes no core dump and other processes of the same user cannot
	// ptrace it or read its memory through /proc.
	Dumpable Fact[bool] `json:"dumpable"`
	// CoreLimit is RLIMIT_CORE; a soft limit of 0 means no core file.
	CoreLimit Fact[Limit] `json:"core_limit"`
	// MemlockLimit is RLIMIT_MEMLOCK: how much memory may be locked.
	MemlockLimit Fact[Limit] `json:"memlock_limit"`
	// LockedBytes is VmLck from /proc/self/status: memory locked now.
	LockedBytes Fact[uint64] `json:"locked_bytes"`
	// TracerPID is TracerPid from /proc/self/status: the process tracing
	// this one, 0 when none.
	TracerPID Fact[int] `json:"tracer_pid"`
}

var errNoField = errors.New("measure: field missing from /proc/self/status")

// statusField returns the value of "Name:\tvalue" in /proc/self/status.
func statusField(status, name string) (string, error) {
	for line := range strings.Lines(status) {
		k, v, ok := strings.Cut(line, ":")
		if ok && k == name {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errNoField
}

// parseVmLck returns VmLck in bytes. The kernel prints it in kB (KiB).
func parseVmLck(status string) (uint64, error) {
	v, err := statusField(status, "VmLck")
	if err != nil {
		return 0, err
	}
	n, unit, ok := strings.Cut(v, " ")
	if !ok || strings.TrimSpace(unit) != "kB" {
		return 0, errNoField
	}
	kb, err := strconv.ParseUint(strings.TrimSpace(n), 10, 54)
	if err != nil {
		return 0, errNoField
	}
	return kb * 1024, nil
}

// parseTracerPID returns TracerPid.
func parseTracerPID(status string) (int, error) {
	v, err := statusField(status, "TracerPid")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errNoField
	}
	return n, nil
}
