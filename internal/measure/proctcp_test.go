package measure

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// Rows as a little-endian (x86-64, arm64) kernel prints them.
func TestParseTCPLine(t *testing.T) {
	for _, tc := range []struct {
		name, line    string
		local, remote string
		state         uint8
		inode         uint64
	}{
		{
			"v4 loopback listener",
			"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 100 0 0 10 0",
			"127.0.0.1:8080", "0.0.0.0:0", stateListen, 12345,
		},
		{
			"v4 wildcard listener",
			"   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1068 1 00000000bf259992 100 0 0 10 0",
			"0.0.0.0:22", "0.0.0.0:0", stateListen, 1068,
		},
		{
			"v4 established",
			"  12: 0A01A8C0:C350 0100007F:1F90 01 00000000:00000000 02:000A7A1B 00000000  1000        0 99 2 0000000000000000 20 4 30 10 -1",
			"192.168.1.10:50000", "127.0.0.1:8080", stateEstablished, 99,
		},
		{
			"v6 loopback listener",
			"   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1 0000000000000000 100 0 0 10 0",
			"[::1]:8080", "[::]:0", stateListen, 777,
		},
		{
			"v6 documentation address",
			"   3: B80D0120000000000000000001000000:01BB 0000000000000000FFFF00000100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 31337 1 0000000000000000 100 0 0 10 0",
			"[2001:db8::1]:443", "[::ffff:127.0.0.1]:54321", stateEstablished, 31337,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := parseTCPLine(tc.line, binary.LittleEndian)
			if err != nil {
				t.Fatal(err)
			}
			if e.Local.String() != tc.local || e.Remote.String() != tc.remote || e.State != tc.state || e.Inode != tc.inode {
				t.Errorf("got %v %v %02X %d, want %s %s %02X %d", e.Local, e.Remote, e.State, e.Inode, tc.local, tc.remote, tc.state, tc.inode)
			}
		})
	}
}

func TestParseTCPLineBigEndian(t *testing.T) {
	line := "   0: 7F000001:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5 1"
	e, err := parseTCPLine(line, binary.BigEndian)
	if err != nil || e.Local != netip.MustParseAddrPort("127.0.0.1:8080") {
		t.Errorf("got %v, %v", e.Local, err)
	}
	line6 := "   0: 20010DB8000000000000000000000001:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5 1"
	e, err = parseTCPLine(line6, binary.BigEndian)
	if err != nil || e.Local != netip.MustParseAddrPort("[2001:db8::1]:8080") {
		t.Errorf("got %v, %v", e.Local, err)
	}
}

func TestParseTCPLineRejects(t *testing.T) {
	good := strings.Fields("0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 1000 0 12345")
	for i, mutate := range []func([]string){
		func(f []string) { f[0] = "0" },
		func(f []string) { f[1] = "0100007F1F90" },
		func(f []string) { f[1] = "0100007F:1F9" },
		func(f []string) { f[1] = "0100007:1F90" },
		func(f []string) { f[1] = "0100007F00000000:1F90" },
		func(f []string) { f[1] = "0100007G:1F90" },
		func(f []string) { f[2] = "00000000:XXXX" },
		func(f []string) { f[3] = "0AA" },
		func(f []string) { f[3] = "ZZ" },
		func(f []string) { f[9] = "-1" },
		func(f []string) { f[9] = "inode" },
	} {
		f := append([]string(nil), good...)
		mutate(f)
		if _, err := parseTCPLine(strings.Join(f, " "), binary.LittleEndian); err == nil {
			t.Errorf("case %d: %q parsed", i, strings.Join(f, " "))
		}
	}
	if _, err := parseTCPLine(strings.Join(good[:9], " "), binary.LittleEndian); err == nil {
		t.Error("short line parsed")
	}
}

func TestParseTCPTable(t *testing.T) {
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0 100 0 0 10 0\n" +
		"   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2 1 0 100 0 0 10 0\n"
	got, err := parseTCPTable(table, binary.LittleEndian)
	if err != nil || len(got) != 2 || got[1].Inode != 2 || got[1].Local.Port() != 0x1F91 {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := parseTCPTable(table+"   2: garbage\n", binary.LittleEndian); err == nil {
		t.Error("a malformed row was skipped silently")
	}
}

func TestSocketInode(t *testing.T) {
	for link, want := range map[string]uint64{"socket:[12345]": 12345, "socket:[0]": 0} {
		if n, ok := socketInode(link); !ok || n != want {
			t.Errorf("socketInode(%q) = %d, %v", link, n, ok)
		}
	}
	for _, link := range []string{"pipe:[12345]", "socket:[]", "socket:[12", "/dev/null", "anon_inode:[eventpoll]", "socket:[-1]"} {
		if _, ok := socketInode(link); ok {
			t.Errorf("socketInode(%q) accepted", link)
		}
	}
}

// encodeHexAddrPort is the kernel's side of the format, written from its
// description, to check the decoder against.
func encodeHexAddrPort(ap netip.AddrPort, order binary.ByteOrder) string {
	b := ap.Addr().AsSlice()
	var sb strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&sb, "%08X", order.Uint32(b[i:]))
	}
	fmt.Fprintf(&sb, ":%04X", ap.Port())
	return sb.String()
}

func FuzzParseTCPLine(f *testing.F) {
	f.Add("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0 100 0 0 10 0")
	f.Add("   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1")
	f.Add("sl local_address")
	f.Add("0: : : : : : : : : :")
	f.Fuzz(func(t *testing.T, line string) {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			e, err := parseTCPLine(line, order)
			if err != nil {
				continue
			}
			fields := strings.Fields(line)
			if got := encodeHexAddrPort(e.Local, order); !strings.EqualFold(got, fields[1]) {
				t.Fatalf("local %s decoded to %v, which encodes back as %s", fields[1], e.Local, got)
			}
			if got := encodeHexAddrPort(e.Remote, order); !strings.EqualFold(got, fields[2]) {
				t.Fatalf("remote %s decoded to %v, which encodes back as %s", fields[2], e.Remote, got)
			}
		}
	})
}
