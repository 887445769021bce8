package engine

import (
	"sync"
	"sync/atomic"

	"github.com/ebitengine/purego"
)

// ggml calls a context's abort callback between graph nodes; returning true
// stops llama_decode, which is how a cancelled request stops in the middle
// of a long prompt.
//
// purego never frees a callback and has a fixed number of them, so the
// process uses one, created on first use and shared by every session: the
// callback's user data is the session's id, looked up here. (yzma's
// SetAbortCallback would create one per call.)
var (
	abortFlags   sync.Map // uintptr id → *atomic.Bool
	abortNextID  atomic.Uintptr
	abortFnOnce  sync.Once
	abortFnValue uintptr
)

func abortCallback() uintptr {
	abortFnOnce.Do(func() {
		abortFnValue = purego.NewCallback(func(id uintptr) uintptr {
			if v, ok := abortFlags.Load(id); ok && v.(*atomic.Bool).Load() {
				return 1
			}
			return 0
		})
	})
	return abortFnValue
}

// newAbortFlag registers a flag and returns it with the id to pass as the
// callback's user data.
func newAbortFlag() (uintptr, *atomic.Bool) {
	id := abortNextID.Add(1)
	f := new(atomic.Bool)
	abortFlags.Store(id, f)
	return id, f
}

func dropAbortFlag(id uintptr) { abortFlags.Delete(id) }
