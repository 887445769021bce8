package engine

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/engine/child/ipc"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
)

// defaultTemperature is used when the client sets none: llama.cpp's own.
const defaultTemperature = 0.8

// Stream sends the request to the child and returns once the child has
// answered with its first frame, so a prompt that does not fit is an error
// here (400 with the numbers), not a broken stream.
func (p *Provider) Stream(ctx context.Context, t logic.Target, lp logic.Params, r *content.Request) (provider.Stream, error) {
	m, ok := p.models[t.Model]
	if !ok {
		return nil, provider.Errorf(logic.ErrNotFound, "the embedded engine has no such model")
	}
	if perr := p.checkMaxTokens(lp.MaxTokens); perr != nil {
		return nil, perr
	}
	g, perr := buildGenerate(lp, r)
	if perr != nil {
		return nil, perr
	}
	g.ModelPath = m.path()
	g.Threads = p.cfg.Threads
	g.ContextLength = p.cfg.ContextLength
	c, err := p.conn()
	if err != nil {
		g.Wipe()
		return nil, err
	}
	id, in := c.open()
	payload := g.Encode()
	g.Wipe()
	err = c.send(ipc.TGenerate, id, payload)
	clear(payload)
	if err != nil {
		c.close(id)
		return nil, err
	}
	s := &stream{c: c, id: id, in: in, ctx: ctx, status: logic.Status{Model: t.Model}, block: -1}
	f, err := s.frame()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.pending = &f
	// A client that goes away between reads still stops the child now.
	s.stopCancel = context.AfterFunc(ctx, func() { _ = c.send(ipc.TCancel, id, nil) })
	return s, nil
}

// CountTokens counts r's prompt tokens in the child, through the same
// chat template and tokenizer a generation uses, so that count_tokens
// agrees with the usage a reply reports for the same request.
func (p *Provider) CountTokens(ctx context.Context, t logic.Target, lp logic.Params, r *content.Request) (int, error) {
	m, ok := p.models[t.Model]
	if !ok {
		return 0, provider.Errorf(logic.ErrNotFound, "the embedded engine has no such model")
	}
	lp.MaxTokens = 1 // a count generates nothing; the frame wants a cap
	g, perr := buildGenerate(lp, r)
	if perr != nil {
		return 0, perr
	}
	g.ModelPath = m.path()
	g.Threads = p.cfg.Threads
	g.ContextLength = p.cfg.ContextLength
	c, err := p.conn()
	if err != nil {
		g.Wipe()
		return 0, err
	}
	payload := g.Encode()
	g.Wipe()
	f, err := c.roundTrip(ctx, ipc.TCount, payload)
	clear(payload)
	if err != nil {
		return 0, err
	}
	res, err := ipc.DecodeResult(f.Payload)
	if err != nil || f.Type != ipc.TResult {
		return 0, provider.Errorf(logic.ErrUpstream, "the embedded engine answered a count with something else")
	}
	return res.PromptTokens, nil
}

// checkMaxTokens refuses a max_tokens the engine cannot take, before
// anything is sent: more than an int32 (the engine's token counts, and
// all the frame can carry) or more than the configured context length.
// Without a configured length the child knows the model's context and
// refuses what does not fit, with the numbers.
func (p *Provider) checkMaxTokens(n int) *provider.Error {
	limit := p.cfg.ContextLength
	if limit == 0 {
		limit = math.MaxInt32
	}
	switch {
	case n < 0:
		return provider.Errorf(logic.ErrInvalidRequest, "max_tokens must not be negative")
	case n > math.MaxInt32:
		return provider.Errorf(logic.ErrInvalidRequest, "max_tokens is larger than the embedded engine can take: it must fit in the model's context")
	case n > limit:
		return provider.Errorf(logic.ErrInvalidRequest, fmt.Sprintf("max_tokens is %d, more than this model's context of %d tokens", n, limit))
	}
	return nil
}

type stream struct {
	c   *conn
	id  uint32
	in  *inbox
	ctx context.Context

	pending    *ipc.Frame
	stopCancel func() bool
	// block is the index of the current content block (-1 before the
	// first); a call opens a new one, and so does text after a call.
	block          int
	inText, inCall bool
	mu             sync.Mutex
	status         logic.Status
	done           bool // io.EOF or an error was returned
	closed         bool
}

