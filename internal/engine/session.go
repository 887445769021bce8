package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/hybridgroup/yzma/pkg/llama"

	"github.com/inference-relay/relay/internal/logic"
)

// maxBatch caps the tokens handed to one llama_decode: larger batches are
// barely faster on a CPU and make cancellation coarser.
const maxBatch = 512

// Params are the sampling parameters of one generation.
type Params struct {
	// MaxTokens caps the completion; 0 means until the context is full.
	MaxTokens int
	// Temperature 0 samples greedily (deterministic without a seed).
	Temperature float64
	// TopP keeps the smallest set of tokens whose probabilities reach it;
	// 0 or 1 keeps all.
	TopP float64
	// Seed seeds the sampler: the same seed, prompt and parameters give
	// the same tokens.
	Seed uint32
	// Stop ends the completion at the first occurrence of any of these
	// byte sequences, which are not emitted.
	Stop [][]byte
	// Tools the model may call, and how (see grammar.go). With tools and
	// a mode other than ToolNone, the output is parsed for calls in the
	// model's format and calls reach the Sink as calls.
	Tools      []Tool
	ToolChoice ToolChoice
}

// Result is the metadata of one generation.
type Result struct {
	PromptTokens     int
	CompletionTokens int // every token sampled, the end token included
	// Stop is logic.StopEnd, logic.StopMaxTokens or logic.StopSequence.
	Stop logic.StopReason
	// StopIndex is the index in Params.Stop of the sequence that matched,
	// or -1.
	StopIndex int
	// ToolCalls is the number of calls the reply made; when the model
	// ended its turn after one, Stop is logic.StopToolUse.
	ToolCalls int
}

// Session is one llama.cpp context: one KV cache, one conversation at a
// time. Generate keeps the cache between calls and reuses the longest
// common prefix of the new prompt, so a conversation that grows by a turn
// only processes the new turn. A Session is safe for concurrent use; calls
// run one at a time.
type Session struct {
	mu      sync.Mutex
	model   *Model
	ctx     llama.Context
	mem     llama.Memory
	nCtx    int
	nBatch  int
	cached  []llama.Token // the tokens whose keys and values are in the cache, in order
	abortID uintptr
	abort   *atomic.Bool
	closed  bool
}

// NewSession creates a context of ctxLen tokens (0: the model's training
// context).
func (m *Model) NewSession(ctxLen int) (*Session, error) {
	if ctxLen < 0 {
		return nil, paramError("negative context length")
	}
	if ctxLen == 0 {
		ctxLen = m.trainCtx
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	s := &Session{model: m, nCtx: ctxLen, nBatch: min(ctxLen, maxBatch)}
	s.abortID, s.abort = newAbortFlag()
	p := llama.ContextDefaultParams()
	p.NCtx = uint32(ctxLen)
	p.NBatch = uint32(s.nBatch)
	p.NUbatch = uint32(s.nBatch)
	p.NSeqMax = 1
	p.NThreads = int32(m.threads)
	p.NThreadsBatch = int32(m.threads)
	p.NoPerf = 1
	p.AbortCallback = abortCallback()
	p.AbortCallbackData = s.abortID
	ctx, err := llama.InitFromModel(m.m, p)
	if err != nil {
		dropAbortFlag(s.abortID)
		return nil, errors.New("engine: llama.cpp could not create a context")
	}
	s.ctx = ctx
	s.mem, _ = llama.GetMemory(ctx)
	// llama.cpp may round the context up; the caller's number is the limit.
	s.nCtx = min(ctxLen, int(llama.NCtx(ctx)))
	m.sessions[s] = true
	return s, nil
}

// ContextLength is the number of tokens the session holds.
func (s *Session) ContextLength() int { return s.nCtx }

// Clear wipes the KV cache, so nothing of earlier conversations remains in
// the context's memory.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.clearCache()
	}
}

func (s *Session) clearCache() {
	llama.MemoryClear(s.mem, true)
	clear(s.cached)
	s.cached = s.cached[:0]
}

// Close frees the context. Generate afterwards returns ErrClosed.
func (s *Session) Close() {
	s.close()
	s.model.mu.Lock()
	delete(s.model.sessions, s)
	s.model.mu.Unlock()
}

func (s *Session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.clearCache()
	llama.Free(s.ctx)
	dropAbortFlag(s.abortID)
}

