package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
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
// In the re-executed image the policy is gone and Enter does nothing; the
// environment is again exactly the Spec's. Confined measures the result
// from the inside. A layer the kernel lacks is skipped (Confined reports
// it missing); any other failure writes one line "sandbox: STEP: ERRNO"
// to stderr and exits with ExitEnterFailed, so the parent can say which
// step failed.
func Enter() {
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
	if p.SyncFD >= 3 {
		var b [1]byte
		n, err := unix.Read(p.SyncFD, b[:])
		for err == unix.EINTR {
			n, err = unix.Read(p.SyncFD, b[:])
		}
		if n != 1 {
			if err == nil {
				err = unix.EPIPE
			}
			enterFail("wait for id maps", err)
		}
		unix.Close(p.SyncFD)
		p.SyncFD = -1
	}
	if !hasCap(unix.CAP_SETPCAP) && !p.Mapped && unix.Getuid() == 0 {
		// The child executed before its id maps existed, so execve gave
		// it no capabilities in its own user namespace. Now that uid 0 is
		// mapped, one more execve as that uid gives it the namespace's
		// full set, which is what it needs to empty the bounding set and
		// lock the securebits below.
		p.Mapped = true
		enc, err := p.encode()
		if err != nil {
			enterFail("policy", unix.EINVAL)
		}
		err = unix.Exec("/proc/self/exe", os.Args, append(os.Environ(), policyEnv+"="+enc))
		enterFail("execve as mapped root", err)
	}
	if step, err := confineSelf(p); err != nil {
		enterFail(step, err)
	}
	err = unix.Exec("/proc/self/exe", os.Args, os.Environ())
	enterFail("execve", err)
}

// errNoSeccompArch means this architecture has no filter here.
var errNoSeccompArch = errors.New("sandbox: no seccomp filter for this architecture")

// Confined measures this process's confinement from the inside, now: the
// capability sets, no_new_privs and seccomp mode from /proc/self/status,
// the kernel's Landlock ABI, and a self-test of what Landlock and seccomp
// must refuse (opening "/" and a TCP connection). A confined child calls
// it before anything of its own changes those (HardenChild sets
// no_new_privs too) and sends the result to the relay, which checks it
// against MeasureChild.
func Confined() Report {
	var r Report
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return r
	}
	var c Confinement
	c.parseStatus(string(b))
	if len(c.Errors) > 0 {
		return r
	}
	r.Entered = c.NoNewPrivs && c.CapEff == 0 && c.CapPrm == 0 && c.CapInh == 0 && c.CapAmb == 0
	if !r.Entered {
		return r
	}
	r.LandlockABI = landlockABI()
	r.SelfTest = selfTest()
	r.Filesystem = r.SelfTest.OpenRoot == "EACCES"
	r.Seccomp = c.Seccomp == 2
	r.BoundingSet = c.CapBnd == 0
	// Landlock shows nothing in /proc: TCP is refused when the self-test's
	// connect was (by Landlock, or before it by seccomp), and Enter always
	// scopes signals and abstract sockets on an ABI that has scoping.
	r.TCP = r.SelfTest.TCP != "ok"
	r.Scoped = r.Filesystem && r.LandlockABI >= 6
	if r.LandlockABI < 1 {
		r.Missing = append(r.Missing, "landlock")
	} else {
		if r.LandlockABI < 4 {
			r.Missing = append(r.Missing, "landlock_tcp")
		}
		if r.LandlockABI < 6 {
			r.Missing = append(r.Missing, "landlock_scope")
		}
	}
	if !r.Seccomp {
		r.Missing = append(r.Missing, "seccomp")
	}
	if !r.BoundingSet {
		r.Missing = append(r.Missing, "bounding_set")
	}
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
func confineSelf(p *policy) (string, error) {

	// Capabilities. The bounding set and securebits need CAP_SETPCAP,
	// which the child has as root of its own user namespace; a child
	// started without one (no NoNetwork, no user namespace) has nothing to
	// drop there, and no_new_privs keeps it from gaining anything.
	if hasCap(unix.CAP_SETPCAP) {
		if err := unix.Prctl(unix.PR_SET_SECUREBITS, lockedSecurebits, 0, 0, 0); err != nil {
			return "caps: securebits", err
		}
		for c := 0; c <= lastCap(); c++ {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
				return "caps: bounding set", err
			}
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return "caps: ambient", err
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if _, _, e := unix.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return "caps: capset", e
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return "no_new_privs", err
	}

	// Landlock.
	// Landlock, where the kernel has it.
	if abi := landlockABI(); abi >= 1 {
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
		if step, err := restrictSelf(abi, rules, p.NoNetwork); err != nil {
			return step, err
		}
	}

	// seccomp, last: it refuses what the steps above no longer need.
	prog, err := seccompFilter(os.Getpid())
	if errors.Is(err, errNoSeccompArch) {
		return "", nil // Confined reports it
	}
	if err != nil {
		return "seccomp: build", unix.EINVAL
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		if e == unix.ENOSYS || e == unix.EINVAL {
			return "", nil // no seccomp in this kernel: Confined reports it
		}
		return "seccomp: install", e
	}
	return "", nil
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
