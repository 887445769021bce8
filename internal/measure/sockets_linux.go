package measure

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Listeners returns the TCP sockets this process listens on.
func Listeners() ([]Socket, error) {
	return ownSockets(stateListen, func(e tcpEntry) Socket { return newSocket(e.Local) })
}

// Connections returns the established TCP connections of this process,
// by remote address.
func Connections() ([]Socket, error) {
	return ownSockets(stateEstablished, func(e tcpEntry) Socket { return newSocket(e.Remote) })
}

func ownSockets(state uint8, pick func(tcpEntry) Socket) ([]Socket, error) {
	inodes, err := socketInodes()
	if err != nil {
		return nil, err
	}
	out := []Socket{}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		data, err := os.ReadFile(table)
		if errors.Is(err, fs.ErrNotExist) {
			continue // no IPv6 in this kernel
		}
		if err != nil {
			return nil, fmt.Errorf("measure: %w", err)
		}
		entries, err := parseTCPTable(string(data), binary.NativeEndian)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.State == state && inodes[e.Inode] {
				out = append(out, pick(e))
			}
		}
	}
	sortSockets(out)
	return out, nil
}

// socketInodes returns the inodes of the sockets among this process's open
// file descriptors, from their "socket:[inode]" links.
func socketInodes() (map[uint64]bool, error) {
	const dir = "/proc/self/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	inodes := make(map[uint64]bool, len(ents))
	for _, ent := range ents {
		target, err := os.Readlink(dir + "/" + ent.Name())
		if err != nil {
			continue // closed since ReadDir
		}
		if n, ok := socketInode(target); ok {
			inodes[n] = true
		}
	}
	return inodes, nil
}
