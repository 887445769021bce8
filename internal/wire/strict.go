package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// The strict-JSON toolkit every front's decoder uses, so that the same
// malformed body gets the same error on every front (each in its own API's
// envelope). What it decides, once:
//
//   - A syntax error names the 0-based byte offset of the offending byte;
//     a body that ends too early names its length.
//   - An unknown field is named in the error when its name is a short
//     identifier (letters, digits, '_' and '-', at most 64 bytes); any
//     other key is reported without its name, so that a client cannot
//     smuggle content into the relay's errors through a key.
//   - A value is never quoted: errors say what type was expected.

// DecodeBody decodes a whole request body into v: one JSON object, unknown
// fields refused, nothing after it but white space. Every error is a
// *RequestError.
func DecodeBody(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return &RequestError{Msg: "request body is empty"}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return &RequestError{Msg: "malformed JSON at byte offset " + strconv.Itoa(len(body))}
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return &RequestError{Msg: "request body must be a JSON object"}
		}
		return FieldError("", err)
	}
	if rest := TrimSpace(body[d.InputOffset():]); len(rest) > 0 {
		return &RequestError{Msg: "unexpected data after the JSON object at byte offset " + strconv.FormatInt(d.InputOffset(), 10)}
	}
	return nil
}

// DecodeValue decodes one raw value, found at path, into v, refusing
// unknown fields. raw has normally been checked for syntax already by
// DecodeBody, so what is left are wrong types and unknown fields.
func DecodeValue(raw []byte, path string, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return FieldError(path, err)
	}
	return nil
}

// FieldError turns an encoding/json error (or a *RequestError returned by
// a custom unmarshaler) into a *RequestError naming the path at fault.
func FieldError(path string, err error) error {
	var re *RequestError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &se):
		// Offset counts the bytes read including the bad one; report the
		// bad byte's own (0-based) position.
		return &RequestError{Field: path, Msg: "malformed JSON at byte offset " + strconv.FormatInt(max(se.Offset-1, 0), 10)}
	case errors.As(err, &te):
		return &RequestError{Field: JoinPath(path, te.Field), Msg: "must be " + TypeName(te.Type)}
	}
	const unknown = `json: unknown field "`
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		name := strings.TrimSuffix(strings.TrimPrefix(msg, unknown), `"`)
		if SafeName(name) {
			return &RequestError{Field: JoinPath(path, name), Msg: "unknown field"}
		}
		return &RequestError{Field: path, Msg: "unknown field"}
	}
	return &RequestError{Field: path, Msg: "malformed value"}
}

// SafeName reports whether a client's key may appear in an error: short
// identifiers only.
func SafeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Typed is implemented by a codec's own value types (a string-like type
// with a custom unmarshaler, say) to name the JSON type they expect.
type Typed interface{ JSONType() string }

var typedType = reflect.TypeFor[Typed]()

// TypeName describes the JSON type a Go type expects, for error messages.
func TypeName(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(typedType) {
		return reflect.Zero(t).Interface().(Typed).JSONType()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of another type"
}

// JoinPath appends a dotted field path (as encoding/json reports it) to path.
func JoinPath(path, field string) string {
	switch {
	case field == "":
		return path
	case path == "":
		return field
	}
	return path + "." + field
}

// Index renders path[i].
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// TrimSpace trims JSON white space (space, tab, CR, LF) from both ends.
func TrimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// FirstByte returns the first non-space byte of raw, or 0 when raw is
// empty: it tells polymorphic JSON values (string, array, object) apart.
func FirstByte(raw []byte) byte {
	raw = TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// IsNull reports whether a raw field was left out or set to null.
func IsNull(raw []byte) bool {
	raw = TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}
