package engine

import (
	"errors"
	"fmt"
)

var (
	// ErrNotLoaded is returned by OpenModel before a successful Load.
	ErrNotLoaded = errors.New("engine: llama.cpp libraries are not loaded")
	// ErrClosed is returned by a Model or Session used after Close.
	ErrClosed = errors.New("engine: closed")
	// ErrContextLength means the prompt, plus the completion tokens asked
	// for, does not fit the session's context. The error is a
	// *ContextLengthError carrying the numbers.
	ErrContextLength = errors.New("engine: context length exceeded")
	// ErrDecode is wrapped when llama.cpp fails to evaluate a batch.
	ErrDecode = errors.New("engine: llama.cpp decode failed")
)

// ContextLengthError says by how much a request overflows the context.
type ContextLengthError struct {
	PromptTokens  int
	MaxTokens     int // completion tokens asked for; 0 when none were
	ContextLength int
}

func (e *ContextLengthError) Error() string {
	return fmt.Sprintf("engine: %d prompt tokens and %d completion tokens exceed the context of %d tokens",
		e.PromptTokens, e.MaxTokens, e.ContextLength)
}

// Is makes errors.Is(err, ErrContextLength) true.
func (e *ContextLengthError) Is(target error) bool { return target == ErrContextLength }

// paramError is a caller mistake in Params or messages. Its text is the
// engine's own and never quotes a value it was given.
type paramError string

func (e paramError) Error() string { return "engine: " + string(e) }

// ErrInvalid is matched by every paramError.
var ErrInvalid = errors.New("engine: invalid request")

// Is makes errors.Is(err, ErrInvalid) true for parameter errors.
func (e paramError) Is(target error) bool { return target == ErrInvalid }
