// Package openai translates between the OpenAI Chat Completions wire format
// and the relay's content and logic types, in both directions.
//
// Front side (the relay answering a client): [DecodeRequest] strictly parses
// a request body, [EncodeResponse], [StreamWriter], [WriteError] and
// [EncodeModels] render answers. Upstream side (the relay as a client of an
// OpenAI-compatible server): [EncodeUpstream] builds a streamed request and
// [UpstreamStream] reads the reply.
//
// What it promises:
//   - Content reaches JSON only through this package's own escaping writer,
//     which replaces invalid UTF-8 and never fails; decoded content lands in
//     fresh byte slices that the caller can wipe, not in Go strings.
//   - Errors never carry content: a [wire.RequestError] names a field path
//     and says what is wrong in words the relay wrote, and a [StreamError]
//     keeps the backend's message in Msg, out of its Error string.
//   - Reading an upstream stream allocates at most what one SSE event may
//     hold (see package sse) plus the deltas it yields, and ends on any
//     input: garbage is an error, never a hang.
package openai
