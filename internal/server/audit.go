package server

import (
	"time"

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
