package server

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inference-relay/relay/internal/audit"
)

// RefusalCounter is told of each refusal as it happens (the metrics).
type RefusalCounter interface {
	Refused(audit.RefusalReason)
}

// SummaryRecorder takes the per-interval summary of refusals (the audit
// chain). A Recorder that also implements it gets the summaries.
type SummaryRecorder interface {
	RecordRefusals(audit.Refusals)
}

// refusals counts refused requests between two summaries. Counting is one
// atomic add: an unauthenticated flood costs no log line, no audit record
// and no allocation per request.
type refusals struct {
	counts  [audit.NumRefusalReasons]atomic.Int64
	mu      sync.Mutex // serialises Take
	since   time.Time
	counter RefusalCounter
}

func (r *refusals) add(reason audit.RefusalReason) {
	if reason >= audit.NumRefusalReasons {
		return
	}
	r.counts[reason].Add(1)
	if r.counter != nil {
		r.counter.Refused(reason)
	}
}

// take returns the counts since the last take and resets them.
func (r *refusals) take(now time.Time) audit.Refusals {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := audit.Refusals{From: r.since, To: now}
	for i := range r.counts {
		out.Counts[i] = r.counts[i].Swap(0)
	}
	r.since = now
	return out
}

// CountRefusal counts a refusal made outside the HTTP handler: a
// connection refused at accept by the connection caps.
func (s *Server) CountRefusal(reason audit.RefusalReason) { s.refusals.add(reason) }

// FlushRefusals records the refusals counted since the last flush as one
// summary, in the audit trail and as one log line per reason, when there
// were any; it returns the summary.
func (s *Server) FlushRefusals() audit.Refusals {
	sum := s.refusals.take(time.Now().UTC())
	if sum.Total() == 0 {
		return sum
	}
	for _, rec := range s.recorders {
		if sr, ok := rec.(SummaryRecorder); ok {
			sr.RecordRefusals(sum)
		}
	}
	for i, n := range sum.Counts {
		if n > 0 {
			s.log.Warn("requests refused", "component", "server", "reason", audit.RefusalReason(i).String(), "count", n)
		}
	}
	return sum
}

// RunRefusalSummaries flushes the refusal counts every interval until ctx
// ends, and once more then.
func (s *Server) RunRefusalSummaries(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.FlushRefusals()
			return
		case <-t.C:
			s.FlushRefusals()
		}
	}
}

// closeUnread makes the reply to a refused request the connection's last,
// and keeps the server from reading the request's body: net/http drains up
// to 256 KiB of an unread body when the handler returns, even when the
// reply closes the connection, and a client that declared a body and never
// sends it would hold the connection until the read deadline. Setting the
// read deadline to now makes that drain fail at once; the reply is already
// written by then.
func closeUnread(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	if r.ContentLength != 0 { // declared, or chunked (-1)
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}
