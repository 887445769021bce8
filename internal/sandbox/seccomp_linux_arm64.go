package sandbox

import "golang.org/x/sys/unix"

// nativeArch is the only audit architecture the filter lets through.
const nativeArch = unix.AUDIT_ARCH_AARCH64

// checkX32: arm64 has no second syscall table under its architecture.
const checkX32 = false
