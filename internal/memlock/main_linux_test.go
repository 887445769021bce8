package memlock

import (
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The hardening tests change process-wide state (dumpable, core limit,
// mlockall, uid), so they run in a child: the test binary re-executed with
// childEnv naming what to do.
const (
	childEnv  = "MEMLOCK_TEST_CHILD"
	limitEnv  = "MEMLOCK_TEST_LIMIT" // RLIMIT_MEMLOCK soft limit to set, bytes, or "finite" (the current one, at most 64 MiB)
	dropEnv   = "MEMLOCK_TEST_DROP"  // "1": become uid/gid 65534 (no capabilities) after the limit
	allocEnv  = "MEMLOCK_TEST_ALLOC" // MiB to allocate and touch after the action
	nobodyUID = 65534
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// childResult is what a child prints as JSON on stdout.
type childResult struct {
	Skip       string
	Report     map[string]childProtection
	Dumpable   int    // PR_GET_DUMPABLE read independently
	CoreSoft   uint64 // RLIMIT_CORE read independently
	CoreHard   uint64
	LockedKB   uint64 // VmLck read independently
	RSSKB      uint64 // VmRSS at the end
	Arena      *ArenaStatus
	ArenaErrs  [3]string
	AllocMiB   int
	AllocOK    bool
	ForcedLock string // result of a direct mlockall ("ok" or the errno)
}

type childProtection struct {
	Applied  bool
	Err      string
	ReadBack string
}

func child(mode string) int {
	var res childResult
	out := func() int {
		_ = json.NewEncoder(os.Stdout).Encode(res)
		return 0
	}
	if v := os.Getenv(limitEnv); v != "" {
		lim, err := parseLimit(v)
		if err != nil {
			res.Skip = "bad limit"
			return out()
		}
		var rl unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
			res.Skip = "getrlimit: " + err.Error()
			return out()
		}
		if lim == keepFinite {
			lim = min(rl.Cur, 64<<20) // RLIM_INFINITY is the largest value
		}
		if lim > rl.Max {
			res.Skip = "limit above the hard limit"
			return out()
		}
		if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: lim, Max: rl.Max}); err != nil {
			res.Skip = "setrlimit: " + err.Error()
			return out()
		}
	}
	if os.Getenv(dropEnv) == "1" && os.Getuid() == 0 {
		// syscall.Setuid applies to every thread of the process.
		if err := syscall.Setgroups(nil); err != nil {
			res.Skip = "setgroups: " + err.Error()
			return out()
		}
		if err := syscall.Setgid(nobodyUID); err != nil {
			res.Skip = "setgid: " + err.Error()
			return out()
		}
		if err := syscall.Setuid(nobodyUID); err != nil {
			res.Skip = "setuid: " + err.Error()
			return out()
		}
	}
	if os.Getenv(dropEnv) == "1" {
		if ok, _ := hasCapIPCLock(); ok {
			res.Skip = "still holds CAP_IPC_LOCK"
			return out()
		}
	}
	switch mode {
	case "harden":
		r := Harden()
		res.Report = map[string]childProtection{}
		for _, p := range r.All() {
			res.Report[p.Name] = childProtection{p.Applied, p.ErrString(), p.ReadBack}
		}
	case "arena":
		a, err := NewArena(0)
		if err != nil {
			res.Skip = "NewArena: " + err.Error()
			return out()
		}
		s := a.Status()
		res.Arena = &s
		for i, e := range []error{s.LockErr, s.DontDumpErr, s.WipeOnForkErr} {
			if e != nil {
				res.ArenaErrs[i] = e.Error()
			}
		}
		// The arena must work even when unlocked.
		k, err := a.Alloc()
		if err != nil || len(k.Bytes()) != SlotSize {
			res.Skip = "arena unusable"
			return out()
		}
		k.Free()
		_ = a.Close()
	case "force":
		// What Harden refuses to do: lock future mappings under a finite
		// limit. (MCL_CURRENT would fail at once: the limit is below the
		// mapped size. MCL_FUTURE alone is accepted, and is the trap.)
		if err := unix.Mlockall(unix.MCL_FUTURE); err != nil {
			res.ForcedLock = err.Error()
		} else {
			res.ForcedLock = "ok"
		}
		// Print before allocating: the allocation is expected to kill us.
		_ = json.NewEncoder(os.Stdout).Encode(res)
	}
	d, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	res.Dumpable = d
	var rl unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_CORE, &rl)
	res.CoreSoft, res.CoreHard = rl.Cur, rl.Max
	if n, err := lockedBytes(); err == nil {
		res.LockedKB = n / 1024
	}
	if mib, _ := strconv.Atoi(os.Getenv(allocEnv)); mib > 0 {
		res.AllocMiB = mib
		var keep [][]byte
		for range mib / 16 {
			b := make([]byte, 16<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		runtime.KeepAlive(keep)
		res.AllocOK = true
	}
	res.RSSKB = rssKB()
	return out()
}

// keepFinite stands for "finite" in limitEnv.
const keepFinite = ^uint64(0) - 1

func parseLimit(v string) (uint64, error) {
	if v == "finite" {
		return keepFinite, nil
	}
	return strconv.ParseUint(v, 10, 64)
}

func rssKB() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
