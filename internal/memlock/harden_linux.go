package memlock

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Harden applies every protection with the default [Options].
func Harden() Report { return HardenWith(Options{}) }

// HardenWith applies the protections in order (dumpable, core limit,
// mlockall) and reads each back. It is idempotent. Call it once, early in
// main, before secrets are loaded.
func HardenWith(o Options) Report {
	return Report{Dumpable: setNotDumpable(), Core: setNoCore(), Mlockall: lockAll(o)}
}

// setNotDumpable: no core dump, and other processes of the same user can
// neither ptrace this one nor read /proc/<pid>/mem.
func setNotDumpable() Protection {
	p := Protection{Name: "dumpable"}
	err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	v, rerr := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if rerr == nil {
		p.ReadBack = "dumpable=" + strconv.Itoa(v)
	}
	switch {
	case err != nil:
		p.Err = errClass(err)
	case rerr != nil:
		p.Err = errClass(rerr)
	case v != 0:
		p.Err = ErrNotConfirmed
	default:
		p.Applied = true
	}
	return p
}

// setNoCore sets both the soft and the hard core limit to zero, so that
// nothing in the process can raise it again.
func setNoCore() Protection {
	p := Protection{Name: "core"}
	err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
	var rl unix.Rlimit
	rerr := unix.Getrlimit(unix.RLIMIT_CORE, &rl)
	if rerr == nil {
		p.ReadBack = "core soft=" + limitString(rl.Cur) + " hard=" + limitString(rl.Max)
	}
	switch {
	case err != nil:
		p.Err = errClass(err)
	case rerr != nil:
		p.Err = errClass(rerr)
	case rl.Cur != 0 || rl.Max != 0:
		p.Err = ErrNotConfirmed
	default:
		p.Applied = true
	}
	return p
}

// lockAll calls mlockall only when [mlockallAllowed] says later allocations
// cannot fail because of it, and confirms it through VmLck.
func lockAll(o Options) Protection {
	p := Protection{Name: "mlockall"}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
		p.Err = errClass(err)
		return p
	}
	limits := "memlock soft=" + limitString(rl.Cur) + " hard=" + limitString(rl.Max)
	capOK, _ := hasCapIPCLock()
	if err := mlockallAllowed(o, rl.Cur, rl.Cur == unix.RLIM_INFINITY, capOK); err != nil {
		p.Err = err
		p.ReadBack = limits + lockedSuffix()
		return p
	}
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE); err != nil {
		// The kernel refuses before changing anything, but make sure
		// MCL_FUTURE is not left half set.
		_ = unix.Munlockall()
		p.Err = errClass(err)
		p.ReadBack = limits + lockedSuffix()
		return p
	}
	locked, err := lockedBytes()
	if err != nil {
		p.Err = err
		p.ReadBack = limits
		return p
	}
	p.ReadBack = limits + " locked_bytes=" + strconv.FormatUint(locked, 10)
	if locked == 0 {
		p.Err = ErrNotConfirmed
		return p
	}
	p.Applied = true
	return p
}

func lockedSuffix() string {
	if n, err := lockedBytes(); err == nil {
		return " locked_bytes=" + strconv.FormatUint(n, 10)
	}
	return ""
}

// lockedBytes reads VmLck (printed in kB, meaning KiB) from the kernel's
// status file for this process.
func lockedBytes() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, errClass(err)
	}
	return parseVmLck(b)
}

func parseVmLck(status []byte) (uint64, error) {
	for line := range bytes.Lines(status) {
		v, ok := bytes.CutPrefix(line, []byte("VmLck:"))
		if !ok {
			continue
		}
		n, unit, ok := bytes.Cut(bytes.TrimSpace(v), []byte(" "))
		if !ok || string(bytes.TrimSpace(unit)) != "kB" {
			return 0, ErrUnreadable
		}
		kb, err := strconv.ParseUint(string(n), 10, 54)
		if err != nil {
			return 0, ErrUnreadable
		}
		return kb * 1024, nil
	}
	return 0, ErrUnreadable
}

// hasCapIPCLock reports whether CAP_IPC_LOCK is in the effective set: the
// kernel then ignores RLIMIT_MEMLOCK for mlock and mlockall.
func hasCapIPCLock() (bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // version 3 writes two words
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, errClass(err)
	}
	const bit = unix.CAP_IPC_LOCK
	return data[bit/32].Effective&(1<<(bit%32)) != 0, nil
}

func limitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return fmt.Sprint(v)
}
