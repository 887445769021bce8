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
//   - Spec.NoNetwork runs the child in a new network namespace: only lo,
//     and lo down. A user namespace owns it when the relay cannot create
//     one directly (not root, or root without CAP_SYS_ADMIN). If no
//     namespace can be created, Start fails; it never falls back to running
//     the child with the network.
//   - Spec.SHA256 pins the binary: it is hashed through an open descriptor
//     and executed through that same descriptor (/proc/self/fd/N), so a file
//     swapped in after the check is not what runs.
//
// What it does not cover: a grandchild that leaves the process group
// (setsid, setpgid) escapes Stop and the kill at exit, and Pdeathsig reaches
// only the direct child; NoNetwork blocks every network interface but not
// Unix sockets reachable by path in the filesystem; SHA256 pinning defeats a
// path swap, not someone with write access rewriting the pinned file in
// place between the hash and the exec.
//
// HardenChild is the child-side half: a program started here calls it first
// thing to make itself non-dumpable, drop core dumps and set no_new_privs.
// SocketPair gives a private channel to a child without any TCP port.
//
// Only Linux is supported; elsewhere Start, HardenChild and SocketPair return
// an error wrapping errors.ErrUnsupported.
package sandbox
