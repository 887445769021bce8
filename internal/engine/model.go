package engine

import (
	"errors"
	"runtime"
	"sync"

	"github.com/hybridgroup/yzma/pkg/llama"
)

// ModelOptions says how to run a model.
type ModelOptions struct {
	// Threads is the number of CPU threads per decode; 0 means one per CPU.
	Threads int
	// GPULayers is how many layers to offload to a GPU (CUDA libraries
	// only); 0 keeps the model on the CPU, -1 offloads every layer.
	GPULayers int
}

// Model is a loaded GGUF model. Its sessions may run concurrently.
type Model struct {
	mu       sync.Mutex
	m        llama.Model
	vocab    llama.Vocab
	template string
	threads  int
	trainCtx int
	sessions map[*Session]bool
	closed   bool
}

// OpenModel loads the model at path. The caller checks the file's hash
// first (SPEC I1); llama.cpp opens it by path.
func OpenModel(path string, o ModelOptions) (*Model, error) {
	if !isLoaded() {
		return nil, ErrNotLoaded
	}
	if o.Threads < 0 {
		return nil, paramError("negative thread count")
	}
	if o.Threads == 0 {
		o.Threads = runtime.NumCPU()
	}
	p := llama.ModelDefaultParams()
	p.NGpuLayers = int32(o.GPULayers)
	m, err := llama.ModelLoadFromFile(path, p)
	if err != nil {
		// llama.cpp says nothing more through the API; its log is silenced.
		return nil, errors.New("engine: llama.cpp could not load the model")
	}
	tmpl := llama.ModelChatTemplate(m, "")
	if tmpl == "" {
		// llama.cpp's own default for models without a template.
		tmpl = "chatml"
	}
	return &Model{
		m:        m,
		vocab:    llama.ModelGetVocab(m),
		template: tmpl,
		threads:  o.Threads,
		trainCtx: int(llama.ModelNCtxTrain(m)),
		sessions: map[*Session]bool{},
	}, nil
}

// TrainContextLength is the context length the model was trained with.
func (m *Model) TrainContextLength() int { return m.trainCtx }

// CountTokens returns the number of prompt tokens msgs make with the
// model's chat template, as Generate would count them.
func (m *Model) CountTokens(msgs []ChatMessage) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	toks, err := m.prompt(msgs)
	return len(toks), err
}

// Close closes the model's sessions and frees the model.
func (m *Model) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	for s := range m.sessions {
		s.close()
	}
	llama.ModelFree(m.m)
}
