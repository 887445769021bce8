package audit

import (
	"encoding/json"
	"strconv"
	"time"
)

// Entry is what the audit chain records: an [Event] (one request) or a
// [Refusals] summary (many refused requests). The set is closed: only this
// package's types implement it, so everything the chain writes keeps the
// package's promise of metadata only.
type Entry interface {
	json.Marshaler
	auditEntry()
}

func (Event) auditEntry()    {}
func (Refusals) auditEntry() {}

// RefusalReason says why the relay refused a request before serving it.
type RefusalReason uint8

const (
	// RefusedHost: the Host header is not one of the relay's names.
	RefusedHost RefusalReason = iota
	// RefusedOrigin: a cross-origin browser request.
	RefusedOrigin
	// RefusedAuth: no API key, or a wrong one (401).
	RefusedAuth
	// RefusedNotFound: a route the relay does not serve (404).
	RefusedNotFound
	// RefusedConnLimit: the process's connection cap was reached (503).
	RefusedConnLimit
	// RefusedUIDLimit: the connecting user's connection cap was reached (503).
	RefusedUIDLimit

	// NumRefusalReasons is the number of reasons.
	NumRefusalReasons
)

var refusalNames = [NumRefusalReasons]string{
	RefusedHost:      "host",
	RefusedOrigin:    "origin",
	RefusedAuth:      "auth",
	RefusedNotFound:  "not_found",
	RefusedConnLimit: "conn_limit",
	RefusedUIDLimit:  "uid_limit",
}

// String names the reason; values outside the enum read "unknown".
func (r RefusalReason) String() string {
	if r < NumRefusalReasons {
		return refusalNames[r]
	}
	return "unknown"
}

// Refusals counts the requests and connections refused during one
// interval, by reason. The relay records one such summary per interval in
// which anything was refused, never one record per refusal, so a client
// without a key cannot grow the audit trail faster than one record per
// interval.
type Refusals struct {
	From, To time.Time
	Counts   [NumRefusalReasons]int64
}

// Total is the sum of the counts.
func (r Refusals) Total() int64 {
	var n int64
	for _, c := range r.Counts {
		n += c
	}
	return n
}

// MarshalJSON encodes
//
//	{"kind":"refusals","from":"…","to":"…","counts":{"host":0,…}}
//
// with every reason present, in the enum's order, and times in RFC 3339
// with nanoseconds, UTC.
func (r Refusals) MarshalJSON() ([]byte, error) {
	b := []byte(`{"kind":"refusals","from":`)
	b = appendTime(b, r.From)
	b = append(b, `,"to":`...)
	b = appendTime(b, r.To)
	b = append(b, `,"counts":{`...)
	for i, c := range r.Counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, refusalNames[i]...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, c, 10)
	}
	return append(b, `}}`...), nil
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