// frame waits for the next frame; a canceled context sends the cancel.
func (s *stream) frame() (ipc.Frame, error) {
	f, err := s.in.next(s.ctx)
	if err == nil {
		if f.Type == ipc.TError {
			e, derr := ipc.DecodeError(f.Payload)
			if derr != nil {
				return f, errChildGone
			}
			return f, fromIPC(e)
		}
		return f, nil
	}
	if ctxErr := s.ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		_ = s.c.send(ipc.TCancel, s.id, nil)
		return f, provider.AsError(ctxErr)
	}
	return f, err
}

// newToolID names a call the model made: the engine's output carries no
// id, and clients answer a call by its id.
func newToolID() content.Text {
	var b [12]byte
	crand.Read(b[:])
	return content.FromString("call_" + hex.EncodeToString(b[:]))
}

// Recv returns the next delta (text, a call, a call's arguments), io.EOF
// after the result.
func (s *stream) Recv() (content.Delta, error) {
	if s.done {
		return content.Delta{}, io.EOF
	}
	var f ipc.Frame
	if s.pending != nil {
		f, s.pending = *s.pending, nil
	} else {
		var err error
		if f, err = s.frame(); err != nil {
			s.done = true
			return content.Delta{}, err
		}
	}
	switch f.Type {
	case ipc.TPiece:
		// The frame's payload is this delta's own buffer.
		if !s.inText {
			s.block++
			s.inText = true
		}
		return content.Delta{Kind: content.DeltaText, Index: s.block, Text: content.Of(f.Payload)}, nil
	case ipc.TToolCall:
		s.block++
		s.inText, s.inCall = false, true
		return content.Delta{Kind: content.DeltaToolCall, Index: s.block, ToolID: newToolID(), ToolName: content.Of(f.Payload)}, nil
	case ipc.TToolArgs:
		if !s.inCall {
			s.done = true
			f.Wipe()
			return content.Delta{}, errChildGone
		}
		return content.Delta{Kind: content.DeltaToolArgs, Index: s.block, Text: content.Of(f.Payload)}, nil
	case ipc.TResult:
		s.done = true
		res, err := ipc.DecodeResult(f.Payload)
		if err != nil {
			return content.Delta{}, errChildGone
		}
		s.mu.Lock()
		s.status.Usage = logic.Usage{Input: res.PromptTokens, Output: res.CompletionTokens}
		s.status.Stop = res.Stop
		if res.StopIndex >= 0 {
			s.status.StopSequence = res.StopIndex + 1
		}
		s.mu.Unlock()
		return content.Delta{}, io.EOF
	default:
		s.done = true
		f.Wipe()
		return content.Delta{}, errChildGone
	}
}

func (s *stream) Status() logic.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Close cancels the generation if it is still running.
func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stopCancel != nil {
		s.stopCancel()
	}
	if !s.done {
		_ = s.c.send(ipc.TCancel, s.id, nil)
	}
	if s.pending != nil {
		s.pending.Wipe()
		s.pending = nil
	}
	s.c.close(s.id)
	s.in.drop()
	return nil
}

