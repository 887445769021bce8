package measure

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
)

// ErrNoPeer is returned by PeerUID when no socket on this machine is the
// other end of the connection (it is not local, or it closed meanwhile).
var ErrNoPeer = errors.New("measure: the connection's peer socket is not on this machine")

// PeerUID returns the uid that owns the other end of a TCP connection
// accepted by this process, where local and remote are the connection's
// own addresses. For a loopback connection the peer's socket is in this
// network namespace's socket table with the two addresses swapped, and the
// table names its owner. Non-local peers give ErrNoPeer.
func PeerUID(local, remote netip.AddrPort) (uint32, error) {
	local, remote = unmapAP(local), unmapAP(remote)
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		data, err := os.ReadFile(table)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("measure: %w", err)
		}
		if uid, ok := findPeer(string(data), binary.NativeEndian, local, remote); ok {
			return uid, nil
		}
	}
	return 0, ErrNoPeer
}
