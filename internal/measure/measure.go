// Package measure reads back, from the operating system, the state that
// GET /audit reports (SPEC A1): the sockets this process really listens on
// and talks over, and the memory and debugging protections really in
// force. Nothing here is taken from configuration; every value is what the
// kernel says at the moment it was read.
//
// On Linux the sockets come from /proc: the process's socket inodes from
// the /proc/self/fd links, matched against /proc/self/net/tcp and tcp6. The
// protections come from prctl, getrlimit and /proc/self/status. Elsewhere
// the functions return errors.ErrUnsupported.
package measure

import (
	"net/netip"
	"slices"
)

// Socket is one TCP socket of this process.
type Socket struct {
	// Addr is the local address for a listener and the remote address for a
	// connection. IPv4-mapped IPv6 addresses are unmapped, so a dual-stack
	// socket bound to ::ffff:127.0.0.1 reads as 127.0.0.1.
	Addr netip.AddrPort `json:"addr"`
	// Loopback is true when Addr is in 127.0.0.0/8 or is ::1: a listener
	// only local processes can reach, or a connection that stays on the
	// machine.
	Loopback bool `json:"loopback"`
}

func newSocket(ap netip.AddrPort) Socket {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	return Socket{Addr: ap, Loopback: ap.Addr().IsLoopback()}
}

// sortSockets orders sockets by address so reports are stable.
func sortSockets(s []Socket) {
	slices.SortFunc(s, func(a, b Socket) int { return a.Addr.Compare(b.Addr) })
}
