package sandbox

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// errNoLandlock means the kernel cannot confine a child's filesystem
// access (Landlock missing or disabled); Start then refuses a Spec that
// asks for it.
var errNoLandlock = errors.New("sandbox: this kernel cannot confine filesystem access (Landlock unavailable)")

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

// handledFS is every filesystem right the running kernel knows, so that
// the ruleset denies all of them but what a rule allows.
func handledFS() (uint64, error) {
	abi, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 || int(abi) < 1 {
		return 0, errNoLandlock
	}
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
	return h, nil
}

// fsRule is one path (or open descriptor) and what may be done beneath it.
type fsRule struct {
	path   string
	fd     int // used when path is ""
	access uint64
}

// confineThread restricts the calling OS thread — and so every process it
// forks afterwards — to rules: Landlock domains are per thread and
// inherited across fork and execve. The caller's goroutine must be locked
// to its thread and never run anything else afterwards. Paths that do not
// exist are skipped.
func confineThread(rules []fsRule) error {
	handled, err := handledFS()
	if err != nil {
		return err
	}
	attr := unix.LandlockRulesetAttr{Handled_access_fs: handled}
	rfd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if e != 0 {
		return fmt.Errorf("%w: %v", errNoLandlock, e)
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
				return fmt.Errorf("sandbox: landlock rule: %w", err)
			}
			defer unix.Close(pfd)
			fd = pfd
		}
		access := r.access & handled
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("sandbox: landlock rule: %w", err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			access &= fsFile // a file takes file rights only
		}
		pb := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
		if _, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, rfd, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&pb)), 0, 0, 0); e != 0 {
			return fmt.Errorf("sandbox: landlock rule: %v", e)
		}
	}
	// Landlock needs no_new_privs (or CAP_SYS_ADMIN); it is per thread too.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox: no_new_privs: %w", err)
	}
	if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, rfd, 0, 0); e != 0 {
		return fmt.Errorf("%w: %v", errNoLandlock, e)
	}
	return nil
}

// fsRules turns a Spec's FSRules into Landlock rules, adding the program
// (read and execute), the working directory (everything) and every
// inherited descriptor that is a regular file (read).
func (l *launch) fsRules(dir string, files []*os.File) []fsRule {
	fs := l.spec.Filesystem
	var rules []fsRule
	add := func(paths []string, access uint64) {
		for _, p := range paths {
			rules = append(rules, fsRule{path: p, access: access})
		}
	}
	add(fs.Read, fsRead)
	add(fs.Exec, fsExec)
	add(fs.Write, writeFS)
	add([]string{l.spec.Path}, fsExec)
	add([]string{dir}, writeFS)
	for _, f := range files {
		var st unix.Stat_t
		if f != nil && unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			rules = append(rules, fsRule{fd: int(f.Fd()), access: unix.LANDLOCK_ACCESS_FS_READ_FILE})
		}
	}
	return rules
}
