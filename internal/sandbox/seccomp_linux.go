//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"

	"golang.org/x/sys/unix"
)

// deniedSyscalls are refused with EPERM in every confined child: ways to
// reach other processes (ptrace, process_vm_*, pidfds, keyrings, bpf,
// perf), to change namespaces or mounts, to load kernel code, and every
// way to make a socket (the child talks only over the socket it
// inherited; io_uring could open sockets past this filter, so it goes
// too).
var deniedSyscalls = []uint32{
	unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV,
	unix.SYS_SETNS, unix.SYS_UNSHARE,
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT,
	unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT, unix.SYS_FSPICK,
	unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE, unix.SYS_MOUNT_SETATTR,
	unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN,
	unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY,
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD,
	unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
	unix.SYS_USERFAULTFD, unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT,
	unix.SYS_PIDFD_OPEN, unix.SYS_PIDFD_GETFD, unix.SYS_PIDFD_SEND_SIGNAL,
	unix.SYS_TKILL,
	unix.SYS_SOCKET, unix.SYS_SOCKETPAIR,
	unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
}

// selfSignalSyscalls may target only the child itself: their first
// argument must be the child's own pid.
var selfSignalSyscalls = []uint32{unix.SYS_KILL, unix.SYS_TGKILL, unix.SYS_RT_SIGQUEUEINFO, unix.SYS_RT_TGSIGQUEUEINFO}

// cloneNewFlags are the CLONE_NEW* flags clone(2) takes in its first
// argument (CLONE_NEWTIME shares its bit with the exit signal there, and
// unshare, which takes it, is refused outright).
const cloneNewFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// Offsets in struct seccomp_data (little-endian: the low word of an
// argument comes first).
const (
	offNR      = 0
	offArch    = 4
	offArg0Lo  = 16
	offArg0Hi  = 20
	retAllow   = unix.SECCOMP_RET_ALLOW
	retKill    = unix.SECCOMP_RET_KILL_PROCESS
	retEPERM   = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS  = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	bpfLdAbsW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfJeqK    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJgeK    = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	bpfJsetK   = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfRetK    = unix.BPF_RET | unix.BPF_K
	x32Syscall = 0x40000000
)

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// seccompFilter builds the child's filter for pid (its own pid, which
// execve keeps). Every jump is short and forward: each check is a small
// block that ends in its own returns, so no offset can overflow.
//
//	arch != native                 -> kill the process
//	nr >= x32 base (x86-64)        -> EPERM
//	nr in deniedSyscalls           -> EPERM
//	clone with a CLONE_NEW* flag   -> EPERM
//	clone3                         -> ENOSYS (libc falls back to clone)
//	kill & co. at another pid      -> EPERM
//	anything else                  -> allow
func seccompFilter(pid int) ([]unix.SockFilter, error) {
	if pid <= 0 {
		return nil, errors.New("sandbox: seccomp: bad pid")
	}
	p := []unix.SockFilter{
		stmt(bpfLdAbsW, offArch),
		jump(bpfJeqK, nativeArch, 1, 0),
		stmt(bpfRetK, retKill),
		stmt(bpfLdAbsW, offNR),
	}
	if checkX32 {
		p = append(p, jump(bpfJgeK, x32Syscall, 0, 1), stmt(bpfRetK, retEPERM))
	}
	for _, nr := range deniedSyscalls {
		p = append(p, jump(bpfJeqK, nr, 0, 1), stmt(bpfRetK, retEPERM))
	}
	p = append(p, jump(bpfJeqK, unix.SYS_CLONE3, 0, 1), stmt(bpfRetK, retENOSYS))
	// clone: the kernel reads only the low 32 bits of its flags.
	p = append(p,
		jump(bpfJeqK, unix.SYS_CLONE, 0, 4),
		stmt(bpfLdAbsW, offArg0Lo),
		jump(bpfJsetK, cloneNewFlags, 0, 1),
		stmt(bpfRetK, retEPERM),
		stmt(bpfRetK, retAllow),
	)
	for _, nr := range selfSignalSyscalls {
		p = append(p,
			jump(bpfJeqK, nr, 0, 6),
			stmt(bpfLdAbsW, offArg0Hi),
			jump(bpfJeqK, 0, 0, 3),
			stmt(bpfLdAbsW, offArg0Lo),
			jump(bpfJeqK, uint32(pid), 0, 1),
			stmt(bpfRetK, retAllow),
			stmt(bpfRetK, retEPERM),
		)
	}
	p = append(p, stmt(bpfRetK, retAllow))
	if len(p) > 4096 { // BPF_MAXINSNS
		return nil, errors.New("sandbox: seccomp: filter too long")
	}
	return p, nil
}
