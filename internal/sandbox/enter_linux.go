package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Enter is the child-side half of a confined start (a Spec with
// Filesystem set). A program that Start may run confined calls it as the
// very first thing in main (or TestMain), before it opens anything.
//
// Without the policy Start passes in the environment, Enter does nothing.
// With it, Enter removes it from the environment and, on one OS thread,
// empties the capability bounding set, clears ambient capabilities, locks
// the securebits, drops every capability, sets no_new_privs, applies the
// Landlock ruleset (filesystem, TCP, and signal and abstract-socket
// scoping where the kernel has them) and the seccomp filter, and then
// re-executes the program (/proc/self/exe) from that thread. execve
// replaces every thread, and the new image inherits that thread's
// credentials, domain and filter: the whole process is confined before it
// runs any code of its own. Per-thread confinement applied inside a
// running Go program would leave its other threads free; this is why the
// re-exec.
//
// In the re-executed image Enter records what was applied (see Confined)
// and returns. A layer the kernel lacks is skipped and reported; any other
// failure writes one line "sandbox: STEP: ERRNO" to stderr and exits with
// ExitEnterFailed, so the parent can say which step failed.
func Enter() {
	if s, ok := os.LookupEnv(reportEnv); ok {
		_ = os.Unsetenv(reportEnv)
		if r, err := ParseReport(s); err == nil {
			r.SelfTest = selfTest()
			entered.Lock()
			entered.r = r
			entered.Unlock()
		}
		return
	}
	s, ok := os.LookupEnv(policyEnv)
	if !ok {
		return
	}
	runtime.LockOSThread() // never unlocked: this thread execs or exits
	_ = os.Unsetenv(policyEnv)
	p, err := decodePolicy(s)
	if err != nil {
		enterFail("policy", unix.EINVAL)
	}
	rep, step, err := confineSelf(p)
	if err != nil {
		enterFail(step, err)
	}
	rep.Entered = true
	env := append(os.Environ(), reportEnv+"="+rep.encode())
	err = unix.Exec("/proc/self/exe", os.Args, env)
	enterFail("execve", err)
}

// errNoSeccompArch means this architecture has no filter here.
var errNoSeccompArch = errors.New("sandbox: no seccomp filter for this architecture")

var entered struct {
	sync.Mutex
	r Report
}

// Confined returns what Enter applied to this process; Entered is false
// when Enter did not confine it.
func Confined() Report {
	entered.Lock()
	defer entered.Unlock()
	r := entered.r
	r.Missing = append([]string(nil), r.Missing...)
	return r
}

// selfTest tries, from inside the confinement, what it must refuse: a
// directory outside every rule, and TCP.
func selfTest() *SelfTest {
	st := &SelfTest{OpenRoot: "ok", TCP: "ok"}
	if fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		st.OpenRoot = errnoName(err)
	} else {
		unix.Close(fd)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		st.TCP = errnoName(err)
		return st
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		st.TCP = errnoName(err)
	}
	return st
}

func errnoName(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
	}
	return "EINVAL"
}

func enterFail(step string, err error) {
	fmt.Fprintf(os.Stderr, "sandbox: %s: %s\n", step, errnoName(err))
	os.Exit(ExitEnterFailed)
}

// Linux securebits (linux/securebits.h).
const (
	secbitNoroot                = 1 << 0
	secbitNorootLocked          = 1 << 1
	secbitNoSetuidFixup         = 1 << 2
	secbitNoSetuidFixupLocked   = 1 << 3
	secbitKeepCapsLocked        = 1 << 5
	secbitNoCapAmbientRaise     = 1 << 6
	secbitNoCapAmbientRaiseLock = 1 << 7
	lockedSecurebits            = secbitNoroot | secbitNorootLocked | secbitNoSetuidFixup | secbitNoSetuidFixupLocked |
		secbitKeepCapsLocked | secbitNoCapAmbientRaise | secbitNoCapAmbientRaiseLock
)

// confineSelf applies p to the calling thread, in order. It returns the
// step that failed with the error.
func confineSelf(p *policy) (Report, string, error) {
	var rep Report

	// Capabilities. The bounding set and securebits need CAP_SETPCAP,
	// which the child has as root of its own user namespace; a child
	// started without one (no NoNetwork, no user namespace) has nothing to
	// drop there, and no_new_privs keeps it from gaining anything.
	if hasCap(unix.CAP_SETPCAP) {
		if err := unix.Prctl(unix.PR_SET_SECUREBITS, lockedSecurebits, 0, 0, 0); err != nil {
			return rep, "caps: securebits", err
		}
		for c := 0; c <= lastCap(); c++ {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
				return rep, "caps: bounding set", err
			}
		}
		rep.BoundingSet = true
	} else {
		rep.Missing = append(rep.Missing, "bounding_set")
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return rep, "caps: ambient", err
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if _, _, e := unix.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return rep, "caps: capset", e
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return rep, "no_new_privs", err
	}

	// Landlock.
	abi := landlockABI()
	rep.LandlockABI = abi
	if abi < 1 {
		rep.Missing = append(rep.Missing, "landlock")
	} else {
		var rules []fsRule
		add := func(paths []string, access uint64) {
			for _, path := range paths {
				rules = append(rules, fsRule{path: path, access: access})
			}
		}
		add(p.Read, fsRead)
		add(p.Exec, fsExec)
		add(p.Write, writeFS)
		add([]string{"/proc/self/exe"}, fsExec)
		add([]string{"."}, writeFS)
		for _, fd := range p.Files {
			var st unix.Stat_t
			if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
				rules = append(rules, fsRule{fd: fd, access: unix.LANDLOCK_ACCESS_FS_READ_FILE})
			}
		}
		ll, step, err := restrictSelf(abi, rules, p.NoNetwork)
		if err != nil {
			return rep, step, err
		}
		rep.Filesystem, rep.TCP, rep.Scoped = true, ll.tcp, ll.scoped
		if p.NoNetwork && !ll.tcp {
			rep.Missing = append(rep.Missing, "landlock_tcp")
		}
		if !ll.scoped {
			rep.Missing = append(rep.Missing, "landlock_scope")
		}
	}

	// seccomp, last: it refuses what the steps above no longer need.
	prog, err := seccompFilter(os.Getpid())
	if errors.Is(err, errNoSeccompArch) {
		rep.Missing = append(rep.Missing, "seccomp")
		return rep, "", nil
	}
	if err != nil {
		return rep, "seccomp: build", unix.EINVAL
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		if e == unix.ENOSYS || e == unix.EINVAL {
			rep.Missing = append(rep.Missing, "seccomp")
			return rep, "", nil
		}
		return rep, "seccomp: install", e
	}
	rep.Seccomp = true
	return rep, "", nil
}

// hasCap reports whether cap is in the calling thread's effective set.
func hasCap(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if _, _, e := unix.RawSyscall(unix.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return false
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}

// lastCap is the highest capability number the kernel knows.
func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(string(trimNL(b))); err == nil && n > 0 && n < 64 {
			return n
		}
	}
	return 63 // dropping numbers past the last is refused with EINVAL, ignored
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
