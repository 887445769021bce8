// Package audit defines the one record the relay keeps about a request: an
// [Event] of metadata only (SPEC C1–C2, A2).
//
// The package promises that no field of an Event can hold free text. Every
// field is a number, a bool, a time, or one of the identifier types below,
// whose values are constrained by construction:
//
//   - [Ident]: a provider, model or alias name that the relay registered in a
//     [Registry] itself; anything else (a client's string, a malformed name)
//     becomes [Unknown].
//   - [KeyedHash]: "hmac-sha256:" and 32 hex digits, made only by a [Keyer].
//   - [RequestID]: 16 random bytes, printed as 32 hex digits.
//   - [StatusClass] and logic.ErrorClass: small enums with fixed names.
//
// A reflection test over Event enforces this, and an import-rule test keeps
// this package (and metrics and logging) away from the content package.
package audit

import (
	"encoding/json"
	"time"

	"github.com/inference-relay/relay/internal/logic"
)

// Event is the metadata of one request, as written to the audit file and fed
// to metrics. The zero value is valid: unknown identifiers, zero counts.
type Event struct {
	Time      time.Time
	RequestID RequestID
	// Session is the keyed hash of the client's session name; zero when the
	// request had no session.
	Session KeyedHash
	// Alias is the name the request was routed by; Provider and Model are
	// the target that served it (the last one tried when it failed).
	Alias    Ident
	Provider Ident
	Model    Ident

	InputTokens  int64
	OutputTokens int64
	CostMicroUSD int64

	// Duration runs from the request's arrival to its last byte; TTFT to the
	// first content byte sent to the client (zero when none was sent).
	Duration time.Duration
	TTFT     time.Duration

	// Fallback is true when a target other than the chain's first served or
	// last failed the request.
	Fallback bool
	Status   StatusClass
	Error    logic.ErrorClass
}

// eventJSON fixes the wire shape of an Event: snake_case keys in a stable
// order, durations as whole milliseconds, enums by name.
type eventJSON struct {
	Time         string      `json:"time"`
	RequestID    RequestID   `json:"request_id"`
	Session      KeyedHash   `json:"session,omitzero"`
	Alias        Ident       `json:"alias"`
	Provider     Ident       `json:"provider"`
	Model        Ident       `json:"model"`
	InputTokens  int64       `json:"input_tokens"`
	OutputTokens int64       `json:"output_tokens"`
	CostMicroUSD int64       `json:"cost_micro_usd"`
	DurationMS   int64       `json:"duration_ms"`
	TTFTMS       int64       `json:"ttft_ms"`
	Fallback     bool        `json:"fallback"`
	Status       StatusClass `json:"status"`
	Error        string      `json:"error"`
}

// MarshalJSON encodes the event with snake_case keys; the time is RFC 3339
// with nanoseconds in UTC, durations are integer milliseconds ("duration_ms",
// "ttft_ms"), Status and Error are their names.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(eventJSON{
		Time:         e.Time.UTC().Format(time.RFC3339Nano),
		RequestID:    e.RequestID,
		Session:      e.Session,
		Alias:        e.Alias,
		Provider:     e.Provider,
		Model:        e.Model,
		InputTokens:  e.InputTokens,
		OutputTokens: e.OutputTokens,
		CostMicroUSD: e.CostMicroUSD,
		DurationMS:   e.Duration.Milliseconds(),
		TTFTMS:       e.TTFT.Milliseconds(),
		Fallback:     e.Fallback,
		Status:       e.Status,
		Error:        e.Error.String(),
	})
}
