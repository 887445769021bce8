package child

import (
	"context"
	"errors"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/engine"
	"github.com/inference-relay/relay/internal/engine/child/ipc"
)

// start runs one generation in its own goroutine; frames for it carry id.
func (s *server) start(id uint32, g ipc.Generate) {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	if old := s.reqs[id]; old != nil {
		// The relay never reuses a live id; treat a reuse as a cancel of
		// the older request rather than lose track of it.
		old()
	}
	s.reqs[id] = cancel
	s.busy++
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer g.Wipe()
		err := s.generate(ctx, id, &g)
		s.mu.Lock()
		if s.reqs[id] != nil {
			delete(s.reqs, id)
		}
		s.busy--
		s.mu.Unlock()
		cancel()
		if err != nil {
			_ = s.send(ipc.TError, id, toIPC(err).Encode())
		}
	}()
}

// count answers a count request in its own goroutine (the model may have
// to be loaded first): the prompt's tokens as Generate would count them,
// through the same template and tokenizer.
func (s *server) count(id uint32, g ipc.Generate) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer g.Wipe()
		m, err := s.model(&g)
		var n int
		if err == nil {
			n, err = m.CountTokens(chatMessages(&g), tools(&g)...)
		}
		if err != nil {
			_ = s.send(ipc.TError, id, toIPC(err).Encode())
			return
		}
		_ = s.send(ipc.TResult, id, ipc.Result{PromptTokens: n}.Encode())
	}()
}

// chatMessages is g's conversation as the engine takes it; the values
// alias g's buffers, which g.Wipe clears.
func chatMessages(g *ipc.Generate) []engine.ChatMessage {
	msgs := make([]engine.ChatMessage, len(g.Messages))
	for i, msg := range g.Messages {
		msgs[i] = engine.ChatMessage{Role: msg.Role, Content: content.Of(msg.Content), ToolCallID: content.Of(msg.ToolCallID)}
		for _, c := range msg.ToolCalls {
			msgs[i].ToolCalls = append(msgs[i].ToolCalls, engine.ToolCall{ID: content.Of(c.ID), Name: content.Of(c.Name), Args: content.Of(c.Args)})
		}
	}
	return msgs
}

// tools is g's tools as the engine takes them (aliasing g's buffers).
func tools(g *ipc.Generate) []engine.Tool {
	var out []engine.Tool
	for _, t := range g.Tools {
		out = append(out, engine.Tool{Name: content.Of(t.Name), Description: content.Of(t.Description), Schema: content.Of(t.Schema)})
	}
	return out
}

func (s *server) generate(ctx context.Context, id uint32, g *ipc.Generate) error {
	m, err := s.model(g)
	if err != nil {
		return err
	}
	sess, release, err := s.context(g, m)
	if err != nil {
		return err
	}
	defer release()
	// The engine's values alias g's buffers, which g.Wipe clears.
	msgs := chatMessages(g)
	p := engine.Params{MaxTokens: g.MaxTokens, Temperature: g.Temperature, TopP: g.TopP, Seed: g.Seed, Stop: g.Stop,
		ToolChoice: engine.ToolChoice{Mode: engine.ToolMode(g.ToolChoice), Name: content.Of(g.ToolName), Single: g.SingleCall},
		Tools:      tools(g)}
	res, err := sess.GenerateTo(ctx, msgs, p, frameSink{s, id})
	if err != nil {
		return err
	}
	return s.send(ipc.TResult, id, ipc.Result{
		PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens,
		Stop: res.Stop, StopIndex: res.StopIndex,
	}.Encode())
}

// frameSink sends a generation's output to the relay as frames.
type frameSink struct {
	s  *server
	id uint32
}

func (f frameSink) Text(p []byte) error     { return f.s.send(ipc.TPiece, f.id, p) }
func (f frameSink) ToolCall(p []byte) error { return f.s.send(ipc.TToolCall, f.id, p) }
func (f frameSink) ToolArgs(p []byte) error { return f.s.send(ipc.TToolArgs, f.id, p) }

// model returns the model at g.ModelPath, opening it on first use.
func (s *server) model(g *ipc.Generate) (*engine.Model, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.models[g.ModelPath]; m != nil {
		return m, nil
	}
	m, err := engine.OpenModel(g.ModelPath, engine.ModelOptions{Threads: g.Threads})
	if err != nil {
		return nil, &ipc.Error{Code: ipc.CodeModel, Msg: err.Error()}
	}
	s.models[g.ModelPath] = m
	return m, nil
}

// context returns the llama context the request runs in, and what to do
// when it is done: a session's own context stays with the session; a
// pooled one is cleared and returned.
func (s *server) context(g *ipc.Generate, m *engine.Model) (*engine.Session, func(), error) {
	ctxLen := g.ContextLength
	if ctxLen == 0 {
		ctxLen = min(m.TrainContextLength(), defaultContext)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.Session != "" {
		k := sessionKey{g.ModelPath, g.Session}
		if sess := s.sessions[k]; sess != nil {
			return sess, func() {}, nil
		}
		sess, err := m.NewSession(ctxLen)
		if err != nil {
			return nil, nil, err
		}
		s.sessions[k] = sess
		return sess, func() {}, nil
	}
	var sess *engine.Session
	if p := s.pool[g.ModelPath]; len(p) > 0 {
		sess, s.pool[g.ModelPath] = p[len(p)-1], p[:len(p)-1]
	} else {
		var err error
		if sess, err = m.NewSession(ctxLen); err != nil {
			return nil, nil, err
		}
	}
	release := func() {
		sess.Clear()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.cleared++
		if len(s.pool[g.ModelPath]) < maxPooled && s.models[g.ModelPath] == m {
			s.pool[g.ModelPath] = append(s.pool[g.ModelPath], sess)
			return
		}
		sess.Close()
	}
	return sess, release, nil
}

// toIPC classifies err for the relay. Engine errors never quote content,
// so their text may cross.
func toIPC(err error) *ipc.Error {
	var ie *ipc.Error
	var cl *engine.ContextLengthError
	switch {
	case errors.As(err, &ie):
		return ie
	case errors.As(err, &cl):
		return &ipc.Error{Code: ipc.CodeContextLength, Msg: cl.Error(), PromptTokens: cl.PromptTokens, MaxTokens: cl.MaxTokens, ContextLength: cl.ContextLength}
	case errors.Is(err, context.Canceled):
		return &ipc.Error{Code: ipc.CodeCanceled, Msg: "canceled"}
	case errors.Is(err, engine.ErrInvalid):
		return &ipc.Error{Code: ipc.CodeInvalid, Msg: err.Error()}
	default:
		return &ipc.Error{Code: ipc.CodeInternal, Msg: err.Error()}
	}
}
