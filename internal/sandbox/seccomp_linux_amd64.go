package sandbox

import "golang.org/x/sys/unix"

// nativeArch is the only audit architecture the filter lets through.
const nativeArch = unix.AUDIT_ARCH_X86_64

// checkX32: x86-64 also accepts x32 syscalls (numbers from 0x40000000)
// under the same architecture value; the filter refuses them.
const checkX32 = true
