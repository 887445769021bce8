package sandbox

import (
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Probe tries one thing a confined child must not be able to do and
// returns "ok" when it worked or the errno's name when it was refused.
// Tests call it inside a confined child (the engine child runs it only for
// a probe frame, which is enabled in tests alone) to show each door is
// shut. kind and arg:
//
//	tcp ADDR          connect a TCP socket to ADDR (host:port, IPv4)
//	unix PATH         connect to a pathname unix socket
//	abstract NAME     connect to an abstract unix socket
//	socket FAMILY     make a socket: inet, inet6, netlink, packet, unix
//	vm_readv PID:ADDR read one byte of another process's memory
//	ptrace_attach PID, ptrace_seize PID
//	setns PID         join PID's network namespace
//	kill0 PID         signal 0 (existence check) to PID
//	kill PID          SIGWINCH (ignored by default) to PID
//	bpf               create a BPF map
//	read PATH         read a file
func Probe(kind, arg string) string {
	switch kind {
	case "tcp":
		host, port, ok := strings.Cut(arg, ":")
		p, err := strconv.Atoi(port)
		ip := parseIPv4(host)
		if !ok || err != nil || ip == nil {
			return "EINVAL"
		}
		sa := &unix.SockaddrInet4{Port: p}
		copy(sa.Addr[:], ip)
		return connect(unix.AF_INET, sa)
	case "unix":
		return connect(unix.AF_UNIX, &unix.SockaddrUnix{Name: arg})
	case "abstract":
		return connect(unix.AF_UNIX, &unix.SockaddrUnix{Name: "@" + arg})
	case "socket":
		fam := map[string]int{"inet": unix.AF_INET, "inet6": unix.AF_INET6, "netlink": unix.AF_NETLINK, "packet": unix.AF_PACKET, "unix": unix.AF_UNIX}[arg]
		if fam == 0 {
			return "EINVAL"
		}
		typ := unix.SOCK_DGRAM
		if fam == unix.AF_PACKET {
			typ = unix.SOCK_RAW
		}
		fd, err := unix.Socket(fam, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return errnoName(err)
		}
		unix.Close(fd)
		return "ok"
	case "vm_readv":
		ps, as, _ := strings.Cut(arg, ":")
		pid, err1 := strconv.Atoi(ps)
		addr, err2 := strconv.ParseUint(as, 0, 64)
		if err1 != nil || err2 != nil {
			return "EINVAL"
		}
		var b [1]byte
		local := []unix.Iovec{{Base: &b[0], Len: 1}}
		remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: 1}}
		if _, err := unix.ProcessVMReadv(pid, local, remote, 0); err != nil {
			return errnoName(err)
		}
		return "ok"
	case "ptrace_attach", "ptrace_seize":
		pid, err := strconv.Atoi(arg)
		if err != nil {
			return "EINVAL"
		}
		// ptrace binds the tracer's thread: attach and detach on one.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		req := uintptr(unix.PTRACE_ATTACH)
		if kind == "ptrace_seize" {
			req = unix.PTRACE_SEIZE
		}
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, req, uintptr(pid), 0, 0, 0, 0); e != 0 {
			return errnoName(e)
		}
		_, _, _ = unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, 0, 0, 0)
		return "ok"
	case "setns":
		fd, err := unix.Open("/proc/"+arg+"/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return errnoName(err)
		}
		defer unix.Close(fd)
		runtime.LockOSThread() // a thread that changed namespace must not be reused
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			return errnoName(err)
		}
		return "ok"
	case "kill0", "kill":
		pid, err := strconv.Atoi(arg)
		if err != nil || pid <= 0 {
			return "EINVAL"
		}
		sig := unix.Signal(0)
		if kind == "kill" {
			sig = unix.SIGWINCH
		}
		if err := unix.Kill(pid, sig); err != nil {
			return errnoName(err)
		}
		return "ok"
	case "bpf":
		// BPF_MAP_CREATE of a one-entry array map.
		attr := [5]uint32{2, 4, 4, 1, 0}
		fd, _, e := unix.Syscall(unix.SYS_BPF, 0, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
		if e != 0 {
			return errnoName(e)
		}
		unix.Close(int(fd))
		return "ok"
	case "read":
		fd, err := unix.Open(arg, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return errnoName(err)
		}
		defer unix.Close(fd)
		var b [1]byte
		if _, err := unix.Read(fd, b[:]); err != nil {
			return errnoName(err)
		}
		return "ok"
	}
	return "EINVAL"
}

func connect(family int, sa unix.Sockaddr) string {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errnoName(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, sa); err != nil {
		return errnoName(err)
	}
	return "ok"
}

func parseIPv4(s string) []byte {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil
	}
	ip := make([]byte, 4)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 {
			return nil
		}
		ip[i] = byte(n)
	}
	return ip
}
