package engine

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// This file turns a JSON document (a tool's schema, a call's arguments)
// into the value a chat template sees, without copying its content into Go
// strings, which could not be wiped: every string and number in it becomes
// a placeholder that indexes the source bytes, and only the JSON Schema
// keywords (fixed strings of this binary) and true/false/null are values
// of their own.

// maxJSONDepth bounds the nesting the template values follow; deeper
// documents are rendered as one opaque string.
const maxJSONDepth = 64

var errJSON = errors.New("malformed JSON")

// keywords are the strings that stay literal in a template's values: the
// JSON Schema words templates inspect (some iterate a tool's properties
// and read their type and description). Anything else is content.
var keywords = map[string]string{}

func init() {
	for _, k := range []string{
		"type", "properties", "required", "description", "enum", "items", "additionalProperties",
		"object", "string", "number", "integer", "boolean", "array", "null", "title", "default",
		"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems",
		"minLength", "maxLength", "anyOf", "oneOf", "const", "format", "$schema", "nullable", "examples",
	} {
		keywords[k] = k
	}
}

// jsonValue parses doc into a template value whose strings and numbers are
// placeholders registered with b.
type jsonParser struct {
	b   *binder
	src []byte
	pos int
}

func (b *binder) jsonValue(doc []byte) (jinja.Value, error) {
	p := &jsonParser{b: b, src: doc}
	v, err := p.value(0)
	if err != nil {
		return jinja.Value{}, err
	}
	p.ws()
	if p.pos != len(p.src) {
		return jinja.Value{}, errJSON
	}
	return v, nil
}

func (p *jsonParser) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (jinja.Value, error) {
	if depth > maxJSONDepth {
		return jinja.Value{}, errJSON
	}
	p.ws()
	if p.pos >= len(p.src) {
		return jinja.Value{}, errJSON
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		p.pos++
		d := jinja.NewDict()
		p.ws()
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			p.pos++
			return d, nil
		}
		for {
			p.ws()
			raw, err := p.str()
			if err != nil {
				return jinja.Value{}, err
			}
			key := p.b.key(raw)
			p.ws()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return jinja.Value{}, errJSON
			}
			p.pos++
			v, err := p.value(depth + 1)
			if err != nil {
				return jinja.Value{}, err
			}
			d.AsDict().Set(key, v)
			p.ws()
			if p.pos >= len(p.src) {
				return jinja.Value{}, errJSON
			}
			if p.src[p.pos] == '}' {
				p.pos++
				return d, nil
			}
			if p.src[p.pos] != ',' {
				return jinja.Value{}, errJSON
			}
			p.pos++
		}
	case c == '[':
		p.pos++
		var items []jinja.Value
		p.ws()
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			p.pos++
			return jinja.NewList(items), nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return jinja.Value{}, err
			}
			items = append(items, v)
			p.ws()
			if p.pos >= len(p.src) {
				return jinja.Value{}, errJSON
			}
			if p.src[p.pos] == ']' {
				p.pos++
				return jinja.NewList(items), nil
			}
			if p.src[p.pos] != ',' {
				return jinja.Value{}, errJSON
			}
			p.pos++
		}
	case c == '"':
		raw, err := p.str()
		if err != nil {
			return jinja.Value{}, err
		}
		return jinja.NewString(p.b.jsonString(raw)), nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []struct {
			s string
			v jinja.Value
		}{{"true", jinja.NewBool(true)}, {"false", jinja.NewBool(false)}, {"null", jinja.None()}} {
			if len(p.src)-p.pos >= len(lit.s) && string(p.src[p.pos:p.pos+len(lit.s)]) == lit.s {
				p.pos += len(lit.s)
				return lit.v, nil
			}
		}
		return jinja.Value{}, errJSON
	case c == '-' || (c >= '0' && c <= '9'):
		n := scanNumber(p.src[p.pos:])
		if n == 0 {
			return jinja.Value{}, errJSON
		}
		raw := p.src[p.pos : p.pos+n]
		p.pos += n
		return jinja.NewString(p.b.put(raw, holdNumber)), nil
	}
	return jinja.Value{}, errJSON
}

// str reads a JSON string and returns its bytes between the quotes, still
// escaped; the escapes are checked.
func (p *jsonParser) str() ([]byte, error) {
	if p.pos >= len(p.src) || p.src[p.pos] != '"' {
		return nil, errJSON
	}
	start := p.pos + 1
	for i := start; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '"':
			p.pos = i + 1
			return p.src[start:i], nil
		case c == '\\':
			if i+1 >= len(p.src) {
				return nil, errJSON
			}
			switch p.src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 >= len(p.src) || !isHex4(p.src[i+2:i+6]) {
					return nil, errJSON
				}
				i += 5
			default:
				return nil, errJSON
			}
		case c < 0x20:
			return nil, errJSON
		}
	}
	return nil, errJSON
}

func isHex4(b []byte) bool {
	if len(b) < 4 { // b[:4] could reach past len into the backing array
		return false
	}
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// scanNumber returns the length of the JSON number at the start of b, or
// 0 if there is none.
func scanNumber(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0
		}
	}
	return i
}

// unescapeJSON decodes the inside of a JSON string (checked by str) into a
// new buffer.
func unescapeJSON(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			out = append(out, c)
			continue
		}
		i++
		switch s[i] {
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
			if !isHex4(s[i+1:]) {
				// Not an escape a decoder accepts (the model's output, cut or
				// malformed): a replacement character, and never a read past
				// the string.
				out = utf8.AppendRune(out, utf8.RuneError)
				continue
			}
			r := rune(hexVal(s[i+1 : i+5]))
			i += 4
			if utf16.IsSurrogate(r) && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' && isHex4(s[i+3:]) {
				if r2 := rune(hexVal(s[i+3 : i+7])); utf16.DecodeRune(r, r2) != utf8.RuneError {
					r = utf16.DecodeRune(r, r2)
					i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		default: // " \ /
			out = append(out, s[i])
		}
	}
	return out
}

func hexVal(b []byte) int {
	v := 0
	for _, c := range b[:4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= int(c - '0')
		case c >= 'a' && c <= 'f':
			v |= int(c-'a') + 10
		default:
			v |= int(c-'A') + 10
		}
	}
	return v
}

// escapeJSON appends s as the inside of a JSON string, the way Python's
// json.dumps writes it (no HTML escaping), which is what chat templates'
// tojson reproduces.
func escapeJSON(out, s []byte) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				out = append(out, '\\', c)
			case c == '\n':
				out = append(out, '\\', 'n')
			case c == '\r':
				out = append(out, '\\', 'r')
			case c == '\t':
				out = append(out, '\\', 't')
			case c < 0x20 || c == 0x7f:
				out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				out = append(out, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			out = append(out, `\ufffd`...)
		} else {
			out = append(out, s[i:i+n]...)
		}
		i += n
	}
	return out
}
