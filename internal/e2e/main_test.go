package e2e

import (
	"os"
	"testing"

	"github.com/inference-relay/relay/internal/engine/child"
	"github.com/inference-relay/relay/internal/sandbox"
)

// The test binary doubles as the embedded engine's child: the relay runs
// its EngineBinary as `engine --lib-dir D` with the socket on fd 3, and
// TestMain serves as that child, exactly as `relay engine` does.
func TestMain(m *testing.M) {
	sandbox.Enter() // as the engine child: confine first (no-op otherwise)
	if len(os.Args) > 1 && os.Args[1] == "engine" {
		if err := child.RunArgs(os.Args[2:], child.Options{}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
