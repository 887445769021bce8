package server

import (
	"context"
	"io"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/provider"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/logic"
)

// Recorder takes the one metadata-only event of each request: the audit
// chain, metrics and the optional OpenTelemetry exporter.
type Recorder interface {
	Record(audit.Event)
}

// outcome collects what the audit event of one request records. Every
// field is metadata: names become audit.Ident through the registry, so a
// model name the relay does not know is recorded as "unknown".
type outcome struct {
	id        audit.RequestID
	start     time.Time
	firstByte time.Time
	params    logic.Params
	target    logic.Target
	status    logic.Status
	code      int
	class     logic.ErrorClass
	recorded  bool // the event went out; record is a no-op after
}

func (s *Server) newOutcome() *outcome {
	return &outcome{id: audit.NewRequestID(), start: time.Now()}
}

// fail notes a failure with its class and the status the client got.
func (o *outcome) fail(class logic.ErrorClass, code int) {
	o.class, o.code = class, code
}

// record builds the event, hands it to every recorder and logs it, once:
// whichever of the handler's deferred record and the stream's Close comes
// first records, the other is a no-op.
func (s *Server) record(o *outcome) {
	if o.recorded {
		return
	}
	o.recorded = true
	if o.code == 0 {
		o.code = o.class.HTTPStatus()
	}
	ev := audit.Event{
		Time:         o.start,
		RequestID:    o.id,
		Alias:        s.idents.Ident(o.params.Model),
		Provider:     s.idents.Ident(o.target.Provider),
		Model:        s.idents.Ident(o.target.Model),
		InputTokens:  int64(o.status.Usage.Input),
		OutputTokens: int64(o.status.Usage.Output),
		Duration:     time.Since(o.start),
		Status:       audit.StatusOf(o.code),
		Error:        o.class,
	}
	if o.class == logic.ErrCanceled {
		ev.Status = audit.StatusCanceled
	}
	if !o.firstByte.IsZero() {
		ev.TTFT = o.firstByte.Sub(o.start)
	}
	if o.params.Session != "" && s.keyer != nil {
		ev.Session = s.keyer.Hash([]byte(o.params.Session))
	}
	for _, r := range s.recorders {
		r.Record(ev)
	}
	s.log.Info("inference", "request_id", ev.RequestID, "alias", ev.Alias, "provider", ev.Provider, "model", ev.Model,
		"status", o.code, "error_class", ev.Error.String(), "tokens_in", ev.InputTokens, "tokens_out", ev.OutputTokens,
		"duration_ms", ev.Duration.Milliseconds(), "ttft_ms", ev.TTFT.Milliseconds())
}

// StartRecorded is [Server.Start] for in-process callers (the library's
// Client): the request is audited like an HTTP one, its event recorded when
// the returned stream is closed.
func (s *Server) StartRecorded(ctx context.Context, p logic.Params, r *content.Request) (provider.Stream, *provider.Error) {
	o := s.newOutcome()
	st, perr := s.startRecorded(ctx, o, p, r)
	if perr != nil {
		s.record(o)
	}
	return st, perr
}

// startRecorded is the one start path of every request, HTTP or in-process:
// it notes the request's parameters and target in o, starts it (Start:
// panic-safe), and returns the stream wrapped so that the first delta,
// an upstream failure and the final status land in o, and o is recorded
// when the stream is closed. On failure o holds the error; the caller
// records it.
func (s *Server) startRecorded(ctx context.Context, o *outcome, p logic.Params, r *content.Request) (provider.Stream, *provider.Error) {
	o.params = p
	st, target, perr := s.Start(ctx, p, r)
	o.target = target
	if perr != nil {
		o.fail(perr.Class, perr.HTTPStatus())
		return nil, perr
	}
	return &recordedStream{Stream: st, s: s, o: o}, nil
}

// recordedStream notes the first delta and the failure class of a stream
// and records its event on Close. A failure the caller notes itself (the
// client went away, the session could not store the turn) overrides the
// upstream's.
type recordedStream struct {
	provider.Stream
	s    *Server
	o    *outcome
	done bool
}

func (rs *recordedStream) Recv() (content.Delta, error) {
	d, err := rs.Stream.Recv()
	switch {
	case err == nil && rs.o.firstByte.IsZero():
		rs.o.firstByte = time.Now()
	case err != nil && err != io.EOF && rs.o.class == logic.ErrNone:
		pe := provider.AsError(err)
		rs.o.fail(pe.Class, pe.HTTPStatus())
	}
	return d, err
}

func (rs *recordedStream) Close() error {
	err := rs.Stream.Close()
	if !rs.done {
		rs.done = true
		rs.o.status = rs.Stream.Status()
		rs.s.record(rs.o)
	}
	return err
}

// safeCount asks a backend for an exact token count, turning a panic in its
// adapter into an upstream error as Start does.
func safeCount(ctx context.Context, tc provider.TokenCounter, t logic.Target, p logic.Params, r *content.Request) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, provider.Errorf(logic.ErrUpstream, "the backend adapter failed")
		}
	}()
	return tc.CountTokens(ctx, t, p, r)
}
