package otel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/inference-relay/relay/internal/audit"
)

// Sending limits. They are not configurable: they only keep a slow or
// hostile collector from holding the exporter up.
const (
	postTimeout     = 10 * time.Second
	retryBackoff    = 250 * time.Millisecond
	maxResponseBody = 64 << 10
)

// run batches queued events and sends them: when a batch is full, when the
// flush interval passes, and, on Close, until the queue is empty.
func (e *Exporter) run() {
	defer close(e.done)
	tick := time.NewTicker(e.interval)
	defer tick.Stop()
	batch := make([]audit.Event, 0, e.batchSize)
	add := func(ev audit.Event) {
		batch = append(batch, ev)
		if len(batch) >= e.batchSize {
			e.export(batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case ev := <-e.queue:
			add(ev)
		case <-tick.C:
			if len(batch) > 0 {
				e.export(batch)
				batch = batch[:0]
			}
		case <-e.stop:
			// Close holds Record off, so the queue only shrinks from here.
			for {
				select {
				case ev := <-e.queue:
					add(ev)
				default:
					if len(batch) > 0 {
						e.export(batch)
					}
					return
				}
			}
		}
	}
}

// export sends one batch, retrying once after a short pause when the
// failure may be passing, and counts the outcome.
func (e *Exporter) export(batch []audit.Event) {
	n := uint64(len(batch))
	body, err := encode(e.resource, batch)
	if err != nil {
		e.failed.Add(n)
		return
	}
	rejected, retry, err := e.post(body)
	if err != nil && retry {
		select {
		case <-time.After(retryBackoff):
			rejected, _, err = e.post(body)
		case <-e.ctx.Done():
		}
	}
	if err != nil {
		e.failed.Add(n)
		return
	}
	rejected = min(rejected, n)
	e.exported.Add(n - rejected)
	e.failed.Add(rejected)
}

// errStatus reports a collector's non-2xx answer.
var errStatus = errors.New("otel: collector refused the export")

// post sends one export request. It reports how many spans the collector
// rejected in an otherwise successful answer, and, on failure, whether a
// retry might succeed: after a network error, 429 or 5xx, per the OTLP
// spec's retry guidance.
func (e *Exporter) post(body []byte) (rejected uint64, retry bool, err error) {
	ctx, cancel := context.WithTimeout(e.ctx, postTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, false, err
	}
	for k, v := range e.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, e.ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	// Read a bounded amount, enough for any partial-success message; the
	// rest is left unread and the connection closed with the body.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return rejectedSpans(answer), false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return 0, true, errStatus
	default:
		return 0, false, errStatus
	}
}

// rejectedSpans reads partialSuccess.rejectedSpans from a collector's JSON
// answer; anything unreadable counts as full success, as the OTLP spec has
// a 2xx answer mean.
func rejectedSpans(answer []byte) uint64 {
	var r struct {
		PartialSuccess struct {
			RejectedSpans json.RawMessage `json:"rejectedSpans"`
		} `json:"partialSuccess"`
	}
	if len(answer) == 0 || json.Unmarshal(answer, &r) != nil {
		return 0
	}
	// An int64 is a string in the JSON mapping, but accept a bare number.
	raw := r.PartialSuccess.RejectedSpans
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}
