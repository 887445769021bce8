// Package canary is the canary suite (SPEC C4): a test-only package that
// proves user content never reaches anything the relay writes.
//
// # What it proves
//
// The tests build the real `relay` binary, start it as a child process in
// front of the OpenAI-compatible and Anthropic stand-ins, and send unique
// random canaries through every place a client can put bytes — message
// text, system prompt, assistant history, tool names, descriptions and
// schema property names, tool call arguments and results, stop sequences,
// model names, header values, API keys, query strings, URL paths, session
// ids and HTTP method names — along every path a request can take:
// success (both fronts × both backends, streamed and not), upstream 4xx and
// 5xx, an upstream that hangs until the client gives up, a client that
// cancels mid-stream, upstream mid-stream errors and cut streams, malformed
// and oversized bodies, unknown field names, and a SIGTERM while a stream
// is in flight.
//
// Then it searches every byte the relay produced — its stdout and stderr,
// every file under its state directory (API key hashes, the audit HMAC key,
// the hash-chained audit trail), and the GET /metrics and GET /audit
// bodies — for each canary as-is, hex-encoded, base64-encoded (at every
// byte alignment), JSON- and Go-escaped and URL-escaped. Any hit fails the
// test with the stream or file, the byte offset, the canary and the path
// and place that sent it. The scan is checked not to be vacuous: the audit
// trail must hold a record for every request the relay is meant to audit,
// and stderr a log line for each.
//
// A provider that panics cannot be injected into the child, so one test
// builds the same server in-process around fake providers that panic in
// Stream and mid-stream in Recv, with panic values that carry the request's
// content, and scans the logger's output, the audit file and /metrics the
// same way.
//
// # What it cannot see
//
// The suite sees only what the relay writes out. It cannot see copies of
// content inside the process: the Go runtime's heap, stacks, freed buffers
// not yet reused, kernel socket buffers, swap, or a core dump taken while a
// request is in flight. memscan_test.go measures the relay's own memory
// (through /proc/PID/mem) after a session ends; kernel socket buffers and
// swap stay out of reach of any test here. It also does not judge what the relay sends to
// the client that made a request (that client's own content may come back
// to it) or to the upstream it was routed to (that is the request's
// purpose), and a transform it does not search for (compression,
// encryption, a hash of the content) would go unnoticed.
package canary
