package measure

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// findPeer scans a /proc/net/tcp{,6} table for the socket whose local
// address is remote and whose remote address is local: the other end of
// the connection (local, remote). Malformed rows are skipped: a row that
// does not parse cannot be the one wanted. It stops at the first match.
func findPeer(table string, order binary.ByteOrder, local, remote netip.AddrPort) (uint32, bool) {
	for i, line := range strings.Split(table, "\n") {
		if i == 0 || strings.TrimSpace(line) == "" {
			continue
		}
		e, err := parseTCPLine(line, order)
		if err != nil {
			continue
		}
		if e.State == stateEstablished && unmapAP(e.Local) == remote && unmapAP(e.Remote) == local {
			return e.UID, true
		}
	}
	return 0, false
}

func unmapAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
