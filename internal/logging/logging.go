// Package logging gives the relay its one logger: structured JSON through a
// [Handler] that lets only metadata through (SPEC C2).
//
// The handler promises that, whatever a call site passes:
//
//   - only attributes whose key is in the allowlist ([AllowedKeys]) are
//     written; a key inside a group is checked as its full dotted path
//     ("group.key"), so a group passes only attributes listed under it;
//   - no value whose type comes from the content or secret packages is
//     written, found by reflection on its dynamic type, at any depth of
//     pointers, slices, maps and structs, before and after every LogValuer
//     step, and inside groups;
//   - raw bytes ([]byte) and values whose type holds an interface, func or
//     channel (which could hide any dynamic type) are dropped;
//   - an error is written only as its class: the string returned by a
//     Class() string method, or the name of its logic.ErrorClass, found
//     with errors.As; any other error becomes "error", because error
//     strings may carry text.
//
// The message itself is not inspected: by convention every message is a
// constant string, and the contentvet analyzer (SPEC C3) rejects calls
// whose message is not. There is no debug mode: every level goes through
// the same filter.
//
// This package must not import the content or secret packages; it names
// them by import path instead.
package logging

import (
	"io"
	"log/slog"
	"slices"
)

// New returns a logger that writes JSON lines to w at level and above,
// through a [Handler].
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(NewHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// allowed is the attribute allowlist. Adding a key is a review decision:
// its values must be metadata (identifiers, counts, durations, addresses the
// relay chose), never client text.
var allowed = map[string]bool{
	// What happened and where.
	"component": true, // the subsystem: "server", "route", "chain", …
	"event":     true, // a constant event name, or an audit.Event
	"reason":    true, // a relay-written constant reason
	"state":     true, // a state name (trust, watchdog)
	"policy":    true, // a configured policy name
	"version":   true, // the relay's or a manifest's version
	// Network, as configured or measured.
	"addr":     true,
	"listen":   true,
	"backend":  true, // a configured backend name
	"url_host": true, // the host of a configured upstream URL, never a path or query
	// HTTP, by route template only: raw paths and queries are client text.
	"method":        true,
	"path_template": true,
	"status":        true,
	// Routing (as audit.Ident values, so unknown names read "unknown").
	"provider": true,
	"model":    true,
	"alias":    true,
	"attempt":  true,
	"fallback": true,
	// Accounting.
	"duration_ms":    true,
	"ttft_ms":        true,
	"tokens_in":      true,
	"tokens_out":     true,
	"cost_micro_usd": true,
	"count":          true,
	"seq":            true,
	// Correlation: random or keyed-hash identifiers only.
	"request_id": true,
	"session":    true, // an audit.KeyedHash or its Prefix
	// Failures, by class.
	"error_class": true,
	"err_kind":    true,
	// Child processes.
	"pid":       true,
	"exit_code": true,
	"signal":    true,
}

// builtin are the keys the JSON handler writes itself; an attribute with
// one of them would shadow it, so it is dropped.
var builtin = map[string]bool{
	slog.TimeKey: true, slog.LevelKey: true, slog.MessageKey: true, slog.SourceKey: true,
}

// AllowedKeys returns the allowlist, sorted, for documentation and tests.
func AllowedKeys() []string {
	keys := make([]string, 0, len(allowed))
	for k := range allowed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
