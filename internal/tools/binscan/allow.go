package binscan

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Allowlist is a set of SHA-256 hashes of candidates that are known not to
// be secrets. The zero value and nil allow nothing.
type Allowlist struct {
	m map[[sha256.Size]byte]struct{}
}

// ParseAllowlist reads one hex SHA-256 per line (as printed in a finding).
// Blank lines and lines starting with '#' are ignored, and so is anything
// after the hash on a line, so entries can carry a comment.
func ParseAllowlist(r io.Reader) (*Allowlist, error) {
	a := &Allowlist{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		field := strings.TrimPrefix(strings.Fields(line)[0], "sha256:")
		raw, err := hex.DecodeString(field)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("allowlist line %d: want a hex SHA-256", n)
		}
		a.add([sha256.Size]byte(raw))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// Add allows the candidate c.
func (a *Allowlist) Add(c []byte) { a.add(sha256.Sum256(c)) }

func (a *Allowlist) add(h [sha256.Size]byte) {
	if a.m == nil {
		a.m = make(map[[sha256.Size]byte]struct{})
	}
	a.m[h] = struct{}{}
}

// Len reports how many hashes a holds.
func (a *Allowlist) Len() int {
	if a == nil {
		return 0
	}
	return len(a.m)
}

func (a *Allowlist) has(h [sha256.Size]byte) bool {
	if a == nil {
		return false
	}
	_, ok := a.m[h]
	return ok
}
