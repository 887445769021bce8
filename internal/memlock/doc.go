// Package memlock hardens the process against memory disclosure and keeps
// small secrets (encryption keys) in a locked region outside the Go heap.
//
// What it promises:
//
//   - [Harden] turns off core dumps and same-user ptrace/proc access
//     (PR_SET_DUMPABLE 0), sets RLIMIT_CORE to 0, and locks all memory with
//     mlockall(MCL_CURRENT|MCL_FUTURE) only when that cannot make later
//     allocations fail (see [Options.MlockallMinLimit]). Every protection is
//     read back from the kernel; the [Report] never claims one the kernel
//     does not confirm.
//   - An [Arena] is one anonymous mmap region, between two PROT_NONE guard
//     pages, that is mlock'ed (kept out of swap) and advised MADV_DONTDUMP
//     (kept out of core dumps) and MADV_WIPEONFORK (a forked child sees
//     zeros). It hands out fixed 32-byte [Key] slots. Free zeroes a slot
//     before reuse; Close zeroes the region before unmapping it. The arena
//     reports which of its protections the kernel actually granted: when
//     mlock is refused (RLIMIT_MEMLOCK), the arena still works, unlocked,
//     and says so.
//
// Errors name a class (an errno, or one of this package's sentinels), never
// a path or a value.
//
// On systems other than Linux the arena is an ordinary heap buffer (still
// zeroed on Free and Close) and Harden applies nothing; both report it.
package memlock
