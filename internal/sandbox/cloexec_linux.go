package sandbox

import (
	"math"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// markInheritedCloexec sets close-on-exec on every descriptor of this
// process from 3 up. Go opens everything close-on-exec, but a descriptor
// the relay itself inherited without the flag (from a shell, a service
// manager, a parent's leak) would otherwise pass silently into every child:
// fork copies the whole table and exec closes only what is marked. A child
// gets exactly its Files; the runtime clears the flag on those in the child
// as it moves them into place. The relay keeps using its descriptors; only
// what it execs loses them, and it execs nothing outside this package.
func markInheritedCloexec() {
	if unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	// Kernels before 5.11: walk the table instead.
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < 3 || uintptr(fd) == d.Fd() {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
		}
	}
}
