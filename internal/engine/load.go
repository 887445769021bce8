package engine

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/hybridgroup/yzma/pkg/llama"

	"github.com/inference-relay/relay/internal/engine/llamalibs"
)

// The libraries are loaded once per process and never unloaded: llama.cpp
// keeps global state (backend registry, logging) that outlives any model.
var loaded struct {
	sync.Mutex
	dir  string // absolute; "" until the first Load
	err  error
	done bool
}

// Load verifies the libraries in libDir (see [llamalibs.Verify]) and loads the
// very copies it verified. It loads once per process: later calls with the
// same directory return the first call's result, and a call naming another
// directory is refused.
func Load(libDir string) error {
	abs, err := filepath.Abs(libDir)
	if err != nil {
		return refuse("%v", err)
	}
	loaded.Lock()
	defer loaded.Unlock()
	if loaded.done {
		if abs != loaded.dir {
			return refuse("libraries are already loaded from another directory")
		}
		return loaded.err
	}
	loaded.done, loaded.dir = true, abs
	loaded.err = load(abs)
	return loaded.err
}

func isLoaded() bool {
	loaded.Lock()
	defer loaded.Unlock()
	return loaded.done && loaded.err == nil
}

func load(dir string) error {
	// ggml loads any backend this variable names, unverified.
	if os.Getenv("GGML_BACKEND_PATH") != "" {
		return refuse("GGML_BACKEND_PATH is set; the engine loads only verified backends")
	}
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return refuse("/proc/self/fd is needed to load the verified copies: %v", err)
	}
	set, err := llamalibs.Open(dir)
	if err != nil {
		return err
	}
	// Once loaded, the mappings keep the memory files alive.
	defer set.Close()

	// yzma opens <dir>/lib<name>.so by path and ggml scans a directory for
	// its backends, so both get a private directory whose entries are
	// links to the sealed copies. The loader resolves the links to the
	// memory files; $ORIGIN, and so each library's search for its
	// dependencies, stays inside this directory.
	links, err := os.MkdirTemp("", "relay-llama-")
	if err != nil {
		return refuse("%v", err)
	}
	defer os.RemoveAll(links)
	link := func(name string, f *os.File) error {
		return os.Symlink("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), filepath.Join(links, name))
	}
	for name, f := range set.Files {
		if err := link(name, f); err != nil {
			return refuse("%v", err)
		}
	}
	for alias, name := range set.Aliases {
		if err := link(alias, set.Files[name]); err != nil {
			return refuse("%v", err)
		}
	}

	if err := preload(links); err != nil {
		return err
	}
	if err := llama.Load(links); err != nil {
		return refuse("binding: %v", err)
	}
	// llama.cpp logs through this callback; silence keeps prompts (which
	// some of its debug paths print) off stderr.
	llama.LogSet(llama.LogSilent())
	llama.BackendInit()
	if err := llama.GGMLBackendLoadAllFromPath(links); err != nil {
		return refuse("backends: %v", err)
	}
	if llama.GGMLBackendDeviceCount() == 0 {
		return refuse("no ggml backend could be loaded (CPU too old for every variant?)")
	}
	return nil
}
