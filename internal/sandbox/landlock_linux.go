package sandbox

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock access rights by ABI version.
const (
	fsABI1 = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	fsRead  = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	fsExec  = fsRead | unix.LANDLOCK_ACCESS_FS_EXECUTE
	fsFile  = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	allFS   = fsABI1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	writeFS = allFS &^ unix.LANDLOCK_ACCESS_FS_EXECUTE
)

// landlockABI is the kernel's Landlock ABI version, 0 when Landlock is
// missing or disabled.
func landlockABI() int {
	abi, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 || int(abi) < 1 {
		return 0
	}
	return int(abi)
}

// handledFS is every filesystem right ABI abi knows, so that the ruleset
// denies all of them but what a rule allows.
func handledFS(abi int) uint64 {
	h := uint64(fsABI1)
	if abi >= 2 {
		h |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		h |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		h |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return h
}

// fsRule is one path (or open descriptor) and what may be done beneath it.
type fsRule struct {
	path   string
	fd     int // used when path is ""
	access uint64
}

// restrictSelf confines the calling thread — and what it executes — to
// rules: Landlock domains are per thread and inherited across fork and
// execve. With noNetwork (and ABI 4+) the ruleset handles TCP bind and
// connect and allows neither; with ABI 6+ it also scopes signals and
// abstract unix sockets to the domain. Paths that do not exist are
// skipped. The thread must already have no_new_privs.
func restrictSelf(abi int, rules []fsRule, noNetwork bool) (string, error) {
	handled := handledFS(abi)
	attr := unix.LandlockRulesetAttr{Handled_access_fs: handled}
	if noNetwork && abi >= 4 {
		attr.Handled_access_net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	if abi >= 6 {
		attr.Scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
	}
	rfd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if e != 0 {
		return "landlock: create_ruleset", e
	}
	defer unix.Close(int(rfd))
	for _, r := range rules {
		fd := r.fd
		if r.path != "" {
			pfd, err := unix.Open(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			if err != nil {
				return "landlock: open rule path", err
			}
			defer unix.Close(pfd)
			fd = pfd
		}
		access := r.access & handled
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return "landlock: stat rule path", err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			access &= fsFile // a file takes file rights only
		}
		pb := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
		if _, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, rfd, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&pb)), 0, 0, 0); e != 0 {
			return "landlock: add_rule", e
		}
	}
	if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, rfd, 0, 0); e != 0 {
		return "landlock: restrict_self", e
	}
	return "", nil
}
