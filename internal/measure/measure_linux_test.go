package measure

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func hasSocket(list []Socket, ap netip.AddrPort) (Socket, bool) {
	i := slices.IndexFunc(list, func(s Socket) bool { return s.Addr == ap })
	if i < 0 {
		return Socket{}, false
	}
	return list[i], true
}

func listen(t *testing.T, network, addr string) (net.Listener, netip.AddrPort) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		if network == "tcp6" {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).AddrPort()
}

func TestListenersFindsOurOwn(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(tc.network, func(t *testing.T) {
			ln, ap := listen(t, tc.network, tc.addr)
			got, err := Listeners()
			if err != nil {
				t.Fatal(err)
			}
			s, ok := hasSocket(got, ap)
			if !ok || !s.Loopback {
				t.Fatalf("listener %v not found (or not loopback) in %v", ap, got)
			}
			ln.Close()
			got, err = Listeners()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := hasSocket(got, ap); ok {
				t.Errorf("closed listener %v still reported", ap)
			}
		})
	}
}

func TestConnectionsFindsBothEnds(t *testing.T) {
	ln, lap := listen(t, "tcp4", "127.0.0.1:0")
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	c, err := net.DialTimeout("tcp4", lap.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	defer sc.Close()

	got, err := Connections()
	if err != nil {
		t.Fatal(err)
	}
	// Our client's remote end is the listener; the accepted conn's remote
	// end is the client.
	if s, ok := hasSocket(got, lap); !ok || !s.Loopback {
		t.Errorf("client connection to %v not found in %v", lap, got)
	}
	clientAddr := c.LocalAddr().(*net.TCPAddr).AddrPort()
	if _, ok := hasSocket(got, clientAddr); !ok {
		t.Errorf("accepted connection from %v not found in %v", clientAddr, got)
	}
	ls, err := Listeners()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := hasSocket(ls, clientAddr); ok {
		t.Error("a connection was reported as a listener")
	}
}

// Each protection is read back after changing it, so the report follows
// the kernel rather than a remembered setting.
func TestProtectionsReadTheKernel(t *testing.T) {
	p := Protections()
	for name, err := range map[string]error{
		"dumpable": p.Dumpable.Err, "core": p.CoreLimit.Err, "memlock": p.MemlockLimit.Err,
		"vmlck": p.LockedBytes.Err, "tracer": p.TracerPID.Err,
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if p.Dumpable.ReadAt.IsZero() || time.Since(p.TracerPID.ReadAt) > time.Minute {
		t.Error("facts carry no read time")
	}

	was, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if Protections().Dumpable.Value {
		t.Error("dumpable after PR_SET_DUMPABLE 0")
	}
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, uintptr(was), 0, 0, 0)
	if got := Protections().Dumpable.Value; got != (was != 0) {
		t.Errorf("dumpable = %v after restoring %d", got, was)
	}

	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Setrlimit(unix.RLIMIT_CORE, &old) })
	if got := Protections().CoreLimit.Value; got.Soft != 0 || got.Hard != clampLimit(old.Max) {
		t.Errorf("core limit = %+v, want soft 0, hard %d", got, old.Max)
	}

	page := make([]byte, os.Getpagesize())
	if err := unix.Mlock(page); err != nil {
		t.Logf("mlock unavailable (%v); not checking VmLck", err)
	} else {
		got := Protections().LockedBytes.Value
		_ = unix.Munlock(page)
		if got < uint64(len(page)) {
			t.Errorf("VmLck = %d with a page locked", got)
		}
	}

	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dumpable", "core_limit", "memlock_limit", "locked_bytes", "tracer_pid"} {
		if _, ok := m[k]["read_at"]; !ok {
			t.Errorf("%s missing or without read_at in %s", k, b)
		}
	}
}
