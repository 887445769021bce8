// Package contentvet is a go/analysis analyzer (SPEC C3) that keeps user
// content out of logs, errors, metrics and traces.
//
// Content is any value of an exported struct type of package
// github.com/inference-relay/relay/internal/content (Text, Part, Message,
// Tool, ToolChoice, Request, Delta, Collector), or a pointer, slice, array,
// map or channel of one. A value is derived from content when it comes from
// one: t.Bytes(), a string or []byte conversion of it, a slice or element
// of it, string concatenation, append, bytes.Clone, strings.Clone and the
// other functions that turn tainted bytes into new bytes or strings, the
// destination of copy, a bytes.Buffer or strings.Builder written with it, a
// variable passed by address to a call that read it (json.Unmarshal), and
// every local variable assigned from any of these. The tracking is
// intra-procedural and flow-insensitive: within one top-level declaration,
// closures included, assignments are followed until nothing changes.
// Numbers and booleans computed from content (len(t.Bytes()), t.Len(),
// bytes.Equal) are metadata, not content; so are hashes (anything returned
// by crypto/... or hash/...), and the redaction that t.String() returns.
//
// The analyzer reports:
//
//  1. content or derived content passed to a sink: any function or method of
//     fmt, log, log/slog (slog.String, slog.Any, (*slog.Logger).Info, …),
//     errors.New and errors.Join, github.com/prometheus/client_golang/...,
//     go.opentelemetry.io/..., any package whose import path contains
//     /internal/audit or /internal/logging, and the print, println and
//     panic builtins. Passing a content.Text itself to fmt is reported too:
//     it prints the redaction marker, but it is a sign of a mistake.
//  2. a conversion of derived []byte to string, outside the packages the
//     -allow-string flag names (by default the wire codecs, the stand-in
//     engines and the library's root package, which converts at its public
//     edge) and outside _test.go files. A conversion that is only an operand
//     of a comparison (string(b) == "null") is not reported: the compiler
//     compares the bytes in place and no string is made.
//
// A "//contentvet:ok <reason>" comment on the line of a report, or on the
// line before, silences the reports on that line. The reason is required: a
// directive without one is itself reported and silences nothing, and a
// directive that silences nothing is reported as stale.
package contentvet
