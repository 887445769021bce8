package engine

import (
	"path/filepath"

	"github.com/ebitengine/purego"
)

// preload opens the three core libraries in dependency order before yzma
// does: each one's dependencies are then already loaded when it names them,
// so the loader never searches for them (LD_LIBRARY_PATH, which it consults
// before $ORIGIN, included). yzma's own opens find these same objects.
// The handles stay open for the life of the process, like yzma's.
func preload(links string) error {
	for _, name := range []string{"libggml-base.so", "libggml.so", "libllama.so"} {
		if _, err := purego.Dlopen(filepath.Join(links, name), purego.RTLD_NOW|purego.RTLD_LOCAL); err != nil {
			return refuse("loading %s: %v", name, err)
		}
	}
	return nil
}
