package openai

import (
	"encoding/json"
	"reflect"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/inference-relay/relay/internal/wire"
)

// text is a JSON string decoded straight into bytes. Decoding into a Go
// string would leave an immutable copy of the content that nobody can wipe;
// these bytes become a content.Text the caller owns.
type text struct {
	b   []byte
	set bool // false when the field was absent or null
}

// JSONType names what a text field expects in errors (wire.TypeName).
func (text) JSONType() string { return "a string" }

// UnmarshalJSON accepts a string or null. Any other JSON type is reported as
// a *json.UnmarshalTypeError, which encoding/json decorates with the field
// name like its own type errors.
func (t *text) UnmarshalJSON(raw []byte) error {
	if string(raw) == "null" {
		*t = text{}
		return nil
	}
	b, ok := unquote(raw)
	if !ok {
		return &json.UnmarshalTypeError{Value: jsonKind(raw), Type: reflect.TypeFor[string]()}
	}
	*t = text{b: b, set: true}
	return nil
}

// jsonKind names the JSON type of a (valid) value for error messages.
func jsonKind(raw []byte) string {
	raw = wire.TrimSpace(raw)
	if len(raw) == 0 {
		return "value"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// unquote decodes a JSON string token (quotes included) into new bytes with
// the same rules as encoding/json: invalid UTF-8 and lone surrogates become
// U+FFFD. It reports false for anything that is not a well-formed string.
func unquote(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, false
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(s[i+2:])
				if !ok {
					return nil, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s[i+2:]); ok {
							if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
								out = utf8.AppendRune(out, dec)
								i += 6
								continue
							}
						}
					}
					r = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return nil, false
			}
			i += 2
		case c == '"' || c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, unicode.ReplacementChar)
			} else {
				out = append(out, s[i:i+size]...)
			}
			i += size
		}
	}
	return out, true
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, so
// the output is always valid JSON whatever bytes a backend or client sent.
// U+2028 and U+2029 are escaped as encoding/json does, for JavaScript
// readers.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped appends s escaped for the inside of a JSON string (see
// wire.AppendEscaped).
func appendEscaped(dst, s []byte) []byte { return wire.AppendEscaped(dst, s) }

// jbuf builds JSON by appending. Content enters only through text, which
// escapes it; names and numbers the relay controls go through str and num.
type jbuf struct{ b []byte }

func (j *jbuf) raw(s string)      { j.b = append(j.b, s...) }
func (j *jbuf) str(s string)      { j.b = appendString(j.b, []byte(s)) }
func (j *jbuf) text(b []byte)     { j.b = appendString(j.b, b) }
func (j *jbuf) num(n int64)       { j.b = strconv.AppendInt(j.b, n, 10) }
func (j *jbuf) float(f float64)   { j.b = strconv.AppendFloat(j.b, f, 'g', -1, 64) }
func (j *jbuf) rawBytes(b []byte) { j.b = append(j.b, b...) }

// comma writes a separator before every element but the first.
func (j *jbuf) comma(first *bool) {
	if !*first {
		j.b = append(j.b, ',')
	}
	*first = false
}
