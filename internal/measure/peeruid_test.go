package measure

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
)

func TestFindPeer(t *testing.T) {
	// Server 127.0.0.1:8080 (0x1F90) accepted a connection from
	// 127.0.0.1:40000 (0x9C40); the client's row is owned by uid 1000.
	table := "  sl  local_address rem_address   st ...\n" +
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n" +
		"   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n" +
		"   2: garbage\n" +
		"   3: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 3 1 0 100 0 0 10 0\n"
	local := netip.MustParseAddrPort("127.0.0.1:8080")
	remote := netip.MustParseAddrPort("127.0.0.1:40000")
	uid, ok := findPeer(table, binary.LittleEndian, local, remote)
	if !ok || uid != 1000 {
		t.Errorf("findPeer = %d, %v; want 1000, true", uid, ok)
	}
	if _, ok := findPeer(table, binary.LittleEndian, local, netip.MustParseAddrPort("127.0.0.1:40001")); ok {
		t.Error("found a peer for a connection that is not in the table")
	}
}

func FuzzFindPeer(f *testing.F) {
	f.Add("h\n   3: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 3 1\n")
	f.Add("\n\n0: :")
	f.Fuzz(func(t *testing.T, table string) {
		findPeer(table, binary.LittleEndian, netip.MustParseAddrPort("127.0.0.1:8080"), netip.MustParseAddrPort("127.0.0.1:40000"))
	})
}

// A real loopback connection: the peer is this process's own uid.
func TestPeerUIDLoopback(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("measured on Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	uid, err := PeerUID(s.LocalAddr().(*net.TCPAddr).AddrPort(), s.RemoteAddr().(*net.TCPAddr).AddrPort())
	if err != nil || uid != uint32(os.Getuid()) {
		t.Errorf("PeerUID = %d, %v; want %d", uid, err, os.Getuid())
	}
}
