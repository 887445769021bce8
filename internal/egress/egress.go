// Package egress owns every outbound connection the relay makes. Backends get
// their HTTP clients from here and never dial on their own, so one place
// decides where the relay may connect: the policy runs in the dialer's
// Control hook, after DNS resolution, on the actual address.
package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// ErrBlocked is returned (wrapped) when the policy refuses a destination.
var ErrBlocked = errors.New("egress: destination blocked by policy")

// Policy decides whether the relay may connect to addr over network
// ("tcp4", "tcp6", "udp4", ...). A nil Policy allows everything.
type Policy func(network string, addr netip.AddrPort) error

// LoopbackOnly allows only loopback destinations.
func LoopbackOnly(_ string, addr netip.AddrPort) error {
	if addr.Addr().Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: %s is not loopback", ErrBlocked, addr.Addr())
}

// Dialer dials outbound connections under a policy.
type Dialer struct {
	d net.Dialer
}

// New returns a Dialer enforcing p.
func New(p Policy) *Dialer {
	d := &Dialer{d: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
	if p != nil {
		d.d.Control = func(network, address string, _ syscall.RawConn) error {
			host, port, err := net.SplitHostPort(address)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrBlocked, err)
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("%w: unresolved address", ErrBlocked)
			}
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil {
				return fmt.Errorf("%w: bad port", ErrBlocked)
			}
			return p(network, netip.AddrPortFrom(ip, uint16(n)))
		}
	}
	return d
}

// DialContext dials address under the policy.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return d.d.DialContext(ctx, network, address)
}

// HTTPClient returns a client whose every connection goes through d. It
// ignores proxy environment variables (a proxy would see where requests go)
// and requires TLS 1.2 or later for https.
func (d *Dialer) HTTPClient() *http.Client {
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Minute,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
	}
	// Redirects could carry a request to a host nobody configured.
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
