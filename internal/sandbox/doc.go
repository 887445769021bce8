// Package sandbox is the one place the relay starts other programs (the
// embedded engine, later the subscription CLIs). What it promises for every
// child it starts:
//
//   - No shell and no PATH lookup, ever: Spec.Path is an absolute path and
//     Spec.Args is handed to execve as the argument vector, byte for byte.
//   - Exactly Spec.Env as the environment and exactly Spec.ExtraFiles as
//     descriptors past stderr; nothing of the relay's leaks in. (To make
//     sure of the second, Start marks every descriptor of the relay from 3
//     up close-on-exec, including any the relay itself inherited without
//     the flag.)
//   - A private working directory (a fresh 0700 temp dir, removed after the
//     child exits) unless the caller names one.
//   - Stderr drained into a capped ring buffer, so a chatty child never
//     blocks on a full pipe and never reaches a log: only Child.Stderr
//     returns the tail.
//   - Containment: the child leads its own process group; Stop and StopAll
//     signal the whole group (SIGTERM, a grace period, then SIGKILL), and
//     when the child exits whatever it left in its group is killed. Every
//     child carries Pdeathsig SIGKILL, and because Pdeathsig fires when the
//     *thread* that forked exits, all children are forked from one goroutine
//     locked to its OS thread for the Supervisor's whole life.
//   - Spec.NoNetwork runs the child in a new network namespace (only lo,
//     and lo down) owned by a new user namespace, for root as for anyone:
//     uid and gid 0 inside map to the relay's own ids, nothing else, with
//     setgroups denied. The relay (no thread of which is ever confined)
//     writes the maps once the child has executed: a non-dumpable relay's
//     fresh forks have root-owned /proc files an ordinary user could not
//     write to. A confined child waits in Enter until they are written;
//     any other child may run unmapped for that moment. Only root falls back, where no user
//     namespace can be made, to a network namespace alone. If neither
//     works, Start fails; it never runs the child with the network.
//   - Spec.Filesystem confines the child completely, and the child does it
//     to itself: it calls Enter first thing, which (policy from one
//     environment variable, removed at once) empties the capability
//     bounding set, locks the securebits, drops every capability, sets
//     no_new_privs, applies Landlock (the filesystem rules, no TCP bind or
//     connect with NoNetwork, and signals and abstract unix sockets scoped
//     to the child) and a seccomp filter (no ptrace, process_vm_*, setns,
//     unshare, mounts, bpf, perf, keyrings, module loading, pidfds,
//     io_uring or new sockets; clone without CLONE_NEW* flags; signals to
//     itself only; foreign architectures killed), all on one thread, and
//     then re-executes itself from that thread, so the whole new process
//     starts confined. No relay thread is ever inside a child's domain. A
//     layer the kernel lacks is skipped and reported (Report.Missing); a
//     step that fails ends the child with ExitEnterFailed and a line
//     EnterFailure reads. MeasureChild reads the result back from the
//     kernel (capabilities, no_new_privs, seccomp, namespaces, id maps);
//     the child's own Report carries a self-test for what /proc does not
//     show (Landlock).
//   - Spec.SHA256 pins the binary: it is hashed through an open descriptor
//     and executed through that same descriptor (/proc/self/fd/N), so a file
//     swapped in after the check is not what runs.
//
// What it does not cover: a grandchild that leaves the process group
// (setsid, setpgid) escapes Stop and the kill at exit, and Pdeathsig reaches
// only the direct child; NoNetwork alone (without Filesystem) blocks every
// network interface but not Unix sockets reachable by path; a child that
// does not call Enter is not confined (its Report says so, and the engine
// provider refuses such a child); the seccomp filter exists for amd64 and
// arm64 only; SHA256 pinning defeats a path swap, not someone with write
// access rewriting the pinned file in place between the hash and the exec.
//
// HardenChild is for every child: a program started here calls it early to
// make itself non-dumpable, drop core dumps and set no_new_privs. Probe is
// for tests: it tries, from inside a child, what the confinement refuses.
// SocketPair gives a private channel to a child without any TCP port.
//
// Only Linux is supported; elsewhere Start, HardenChild and SocketPair return
// an error wrapping errors.ErrUnsupported.
package sandbox
