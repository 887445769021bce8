package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
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

// decodeObject decodes a whole request body into v: one JSON object,
// nothing after it but white space. Every error is a *RequestError. Fields
// v does not declare are left to the caller (DecodeTop).
func decodeObject(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
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
// DecodeTop, so what is left are wrong types and unknown fields.
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

// Other is the name under which an unknown field whose key is not a
// SafeName is reported.
const Other = "other"

// DecodeTop decodes a whole request body into v under the policy for new
// top-level fields (docs/ARCHITECTURE.md, "Tomorrow's fields"): a field at
// the top level of the object that v does not declare is dropped instead
// of refused, and its name is passed to unknown (when unknown is not nil)
// as the key itself when it is a SafeName, else as Other. Everything else
// stays strict: malformed JSON, a value of the wrong type,
// data after the object. v's own fields should hold nested objects raw and
// have them decoded with DecodeValue, which still refuses unknown fields.
func DecodeTop(body []byte, v any, unknown func(name string)) error {
	if err := decodeObject(body, v); err != nil {
		return err
	}
	if unknown == nil {
		return nil // the decoder has dropped them; nobody counts them
	}
	known := fieldNames(reflect.TypeOf(v))
	return topKeys(body, func(key []byte) {
		for _, k := range known {
			// encoding/json matches keys without regard to case; so does
			// this check, so that what it calls unknown is what Decode
			// dropped.
			if bytes.EqualFold(key, []byte(k)) {
				return
			}
		}
		if name := string(key); SafeName(name) {
			unknown(name)
		} else {
			unknown(Other)
		}
	})
}

var fieldNameCache sync.Map // reflect.Type -> []string

// fieldNames lists the JSON names of the fields of the struct t points to.
func fieldNames(t reflect.Type) []string {
	if c, ok := fieldNameCache.Load(t); ok {
		return c.([]string)
	}
	key := t
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case tag == "-":
			case tag != "":
				names = append(names, tag)
			case f.IsExported():
				names = append(names, f.Name)
			}
		}
	}
	fieldNameCache.Store(key, names)
	return names
}

// topKeys calls fn with the raw bytes of each key of the JSON object in
// body, which must already be known to be one valid object. A key with
// escapes is passed unescaped. It reads keys only: no value is copied.
func topKeys(body []byte, fn func(key []byte)) error {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return &RequestError{Msg: "request body must be a JSON object"}
	}
	i++
	for {
		i = skipSpace(body, i)
		if i >= len(body) {
			return &RequestError{Msg: "malformed JSON at byte offset " + strconv.Itoa(len(body))}
		}
		switch body[i] {
		case '}':
			return nil
		case ',':
			i++
			continue
		case '"':
		default:
			return &RequestError{Msg: "malformed JSON at byte offset " + strconv.Itoa(i)}
		}
		end := skipString(body, i)
		key := body[i+1 : max(end-1, i+1)]
		if bytes.IndexByte(key, '\\') >= 0 {
			var s string
			if json.Unmarshal(body[i:end], &s) == nil {
				key = []byte(s)
			}
		}
		fn(key)
		i = skipSpace(body, end)
		if i < len(body) && body[i] == ':' {
			i++
		}
		i = skipValue(body, skipSpace(body, i))
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the offset just past the string that opens at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the offset just past the value that starts at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}
