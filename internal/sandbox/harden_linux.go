package sandbox

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// HardenChild is for the child side: a program started through this package
// calls it first thing. It makes the process non-dumpable (no core file, no
// ptrace attach or /proc/<pid>/mem read by same-uid processes), sets the
// core size limit to 0, and sets no_new_privs so nothing it executes can
// gain privileges. Dumpability has to be set by the child itself: execve
// resets it.
func HardenChild() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox: PR_SET_DUMPABLE: %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("sandbox: RLIMIT_CORE: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox: PR_SET_NO_NEW_PRIVS: %w", err)
	}
	return nil
}

// SocketPair returns the two ends of a connected AF_UNIX stream socket, a
// private channel to a child that no other process can connect to (unlike a
// TCP port). Pass child in Spec.ExtraFiles and close it after Start; keep
// parent. Both ends are close-on-exec here, so neither leaks into any other
// program this process starts; the child end becomes inheritable only in
// the child it is handed to. The parent end is non-blocking, so reads and
// writes on it honour deadlines.
func SocketPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: socketpair: %w", err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("sandbox: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sandbox-parent"), os.NewFile(uintptr(fds[1]), "sandbox-child"), nil
}
