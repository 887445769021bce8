package enginebench

import (
	"flag"
	"os"
	"testing"

	"github.com/inference-relay/relay/internal/engine/child"
	"github.com/inference-relay/relay/internal/sandbox"
)

// The test binary doubles as the embedded engine's child: the relay runs
// its EngineBinary as `engine --lib-dir D` with the socket on fd 3, and
// TestMain serves as that child, exactly as `relay engine` does. So the
// relay path of the benchmarks runs the same child code as production.
func TestMain(m *testing.M) {
	sandbox.Enter() // as the engine child: confine first (no-op otherwise)
	if len(os.Args) > 1 && os.Args[1] == "engine" {
		fs := flag.NewFlagSet("engine", flag.ContinueOnError)
		lib := fs.String("lib-dir", "", "")
		if fs.Parse(os.Args[2:]) != nil {
			os.Exit(2)
		}
		if err := child.Run(os.NewFile(3, "engine-socket"), child.Options{LibDir: *lib}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	closeFixtures()
	os.Exit(code)
}
