package measure

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// TCP states as /proc/net/tcp prints them (include/net/tcp_states.h).
const (
	stateEstablished = 0x01
	stateListen      = 0x0A
)

// tcpEntry is one row of /proc/net/tcp or tcp6.
type tcpEntry struct {
	Local, Remote netip.AddrPort
	State         uint8
	UID           uint32
	Inode         uint64
}

var errBadLine = errors.New("measure: malformed socket table line")

// parseTCPLine parses one data row of /proc/net/tcp or tcp6:
//
//	sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
//	0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 1000 0 12345 …
//
// order is the byte order of the machine that wrote the table (the kernel
// prints each 32-bit word of the address as a native integer).
func parseTCPLine(line string, order binary.ByteOrder) (tcpEntry, error) {
	f := strings.Fields(line)
	if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
		return tcpEntry{}, errBadLine
	}
	local, err := parseHexAddrPort(f[1], order)
	if err != nil {
		return tcpEntry{}, err
	}
	remote, err := parseHexAddrPort(f[2], order)
	if err != nil {
		return tcpEntry{}, err
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil || len(f[3]) != 2 {
		return tcpEntry{}, errBadLine
	}
	uid, err := strconv.ParseUint(f[7], 10, 32)
	if err != nil {
		return tcpEntry{}, errBadLine
	}
	inode, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return tcpEntry{}, errBadLine
	}
	return tcpEntry{Local: local, Remote: remote, State: uint8(st), UID: uint32(uid), Inode: inode}, nil
}

// parseHexAddrPort decodes "ADDR:PORT" as the kernel prints it. ADDR is 8
// hex digits (IPv4) or 32 (IPv6): one or four 32-bit words, each printed as
// a native-endian integer of the network-order bytes, so on a little-endian
// machine 127.0.0.1 reads 0100007F. PORT is 4 hex digits of the port number.
func parseHexAddrPort(s string, order binary.ByteOrder) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(p) != 4 || (len(a) != 8 && len(a) != 32) {
		return netip.AddrPort{}, errBadLine
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, errBadLine
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, errBadLine
	}
	// raw holds each word big-endian (as printed); rewrite every word into
	// the writer's memory order to get the network-order bytes back.
	for i := 0; i < len(raw); i += 4 {
		order.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw) // 4 or 16 bytes: cannot fail
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// parseTCPTable parses a whole table, skipping its header. Malformed rows
// are an error: a table we cannot fully read cannot be reported as
// complete.
func parseTCPTable(data string, order binary.ByteOrder) ([]tcpEntry, error) {
	var out []tcpEntry
	for i, line := range strings.Split(data, "\n") {
		if i == 0 || strings.TrimSpace(line) == "" {
			continue // header
		}
		e, err := parseTCPLine(line, order)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// socketInode parses a /proc/self/fd link target "socket:[inode]".
func socketInode(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
