//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package chain

import "os"

// lockFile does nothing where flock is missing; one relay per state dir is
// then the operator's to ensure.
func lockFile(*os.File) error { return nil }
