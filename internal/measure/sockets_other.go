//go:build !linux

package measure

import (
	"errors"
	"net/netip"
)

// Listeners is only measured on Linux.
func Listeners() ([]Socket, error) { return nil, errors.ErrUnsupported }

// Connections is only measured on Linux.
func Connections() ([]Socket, error) { return nil, errors.ErrUnsupported }

// ErrNoPeer is returned by PeerUID when the peer is unknown.
var ErrNoPeer = errors.New("measure: the connection's peer socket is not on this machine")

// PeerUID is only measured on Linux.
func PeerUID(local, remote netip.AddrPort) (uint32, error) { return 0, errors.ErrUnsupported }
