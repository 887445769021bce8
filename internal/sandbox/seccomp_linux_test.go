//go:build linux && (amd64 || arm64)

package sandbox

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// runBPF interprets the classic-BPF subset the filter uses over one
// struct seccomp_data, as the kernel would, and returns the action.
func runBPF(t *testing.T, prog []unix.SockFilter, nr, arch uint32, arg0 uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.LittleEndian.PutUint32(data[0:], nr)
	binary.LittleEndian.PutUint32(data[4:], arch)
	binary.LittleEndian.PutUint64(data[16:], arg0)
	var a uint32
	for pc := 0; pc < len(prog); {
		in := prog[pc]
		switch in.Code {
		case bpfLdAbsW:
			if in.K%4 != 0 || int(in.K)+4 > len(data) {
				t.Fatalf("pc %d: load out of range", pc)
			}
			a = binary.LittleEndian.Uint32(data[in.K:])
			pc++
		case bpfJeqK, bpfJgeK, bpfJsetK:
			var cond bool
			switch in.Code {
			case bpfJeqK:
				cond = a == in.K
			case bpfJgeK:
				cond = a >= in.K
			default:
				cond = a&in.K != 0
			}
			off := int(in.Jf)
			if cond {
				off = int(in.Jt)
			}
			pc += 1 + off
		case bpfRetK:
			return in.K
		default:
			t.Fatalf("pc %d: unexpected opcode %#x", pc, in.Code)
		}
	}
	t.Fatal("the program ran off its end")
	return 0
}

func TestSeccompFilter(t *testing.T) {
	const pid = 4242
	prog, err := seccompFilter(pid)
	if err != nil {
		t.Fatal(err)
	}
	run := func(nr uint32, arg0 uint64) uint32 { return runBPF(t, prog, nr, nativeArch, arg0) }

	if got := runBPF(t, prog, unix.SYS_READ, 0x40000003 /* i386 */, 0); got != retKill {
		t.Errorf("foreign architecture: %#x, want kill", got)
	}
	for _, nr := range deniedSyscalls {
		if got := run(nr, 0); got != retEPERM {
			t.Errorf("syscall %d: %#x, want EPERM", nr, got)
		}
	}
	for _, nr := range []uint32{unix.SYS_READ, unix.SYS_WRITE, unix.SYS_MMAP, unix.SYS_FUTEX, unix.SYS_OPENAT, unix.SYS_EXECVE, unix.SYS_MEMFD_CREATE, unix.SYS_GETPID} {
		if got := run(nr, 0); got != retAllow {
			t.Errorf("syscall %d: %#x, want allow", nr, got)
		}
	}
	if checkX32 {
		if got := run(0x40000000|unix.SYS_PTRACE, 0); got != retEPERM {
			t.Errorf("x32 ptrace: %#x, want EPERM", got)
		}
		if got := run(0x40000000|unix.SYS_READ, 0); got != retEPERM {
			t.Errorf("x32 read: %#x, want EPERM", got)
		}
	}
	if got := run(unix.SYS_CLONE3, 0); got != retENOSYS {
		t.Errorf("clone3: %#x, want ENOSYS", got)
	}
	thread := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM)
	if got := run(unix.SYS_CLONE, thread); got != retAllow {
		t.Errorf("clone of a thread: %#x, want allow", got)
	}
	if got := run(unix.SYS_CLONE, uint64(unix.SIGCHLD)); got != retAllow {
		t.Errorf("fork-like clone: %#x, want allow", got)
	}
	for _, f := range []uint64{unix.CLONE_NEWUSER, unix.CLONE_NEWNET, unix.CLONE_NEWNS, unix.CLONE_NEWPID, unix.CLONE_NEWIPC, unix.CLONE_NEWUTS, unix.CLONE_NEWCGROUP} {
		if got := run(unix.SYS_CLONE, thread|f); got != retEPERM {
			t.Errorf("clone with %#x: %#x, want EPERM", f, got)
		}
	}
	for _, nr := range selfSignalSyscalls {
		if got := run(nr, pid); got != retAllow {
			t.Errorf("syscall %d at itself: %#x, want allow", nr, got)
		}
		for _, other := range []uint64{1, pid + 1, 0, 1<<32 | pid, 0xffffffff /* -1 */, 0xffffffffffffffff, uint64(uint32(0xffffffff - pid + 1))} {
			if got := run(nr, other); got != retEPERM {
				t.Errorf("syscall %d at %#x: %#x, want EPERM", nr, other, got)
			}
		}
	}
}
