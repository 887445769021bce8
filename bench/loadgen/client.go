package loadgen

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/inference-relay/relay/internal/egress"
)

// ErrNotLoopback is returned for a target outside the loopback interface.
var ErrNotLoopback = errors.New("loadgen: target is not a loopback address")

// CheckLoopback accepts an http(s) URL whose host is a loopback IP literal
// (127.0.0.0/8, ::1) or "localhost", and refuses anything else. Names other
// than localhost are refused rather than resolved: a load generator must
// not be pointable at someone else's server by a DNS answer.
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("loadgen: target must be an absolute http(s) URL")
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Unmap().IsLoopback() {
		return ErrNotLoopback
	}
	return nil
}

// NewClient returns an HTTP client that can only dial loopback addresses
// and keeps up to conns idle connections per host, so that a run at a
// high rate reuses connections instead of opening (and leaving in
// TIME_WAIT) a new one per request.
func NewClient(conns int) *http.Client {
	c := egress.New(egress.LoopbackOnly).HTTPClient()
	if t, ok := c.Transport.(*http.Transport); ok && conns > 0 {
		t.MaxIdleConns = conns
		t.MaxIdleConnsPerHost = conns
	}
	return c
}
