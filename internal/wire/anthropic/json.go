package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
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

// firstByte returns the first non-space byte of raw, or 0 when raw is
// empty: it tells polymorphic JSON values (string, array, object) apart.
func firstByte(raw []byte) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// absent reports whether a raw field was left out or set to null.
func absent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// decodeStrict decodes the JSON value raw, found at path, into v, refusing
// unknown fields. raw has already been checked for syntax by the decoder of
// the whole body, so the errors left are wrong types and unknown fields.
func decodeStrict(raw []byte, path string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fieldError(path, err)
	}
	return nil
}

// decodeBody decodes a whole request body into v: strict, one JSON value,
// nothing after it but white space.
func decodeBody(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return &wire.RequestError{Msg: "empty request body"}
		}
		if err == io.ErrUnexpectedEOF {
			return &wire.RequestError{Msg: fmt.Sprintf("malformed JSON: unexpected end at byte %d", len(body))}
		}
		return fieldError("", err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return &wire.RequestError{Msg: fmt.Sprintf("unexpected data after the JSON body at byte %d", end)}
	}
	return nil
}

// fieldError turns a decoding error into a RequestError naming the path at
// fault. It never includes the offending value or an unknown key's name.
func fieldError(path string, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return &wire.RequestError{Field: joinPath(path, te.Field), Msg: "must be " + typeName(te.Type)}
	case errors.As(err, &se):
		return &wire.RequestError{Msg: fmt.Sprintf("malformed JSON at byte %d", se.Offset)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &wire.RequestError{Field: path, Msg: "unknown field"}
	default:
		return &wire.RequestError{Field: path, Msg: "invalid value"}
	}
}

// joinPath appends a dotted field path (as encoding/json reports it) to path.
func joinPath(path, field string) string {
	switch {
	case field == "":
		return path
	case path == "":
		return field
	default:
		return path + "." + field
	}
}

// index renders path[i].
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// typeName describes the JSON type a Go type expects, for error messages.
func typeName(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "of another type"
	}
}
