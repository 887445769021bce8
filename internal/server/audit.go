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
}

func (s *Server) newOutcome() *outcome {
	return &outcome{id: audit.NewRequestID(), start: time.Now()}
}

// fail notes a failure with its class and the status the client got.
func (o *outcome) fail(class logic.ErrorClass, code int) {
	o.class, o.code = class, code
}

// record builds the event, hands it to every recorder and logs it.
func (s *Server) record(o *outcome) {
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
	o.params = p
	st, target, perr := s.Start(ctx, p, r)
	o.target = target
	if perr != nil {
		o.fail(perr.Class, perr.HTTPStatus())
		s.record(o)
		return nil, perr
	}
	return &recordedStream{Stream: st, s: s, o: o}, nil
}

// recordedStream notes the first delta and the failure class of an
// in-process stream and records its event on Close.
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
