//go:build !linux

package engine

import (
	"errors"

	"github.com/inference-relay/relay/internal/engine/llamalibs"
)

// The engine ships Linux libraries only; elsewhere it builds but refuses.
func preload(string) error {
	return llamalibs.Refuse("%v", errors.New("engine: the embedded engine runs on Linux only"))
}
