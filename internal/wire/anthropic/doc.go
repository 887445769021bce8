// Package anthropic translates between the Anthropic Messages API wire
// format and the relay's content and logic types, on both sides of the
// relay.
//
// Front side (the relay as an Anthropic-compatible server): [DecodeRequest]
// and [DecodeCountTokens] strictly parse client bodies and report mistakes
// as *wire.RequestError with the JSON path at fault; [EncodeResponse],
// [StreamWriter], [WriteError], [EncodeCountTokens] and [EncodeModels]
// produce exactly the published response and SSE shapes, so the official
// SDKs and Claude Code work unchanged.
//
// Upstream side (the relay as a client of the Anthropic API):
// [EncodeUpstream] builds a streaming request body that the API accepts
// from any decoded request (merging same-role turns, clamping parameters),
// [UpstreamStream] turns the API's event stream into content.Delta values,
// and [ParseUpstreamError] classifies error bodies.
//
// Content bytes are read with Text.Bytes and written with explicit JSON
// escaping (invalid UTF-8 becomes U+FFFD); nothing in this package formats
// content into an error, a log line or a Go string meant for display.
// Error messages never echo a value the client sent.
package anthropic
