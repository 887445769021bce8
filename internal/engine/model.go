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
	tmpl     *chatTemplate
	markers  map[llama.Token]bool // control tokens of tool-call markers: rendered as text
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
	vocab := llama.ModelGetVocab(m)
	// The template comes from the GGUF already open: the engine reads no
	// other file. Without one, fallbackTemplate.
	tmpl := newChatTemplate(llama.ModelChatTemplate(m, ""), tokenText(vocab, llama.VocabBOS(vocab)), tokenText(vocab, llama.VocabEOS(vocab)))
	mdl := &Model{
		m:        m,
		vocab:    vocab,
		tmpl:     tmpl,
		markers:  map[llama.Token]bool{},
		threads:  o.Threads,
		trainCtx: int(llama.ModelNCtxTrain(m)),
		sessions: map[*Session]bool{},
	}
	for _, t := range markerTexts {
		if tok, ok := mdl.markerToken(t); ok {
			mdl.markers[tok] = true
		}
	}
	return mdl, nil
}

// markerTexts are the tool-call markers of the families: a model whose
// vocabulary has one as a special token must show it in its output for
// the parser to see the call.
var markerTexts = []string{"<tool_call>", "</tool_call>", "[TOOL_CALLS]", "[ARGS]", "<|python_tag|>"}

// markerToken is the single special token that spells t, if there is one.
func (m *Model) markerToken(t string) (llama.Token, bool) {
	toks := llama.Tokenize(m.vocab, t, false, true)
	if len(toks) != 1 || tokenText(m.vocab, toks[0]) != t {
		return 0, false
	}
	attr := llama.VocabGetAttr(m.vocab, toks[0])
	return toks[0], attr&(llama.TokenAttrControl|llama.TokenAttrUserDef) != 0
}

// tokenText is the text of a special token, "" for none.
func tokenText(v llama.Vocab, t llama.Token) string {
	if t < 0 || t >= llama.Token(llama.VocabNTokens(v)) {
		return ""
	}
	return llama.VocabGetText(v, t)
}

// ToolFamily is the tool-call format read from the model's chat template.
func (m *Model) ToolFamily() Family { return m.tmpl.family }

// TrainContextLength is the context length the model was trained with.
func (m *Model) TrainContextLength() int { return m.trainCtx }

// CountTokens returns the number of prompt tokens msgs make with the
// model's chat template, as Generate would count them.
func (m *Model) CountTokens(msgs []ChatMessage, tools ...Tool) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	toks, err := m.prompt(msgs, tools)
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
