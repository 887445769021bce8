package egress

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
)

// IsLoopbackHost reports whether host — a URL's host without its port, with
// or without the brackets of an IPv6 literal — names this machine's
// loopback, and so may be reached over plain http. It is the one answer to
// that question in the relay; it errs towards "no", since "no" only means
// TLS is required:
//
//   - "localhost" in any case is loopback; "localhost." and other names are
//     not (a resolver may send them to DNS);
//   - an IP literal is loopback when it is in 127.0.0.0/8 or ::1, also as an
//     IPv4-mapped IPv6 address (::ffff:127.0.0.1);
//   - shorthand IPv4 ("127.1"), a zone ("::1%lo"), the unspecified address
//     (0.0.0.0, ::) and anything that is not an address are not.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}

// Errors of CheckBaseURL.
var (
	ErrBadURL    = errors.New("must be an absolute http(s) URL without credentials, query or fragment")
	ErrPlainHTTP = errors.New("plain http is allowed only to loopback hosts; use https")
)

// CheckBaseURL parses the base URL of an upstream (a backend, an OTLP
// collector, an authority): https anywhere, plain http only to a loopback
// host (IsLoopbackHost), and never credentials, a query, a fragment or an
// opaque form. Its errors are ErrBadURL and ErrPlainHTTP, which never quote
// the URL (it may hold a secret).
func CheckBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || u.Hostname() == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != "" {
		return nil, ErrBadURL
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return u, nil
		}
		return nil, ErrPlainHTTP
	}
	return nil, ErrBadURL
}