func (p *Params) validate() error {
	switch {
	case p.MaxTokens < 0:
		return paramError("negative max tokens")
	case p.Temperature < 0 || math.IsNaN(p.Temperature) || math.IsInf(p.Temperature, 0):
		return paramError("temperature out of range")
	case p.TopP < 0 || p.TopP > 1 || math.IsNaN(p.TopP):
		return paramError("top_p out of range")
	}
	for _, s := range p.Stop {
		if len(s) == 0 {
			return paramError("empty stop sequence")
		}
	}
	return nil
}

// Generate completes the conversation msgs as the assistant, passing the
// completion to emit as it is produced. emit must not keep piece after it
// returns; an error from emit ends generation and is returned. When ctx is
// cancelled, Generate returns ctx's error promptly, with the counts so far.
func (s *Session) Generate(ctx context.Context, msgs []ChatMessage, p Params, emit func(piece []byte) error) (Result, error) {
	return s.GenerateTo(ctx, msgs, p, textSink(emit))
}

// textSink passes text on and calls as their text would never come: it
// is for callers that set no tools.
type textSink func([]byte) error

func (f textSink) Text(p []byte) error     { return f(p) }
func (f textSink) ToolCall([]byte) error   { return nil }
func (f textSink) ToolArgs(p []byte) error { return nil }

// GenerateTo is Generate with tools: text and calls go to sink.
func (s *Session) GenerateTo(ctx context.Context, msgs []ChatMessage, p Params, sink Sink) (Result, error) {
	res := Result{StopIndex: -1}
	if err := p.validate(); err != nil {
		return res, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return res, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	prompt, err := s.model.prompt(msgs, p.Tools)
	if err != nil {
		return res, err
	}
	grammar, err := s.model.grammar(p)
	if err != nil {
		return res, err
	}
	defer clear(prompt) // token ids spell the prompt
	res.PromptTokens = len(prompt)
	if len(prompt) >= s.nCtx || (p.MaxTokens > 0 && len(prompt)+p.MaxTokens > s.nCtx) {
		return res, &ContextLengthError{PromptTokens: len(prompt), MaxTokens: p.MaxTokens, ContextLength: s.nCtx}
	}
	budget := p.MaxTokens
	if budget == 0 {
		budget = s.nCtx - len(prompt)
	}

	// A cancel sets the abort flag, which llama.cpp polls mid-decode. The
	// flag is reset here, under s.mu, so the deferred func waits for a
	// callback already under way: it must not set the flag of the next call.
	s.abort.Store(false)
	fired := make(chan struct{})
	stopAbort := context.AfterFunc(ctx, func() { s.abort.Store(true); close(fired) })
	defer func() {
		if !stopAbort() {
			<-fired
		}
	}()

	if err := s.ingest(ctx, prompt); err != nil {
		return res, err
	}
	smpl, err := newSampler(p, s.model.vocab, grammar)
	if err != nil {
		return res, err
	}
	defer llama.SamplerFree(smpl)

	var parser *toolParser
	emit := sink.Text
	var markers map[llama.Token]bool
	if grammar.active {
		parser = newToolParser(s.model.tmpl.family, sink)
		emit = parser.write
		markers = s.model.markers
	}
	out := &streamer{stops: p.Stop, emit: emit}
	write := out.write
	var norm *normalizer
	if grammar.active {
		norm = &normalizer{}
		norm.emit = func(b []byte) error {
			idx, err := out.write(b)
			if idx >= 0 && err == nil {
				err = errStopMatched{idx}
			}
			return err
		}
		write = func(b []byte) (int, error) {
			err := norm.write(b)
			var sm errStopMatched
			if errors.As(err, &sm) {
				return sm.idx, nil
			}
			return -1, err
		}
	}
	finish := func(err error) (Result, error) {
		if err == nil && norm != nil {
			var sm errStopMatched
			if err = norm.flush(); errors.As(err, &sm) {
				res.Stop, res.StopIndex, err = logic.StopSequence, sm.idx, nil
			}
		}
		if err == nil {
			err = out.flush()
		}
		if parser != nil {
			if ferr := parser.flush(); err == nil {
				err = ferr
			}
			res.ToolCalls = parser.Calls()
			if res.ToolCalls > 0 && res.Stop == logic.StopEnd {
				res.Stop = logic.StopToolUse
			}
		}
		return res, err
	}
	piece := make([]byte, 64)
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		tok := llama.SamplerSample(smpl, s.ctx, -1)
		res.CompletionTokens++
		if llama.VocabIsEOG(s.model.vocab, tok) {
			res.Stop = logic.StopEnd
			break
		}
		piece = s.piece(tok, piece, markers[tok])
		idx, err := write(piece)
		if err != nil {
			return res, err
		}
		if idx >= 0 {
			res.Stop, res.StopIndex = logic.StopSequence, idx
			if parser != nil {
				return finish(parser.flush())
			}
			return res, nil
		}
		if res.CompletionTokens == budget {
			res.Stop = logic.StopMaxTokens
			break
		}
		if err := s.decode(ctx, []llama.Token{tok}); err != nil {
			return res, err
		}
	}
	if parser != nil {
		return finish(nil)
	}
	return res, out.flush()
}

