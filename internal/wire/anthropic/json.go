package anthropic

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/inference-relay/relay/internal/wire"
)

// appendString appends s as a quoted JSON string (see wire.AppendEscaped).
func appendString(b, s []byte) []byte { return wire.AppendString(b, s) }

// appendStr is appendString for relay-owned Go strings (ids, model names).
func appendStr(b []byte, s string) []byte { return appendString(b, []byte(s)) }

// appendObject appends raw, compacted, when it is a valid JSON object, and
// fallback otherwise. Compacting keeps SSE data on one line; invalid UTF-8
// (which can only sit inside strings of valid JSON) becomes U+FFFD.
func appendObject(b, raw []byte, fallback string) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return append(b, fallback...)
	}
	n := len(b)
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return append(buf.Bytes()[:n], fallback...)
	}
	out := buf.Bytes()
	if !utf8.Valid(out[n:]) {
		fixed := bytes.ToValidUTF8(out[n:], []byte("\uFFFD"))
		out = append(out[:n], fixed...)
	}
	return out
}

// appendInt appends a decimal integer.
func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// isObject reports whether raw (valid JSON) is an object.
func isObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}
