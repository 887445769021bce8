// Package provider defines the one small interface every backend kind
// implements, and the error type backends return. Each backend kind lives in
// its own sub-package and never imports route or server.
package provider

import (
	"context"
	"errors"
	"io"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
)

// Provider is a backend the relay can send a request to.
//
// Stream starts the request and returns once the backend has accepted it
// (HTTP headers received, child answered), so that an error before the first
// byte can still be reported with a proper status or fall back to another
// target. Every provider streams; the server assembles non-streamed replies.
// Canceling ctx cancels the upstream request.
type Provider interface {
	Stream(ctx context.Context, t logic.Target, p logic.Params, r *content.Request) (Stream, error)
}

// Stream is a reply being received.
//
// Recv returns the next delta, io.EOF after the last one, or an error
// (an *Error where the backend said what went wrong). Status may be called at
// any time: usage and the model are filled in as the backend reports them,
// and the stop reason is final once Recv has returned io.EOF. Close releases
// the upstream connection; it is safe to call more than once.
type Stream interface {
	Recv() (content.Delta, error)
	Status() logic.Status
	Close() error
}

// ModelLister is implemented by providers that can list their models.
type ModelLister interface {
	Models(ctx context.Context) ([]string, error)
}

// TokenCounter is implemented by providers that can count the input tokens
// of a request exactly.
type TokenCounter interface {
	CountTokens(ctx context.Context, t logic.Target, p logic.Params, r *content.Request) (int, error)
}

// Error is a failure with a class and the HTTP status to present. Detail is
// the backend's own message: it may echo user content, so it is content,
// shown to the client that sent the request and to nobody else.
type Error struct {
	Class  logic.ErrorClass
	Status int // 0 means Class.HTTPStatus()
	// Detail goes to the client only.
	Detail content.Text
	// Retryable is true for failures worth another try or another target.
	Retryable bool
}

// Error names the class only; the detail never leaves through error strings.
func (e *Error) Error() string { return "provider: " + e.Class.String() }

// HTTPStatus is the status code to present to the client.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Class.HTTPStatus()
}

// Errorf builds an *Error whose detail is a message the relay wrote itself.
func Errorf(class logic.ErrorClass, msg string) *Error {
	return &Error{Class: class, Detail: content.FromString(msg), Retryable: class == logic.ErrUpstream || class == logic.ErrOverloaded || class == logic.ErrTimeout || class == logic.ErrUnavailable || class == logic.ErrRateLimited}
}

// AsError returns err as an *Error, classifying context cancellation,
// deadlines and unknown failures.
func AsError(err error) *Error {
	var pe *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, context.Canceled):
		return Errorf(logic.ErrCanceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return Errorf(logic.ErrTimeout, "the backend did not answer in time")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(logic.ErrUpstream, "the backend closed the stream early")
	default:
		return Errorf(logic.ErrUpstream, "the backend could not be reached or answered nonsense")
	}
}

// Collect drains s into a finished assistant message. It closes s.
func Collect(s Stream) (content.Message, logic.Status, error) {
	defer s.Close()
	var c content.Collector
	for {
		d, err := s.Recv()
		if err == io.EOF {
			return c.Message(), s.Status(), nil
		}
		if err != nil {
			return c.Message(), s.Status(), err
		}
		c.Add(d)
	}
}

// ErrorClass lets the log handler record the class of a provider error
// without its text.
func (e *Error) ErrorClass() logic.ErrorClass { return e.Class }
