package egress

import (
	"errors"
	"testing"
)

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.9.8.7": true, "::1": true, "[::1]": true,
		"::ffff:127.0.0.1": true, "[::ffff:127.0.0.1]": true, "0:0:0:0:0:0:0:1": true,
		"localhost.": false, "localhost.localdomain": false, "127.1": false, "0x7f.0.0.1": false,
		"::1%lo": false, "[::1%25lo]": false, "fe80::1%lo": false, "0.0.0.0": false, "::": false,
		"128.0.0.1": false, "::ffff:10.0.0.1": false, "example.com": false, "": false, "[": false, "[]": false,
	} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	for raw, want := range map[string]error{
		"https://api.example.com/v1":     nil,
		"https://api.example.com:8443":   nil,
		"http://127.0.0.1:11434/v1":      nil,
		"http://[::1]:8080":              nil,
		"http://localhost:1234/v1":       nil,
		"http://[::ffff:127.0.0.1]:80":   nil,
		"http://example.com/v1":          ErrPlainHTTP,
		"http://127.1:80":                ErrPlainHTTP,
		"http://localhost.:80":           ErrPlainHTTP,
		"http://0.0.0.0:8080":            ErrPlainHTTP,
		"http://[::1%25lo]:80":           ErrPlainHTTP,
		"https://user:pw@example.com":    ErrBadURL,
		"https://example.com/v1?key=abc": ErrBadURL,
		"https://example.com/v1?":        ErrBadURL,
		"https://example.com/v1#frag":    ErrBadURL,
		"https:example.com":              ErrBadURL,
		"ftp://example.com":              ErrBadURL,
		"example.com":                    ErrBadURL,
		"/v1":                            ErrBadURL,
		"https://":                       ErrBadURL,
		"https://:443":                   ErrBadURL,
		"":                               ErrBadURL,
		"http://[::1":                    ErrBadURL,
	} {
		_, err := CheckBaseURL(raw)
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("CheckBaseURL(%q) = %v, want %v", raw, err, want)
		}
	}
}
