// Package e2e holds end-to-end tests: the official OpenAI and Anthropic Go
// SDKs as clients of the relay's real HTTP server, in front of wire-accurate
// stand-ins for the upstream APIs and of real relay backends. It has no code
// of its own.
package e2e