// errStopMatched carries a stop sequence's match out of the normalizer.
type errStopMatched struct{ idx int }

func (errStopMatched) Error() string { return "stop sequence" }

// ingest brings the cache to hold exactly prompt but its last token, then
// decodes the rest, so the logits of the prompt's last token are ready.
func (s *Session) ingest(ctx context.Context, prompt []llama.Token) error {
	keep := 0
	for keep < len(s.cached) && keep < len(prompt)-1 && s.cached[keep] == prompt[keep] {
		keep++
	}
	if keep < len(s.cached) {
		// Models whose memory cannot drop a tail (recurrent ones) say no;
		// they start over.
		if ok, _ := llama.MemorySeqRm(s.mem, 0, llama.Pos(keep), -1); !ok {
			s.clearCache()
			keep = 0
		}
		clear(s.cached[keep:])
		s.cached = s.cached[:keep]
	}
	for rest := prompt[keep:]; len(rest) > 0; {
		n := min(len(rest), s.nBatch)
		if err := s.decode(ctx, rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// decode evaluates toks after the cached ones. On failure or abort the
// cache's state is unknown, so it is wiped.
func (s *Session) decode(ctx context.Context, toks []llama.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rc, err := llama.Decode(s.ctx, llama.BatchGetOne(toks))
	if err == nil && rc == 0 {
		s.cached = append(s.cached, toks...)
		return nil
	}
	s.clearCache()
	if cerr := ctx.Err(); cerr != nil {
		return cerr // llama.cpp returns 2 when the abort callback fired
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return fmt.Errorf("%w: status %d", ErrDecode, rc)
}

// piece renders tok as bytes (control tokens render as nothing) into buf,
// growing it when the piece is longer.
func (s *Session) piece(tok llama.Token, buf []byte, special bool) []byte {
	buf = buf[:cap(buf)]
	n := llama.TokenToPiece(s.model.vocab, tok, buf, 0, special)
	if n < 0 {
		buf = make([]byte, -n)
		n = llama.TokenToPiece(s.model.vocab, tok, buf, 0, special)
	}
	return buf[:max(n, 0)]
}

// newSampler builds the chain: the tools' grammar first when there is
// one, then greedy at temperature 0, else top-p, then temperature, then a
// seeded draw.
func newSampler(p Params, vocab llama.Vocab, g toolGrammarSpec) (llama.Sampler, error) {
	chain := llama.SamplerChainInit(llama.SamplerChainDefaultParams())
	if g.text != "" {
		var gs llama.Sampler
		if g.lazy {
			gs = llama.SamplerInitGrammarLazyPatterns(vocab, g.text, "root", []string{g.trigger}, g.triggerTokens)
		} else {
			gs = llama.SamplerInitGrammar(vocab, g.text, "root")
		}
		if gs == 0 {
			llama.SamplerFree(chain)
			return 0, errors.New("engine: llama.cpp refused the tools' grammar")
		}
		llama.SamplerChainAdd(chain, gs)
	}
	if p.Temperature == 0 {
		llama.SamplerChainAdd(chain, llama.SamplerInitGreedy())
		return chain, nil
	}
	if p.TopP > 0 && p.TopP < 1 {
		llama.SamplerChainAdd(chain, llama.SamplerInitTopP(float32(p.TopP), 1))
	}
	llama.SamplerChainAdd(chain, llama.SamplerInitTemp(float32(p.Temperature)))
	llama.SamplerChainAdd(chain, llama.SamplerInitDist(p.Seed))
	return chain, nil
}
