package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:80", true},
		{"127.9.9.9:1", true},
		{"[::1]:443", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"192.0.2.1:443", false},
		{"[2001:db8::1]:443", false},
		{"[::ffff:192.0.2.1]:80", false},
		{"0.0.0.0:80", false},
	} {
		err := LoopbackOnly("tcp", netip.MustParseAddrPort(tc.addr))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.addr, err)
		}
		if err != nil && !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: error does not wrap ErrBlocked", tc.addr)
		}
	}
}

// TestPolicyRunsOnResolvedAddress: the policy sees the address the dialer
// actually connects to (here "localhost" resolved), and a refusal stops the
// connection before it is made.
func TestPolicyRunsOnResolvedAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	var seen []netip.AddrPort
	allow := New(func(_ string, a netip.AddrPort) error { seen = append(seen, a); return nil })
	conn, err := allow.DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if len(seen) == 0 || !seen[0].Addr().IsLoopback() {
		t.Fatalf("policy saw %v, want a resolved loopback address", seen)
	}

	deny := New(func(string, netip.AddrPort) error { return ErrBlocked })
	if _, err := deny.DialContext(context.Background(), "tcp", srv.Listener.Addr().String()); !errors.Is(err, ErrBlocked) {
		t.Fatalf("denied dial: err = %v", err)
	}
	resp, err := deny.HTTPClient().Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("HTTP client bypassed the policy")
	}
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("HTTP client error does not wrap ErrBlocked: %v", err)
	}
}

func TestHTTPClientIgnoresProxyAndRedirects(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("direct")) }))
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer redirect.Close()
	c := New(LoopbackOnly).HTTPClient()
	resp, err := c.Get(target.URL)
	if err != nil {
		t.Fatalf("went through the proxy from the environment: %v", err)
	}
	resp.Body.Close()
	resp, err = c.Get(redirect.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect followed: status %d", resp.StatusCode)
	}
}
