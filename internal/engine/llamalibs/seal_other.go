//go:build !linux

package llamalibs

import (
	"errors"
	"os"
)

// The engine ships Linux libraries only; elsewhere it builds but refuses.

var errPlatform = errors.New("engine: the embedded engine runs on Linux only")

func openNoFollow(path string) (*os.File, error) { return os.Open(path) }

func sealedCopy(path, name string, want [32]byte) (*os.File, error) {
	return nil, refuse("%v", errPlatform)
}