// buildGenerate turns the relay's request into the child's. Every content
// byte is copied, so the caller wipes the result without touching r.
func buildGenerate(lp logic.Params, r *content.Request) (ipc.Generate, *provider.Error) {
	if lp.MaxTokens < 0 {
		return ipc.Generate{}, provider.Errorf(logic.ErrInvalidRequest, "max_tokens must not be negative")
	}
	if len(r.Tools) > ipc.MaxTools {
		return ipc.Generate{}, provider.Errorf(logic.ErrInvalidRequest, fmt.Sprintf("the embedded engine takes at most %d tools", ipc.MaxTools))
	}
	g := ipc.Generate{Session: lp.Session, MaxTokens: lp.MaxTokens, Temperature: defaultTemperature}
	if lp.Temperature != nil {
		g.Temperature = *lp.Temperature
	}
	if lp.TopP != nil {
		g.TopP = *lp.TopP
	}
	if lp.Seed != nil {
		g.Seed = uint32(*lp.Seed)
	} else {
		g.Seed = rand.Uint32()
	}
	for _, t := range r.Tools {
		g.Tools = append(g.Tools, ipc.Tool{Name: clone(t.Name), Description: clone(t.Description), Schema: clone(t.Schema)})
	}
	switch r.ToolChoice.Mode {
	case content.ToolChoiceNone:
		g.ToolChoice = ipc.ToolNone
	case content.ToolChoiceAny:
		g.ToolChoice = ipc.ToolRequired
	case content.ToolChoiceTool:
		g.ToolChoice, g.ToolName = ipc.ToolNamed, clone(r.ToolChoice.Name)
	}
	g.SingleCall = r.ToolChoice.DisableParallel
	// System text goes ahead of the conversation: chat templates take it
	// only there (many refuse a system turn anywhere else), so a system
	// message in the middle of a conversation joins it, in order; its
	// position is lost (content.Request.SystemTexts).
	if system := r.SystemTexts(); len(system) > 0 {
		var sys []byte
		for i, t := range system {
			if i > 0 {
				sys = append(sys, "\n\n"...)
			}
			sys = append(sys, t.Bytes()...)
		}
		g.Messages = append(g.Messages, ipc.Message{Role: "system", Content: sys})
	}
	for _, m := range r.Messages {
		var perr *provider.Error
		switch m.Role {
		case content.RoleUser:
			g.Messages, perr = appendUser(g.Messages, m.Parts)
		case content.RoleAssistant:
			g.Messages, perr = appendAssistant(g.Messages, m.Parts)
		case content.RoleSystem:
			continue // joined the system text above
		default:
			perr = provider.Errorf(logic.ErrInvalidRequest, "unknown role")
		}
		if perr != nil {
			g.Wipe()
			return ipc.Generate{}, perr
		}
	}
	if len(g.Messages) == 0 {
		g.Wipe()
		return ipc.Generate{}, provider.Errorf(logic.ErrInvalidRequest, "no messages")
	}
	for _, s := range r.Stop {
		if s.IsEmpty() {
			g.Wipe()
			return ipc.Generate{}, provider.Errorf(logic.ErrInvalidRequest, "empty stop sequence")
		}
		g.Stop = append(g.Stop, clone(s))
	}
	return g, nil
}

func clone(t content.Text) []byte {
	if t.IsEmpty() {
		return nil
	}
	return append([]byte(nil), t.Bytes()...)
}

// appendUser adds a user turn: each tool result becomes a "tool" turn, in
// order, and the text parts a user turn after them (the model's template
// puts results where it was trained to see them). Images are refused.
func appendUser(msgs []ipc.Message, parts []content.Part) ([]ipc.Message, *provider.Error) {
	var text []byte
	hasText := false
	for _, p := range parts {
		switch p.Kind {
		case content.PartText:
			text = append(text, p.Text.Bytes()...)
			hasText = true
		case content.PartToolResult:
			msgs = append(msgs, ipc.Message{Role: "tool", Content: clone(p.Text), ToolCallID: clone(p.ToolID)})
		case content.PartThinking:
		default:
			clear(text)
			return msgs, provider.Errorf(logic.ErrInvalidRequest, "the embedded engine accepts text, tool calls and tool results only")
		}
	}
	if hasText || len(parts) == 0 {
		msgs = append(msgs, ipc.Message{Role: "user", Content: text})
	}
	return msgs, nil
}

// appendAssistant adds an assistant turn: its text and its calls.
// Thinking is not fed back.
func appendAssistant(msgs []ipc.Message, parts []content.Part) ([]ipc.Message, *provider.Error) {
	m := ipc.Message{Role: "assistant"}
	for _, p := range parts {
		switch p.Kind {
		case content.PartText:
			m.Content = append(m.Content, p.Text.Bytes()...)
		case content.PartToolCall:
			args := clone(p.Args)
			if len(args) == 0 {
				args = []byte("{}")
			}
			m.ToolCalls = append(m.ToolCalls, ipc.ToolCall{ID: clone(p.ToolID), Name: clone(p.ToolName), Args: args})
		case content.PartThinking:
		default:
			msgs = append(msgs, m)
			return msgs, provider.Errorf(logic.ErrInvalidRequest, "the embedded engine accepts text, tool calls and tool results only")
		}
	}
	return append(msgs, m), nil
}
