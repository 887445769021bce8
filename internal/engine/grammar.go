package engine

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/hybridgroup/yzma/pkg/llama"
)

// Grammar-constrained decoding: the tools' JSON Schemas become a llama.cpp
// grammar (GBNF) of the model's call format, so a call's arguments are
// valid JSON that validates against its tool's schema, whatever the
// weights say.
//
//   - tool_choice required/any: the grammar applies from the first token:
//     the reply is one call (or up to maxCalls when parallel calls are
//     allowed) to any of the tools.
//   - a named tool: one call, to that tool.
//   - auto: a lazy grammar. The model writes freely until it writes its
//     family's opening of a call (<tool_call>, [TOOL_CALLS], or for the
//     JSON families a reply that starts with {"name" / {"tool_call");
//     from there the grammar holds until the call is complete.
//   - none: no grammar; the tools are shown to the model.
//
// The subset of JSON Schema supported: type (one or a list), properties,
// required, additionalProperties (extra properties are never generated,
// which every value of it allows), items, enum, const, anyOf/oneOf (as
// alternatives), nullable, minItems/maxItems, minLength/maxLength (at most
// maxRepeat), minimum 0 or 1 and exclusiveMinimum 0 on integers (and
// minimum 0 on numbers), and the annotations (description, title,
// default, examples, format, $schema, ...), which constrain nothing.
//
// Keywords that only narrow a value whose type the grammar already holds —
// other numeric bounds (maximum, minimum 1000, multipleOf), pattern,
// uniqueItems, length and item bounds past maxRepeat, property-count
// bounds, and an allOf made of nothing else — are accepted and enforced
// loosely: the grammar keeps the value's type and structure, not the
// narrowing (looseKeywords). Real clients' tools use them (Claude Code's
// Read tool bounds its offset with a maximum, its Monitor tool a timeout
// with a minimum of 1000), and refusing the whole request for them would
// refuse the client. Any other keyword ($ref, not, if/then/else,
// patternProperties, ...) is refused with the tool's position and the
// keyword, never with content, and so is a schema past the bounds below.
//
// Numbers have at most 16 integer digits, 15 fraction digits and a
// two-digit exponent, so every number the grammar admits fits a float64;
// strings admit no surrogate and nothing past U+10FFFF (see normalizer).
//
// A call is complete only if the model ends it within max_tokens: a reply
// cut by the token limit may hold a partial call, as with any backend.

// Tool names are 1 to 128 of A-Z a-z 0-9 _ . : - (as the APIs allow).
//
// Bounds on what tools may cost.
const (
	maxTools       = 128
	maxSchemaBytes = 64 << 10 // one tool's schema
	maxSchemaDepth = 12       // nesting of schemas within a schema
	maxSchemaNodes = 4096     // schemas within all the tools' schemas
	maxEnum        = 256      // values of one enum
	maxRepeat      = 512      // the largest maxLength or maxItems
	maxCalls       = 8        // calls in one reply, parallel calls allowed
)

// SchemaError is a tool definition the engine refuses. It names the tool
// by position and the offending keyword, never by content.
type SchemaError struct {
	Tool   int // 0-based
	Reason string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("engine: tools[%d]: %s", e.Tool, e.Reason)
}

// Is makes a SchemaError an ErrInvalid.
func (e *SchemaError) Is(target error) bool { return target == ErrInvalid }

// ignoredKeywords annotate; they constrain nothing.
var ignoredKeywords = map[string]bool{
	"description": true, "title": true, "default": true, "examples": true, "format": true,
	"$schema": true, "$id": true, "$comment": true, "deprecated": true, "readOnly": true,
	"writeOnly": true, "contentMediaType": true, "contentEncoding": true, "additionalProperties": true,
}

// looseKeywords narrow a value the grammar already types; they are
// accepted and not enforced by decoding (see the package comment above).
var looseKeywords = map[string]bool{
	"maximum": true, "exclusiveMaximum": true, "multipleOf": true, "pattern": true,
	"uniqueItems": true, "minProperties": true, "maxProperties": true, "propertyNames": true,
	"minContains": true, "maxContains": true,
}

// looseOnly reports whether every schema in v (an allOf's list) holds
// only loose keywords and annotations, so the allOf narrows without
// changing type or structure.
func looseOnly(v *jnode) bool {
	if v.kind != '[' {
		return false
	}
	for _, s := range v.arr {
		if s.kind != '{' {
			return false
		}
		for _, f := range s.obj {
			k := string(f.key)
			if !looseKeywords[k] && !ignoredKeywords[k] && k != "minLength" && k != "maxLength" {
				return false
			}
		}
	}
	return true
}

// gbnf builds a grammar.
type gbnf struct {
	rules []byte
	n     int // rules made, for names
	nodes int
	tool  int
	err   *SchemaError
}

func (g *gbnf) fail(reason string) {
	if g.err == nil {
		g.err = &SchemaError{Tool: g.tool, Reason: reason}
	}
}

// rule adds a rule with a fresh name and returns the name.
func (g *gbnf) rule(prefix string, body []byte) string {
	g.n++
	name := prefix + strconv.Itoa(g.n)
	g.rules = append(g.rules, name...)
	g.rules = append(g.rules, " ::= "...)
	g.rules = append(g.rules, body...)
	g.rules = append(g.rules, '\n')
	return name
}

// The primitives every grammar has.
const grammarBase = `ws ::= | " " | "\n" [ \t]{0,20}
char ::= [^"\\\x7F\x00-\x1F\uD800-\uDFFF\U00110000-\U7FFFFFFF] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
string ::= "\"" char* "\""
int ::= "-"? ("0" | [1-9] [0-9]{0,15})
nonneg-int ::= "0" | [1-9] [0-9]{0,15}
pos-int ::= [1-9] [0-9]{0,15}
frac ::= ("." [0-9]{1,15})? ([eE] [-+]? [0-9]{1,2})?
number ::= int frac
nonneg-number ::= nonneg-int frac
boolean ::= "true" | "false"
null ::= "null"
scalar ::= string | number | boolean | null
flat-array ::= "[" ws (scalar ws ("," ws scalar ws)*)? "]"
flat-object ::= "{" ws (string ws ":" ws scalar ws ("," ws string ws ":" ws scalar ws)*)? "}"
any ::= scalar | flat-array | flat-object
`

// literal appends b as a GBNF string literal.
func literal(out, b []byte) []byte {
	out = append(out, '"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\n':
			out = append(out, `\n`...)
		case c == '\r':
			out = append(out, `\r`...)
		case c == '\t':
			out = append(out, `\t`...)
		case c < 0x20 || c == 0x7f:
			out = append(out, fmt.Sprintf(`\x%02X`, c)...)
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}

// jsonStringLit appends the GBNF literal of the canonical JSON string of
// raw (the inside of a JSON string as written in the schema).
func jsonStringLit(out, raw []byte) []byte {
	dec := unescapeJSON(raw)
	enc := append([]byte{'"'}, escapeJSON(nil, dec)...)
	enc = append(enc, '"')
	out = literal(out, enc)
	clear(dec)
	clear(enc)
	return out
}

// schema returns the name of a rule for the values node admits.
func (g *gbnf) schema(n *jnode, depth int) string {
	if g.err != nil {
		return "any"
	}
	g.nodes++
	if depth > maxSchemaDepth {
		g.fail(fmt.Sprintf("the schema nests deeper than %d levels", maxSchemaDepth))
		return "any"
	}
	if g.nodes > maxSchemaNodes {
		g.fail(fmt.Sprintf("the tools' schemas hold more than %d schemas", maxSchemaNodes))
		return "any"
	}
	if n.kind == 't' { // true: anything
		return "any"
	}
	if n.kind != '{' {
		g.fail("a schema is not an object")
		return "any"
	}
	var (
		types                 [][]byte
		props                 *jnode
		required, enum, items *jnode
		alts                  *jnode
		constv                *jnode
		nullable              bool
		minLen, maxLen        = 0, -1
		minItems, maxItems    = 0, -1
		nonneg, positive      bool
	)
	for _, m := range n.obj {
		v := m.val
		switch k := string(m.key); k {
		case "type":
			switch v.kind {
			case '"':
				types = append(types, v.raw)
			case '[':
				for _, t := range v.arr {
					if t.kind != '"' {
						g.fail(`"type" lists a non-string`)
						return "any"
					}
					types = append(types, t.raw)
				}
			default:
				g.fail(`"type" is not a string or a list`)
				return "any"
			}
		case "properties":
			props = v
		case "required":
			required = v
		case "enum":
			enum = v
		case "const":
			constv = v
		case "items":
			items = v
		case "anyOf", "oneOf":
			alts = v
		case "nullable":
			nullable = v.kind == 't'
		case "minLength", "maxLength", "minItems", "maxItems":
			x, ok := v.count()
			if !ok {
				g.fail(fmt.Sprintf("%q must be a non-negative integer", k))
				return "any"
			}
			if x > maxRepeat {
				continue // past what a grammar repeats: enforced loosely
			}
			switch k {
			case "minLength":
				minLen = x
			case "maxLength":
				maxLen = x
			case "minItems":
				minItems = x
			default:
				maxItems = x
			}
		case "minimum":
			switch string(v.raw) {
			case "0":
				nonneg = true
			case "1":
				positive = true
			default:
				// Another lower bound: enforced loosely.
			}
		case "exclusiveMinimum":
			if string(v.raw) == "0" {
				positive = true
			} // another: enforced loosely
		case "allOf":
			if !looseOnly(v) {
				g.fail(`"allOf" other than of narrowing keywords is not supported`)
				return "any"
			}
		default:
			if !ignoredKeywords[k] && !looseKeywords[k] {
				g.fail(fmt.Sprintf("the keyword %q is not supported", k))
				return "any"
			}
		}
	}
	var body []byte
	alt := func(b []byte) {
		if len(body) > 0 {
			body = append(body, " | "...)
		}
		body = append(body, b...)
	}
	switch {
	case constv != nil:
		alt(g.enumLit(constv))
	case enum != nil:
		if enum.kind != '[' || len(enum.arr) == 0 || len(enum.arr) > maxEnum {
			g.fail(fmt.Sprintf(`"enum" must list 1 to %d values`, maxEnum))
			return "any"
		}
		for _, e := range enum.arr {
			alt(g.enumLit(e))
		}
	case alts != nil:
		if alts.kind != '[' || len(alts.arr) == 0 {
			g.fail(`"anyOf"/"oneOf" must list schemas`)
			return "any"
		}
		for _, a := range alts.arr {
			alt([]byte(g.schema(a, depth+1)))
		}
	case len(types) == 0:
		switch {
		case props != nil:
			alt([]byte(g.object(props, required, depth)))
		case items != nil:
			alt([]byte(g.array(items, minItems, maxItems, depth)))
		default:
			alt([]byte("any"))
		}
	}
	if len(body) > 0 {
		types = nil // enum, const and anyOf say it all
	}
	for _, t := range types {
		switch string(t) {
		case "string":
			if minLen > 0 || maxLen >= 0 {
				if maxLen >= 0 && maxLen < minLen {
					g.fail(`"maxLength" is below "minLength"`)
					return "any"
				}
				rep := "{" + strconv.Itoa(minLen) + ","
				if maxLen >= 0 {
					rep += strconv.Itoa(maxLen)
				}
				alt([]byte(`"\"" char` + rep + `} "\""`))
			} else {
				alt([]byte("string"))
			}
		case "integer":
			switch {
			case positive:
				alt([]byte("pos-int"))
			case nonneg:
				alt([]byte("nonneg-int"))
			default:
				alt([]byte("int"))
			}
		case "number":
			switch {
			case nonneg, positive: // a positive number: its zero is admitted (loose)
				alt([]byte("nonneg-number"))
			default:
				alt([]byte("number"))
			}
		case "boolean":
			alt([]byte("boolean"))
		case "null":
			alt([]byte("null"))
		case "object":
			if props == nil {
				alt([]byte("flat-object"))
			} else {
				alt([]byte(g.object(props, required, depth)))
			}
		case "array":
			alt([]byte(g.array(items, minItems, maxItems, depth)))
		default:
			g.fail(`"type" names an unknown type`)
			return "any"
		}
	}
	if nullable {
		alt([]byte("null"))
	}
	if g.err != nil {
		return "any"
	}
	return g.rule("s", body)
}

// enumLit is the GBNF literal of an enum or const value.
func (g *gbnf) enumLit(v *jnode) []byte {
	switch v.kind {
	case '"':
		return jsonStringLit(nil, v.raw)
	case '0', 't', 'f', 'n':
		return literal(nil, v.raw)
	}
	g.fail(`"enum" and "const" values must be strings, numbers, booleans or null`)
	return []byte("null")
}

// object is a rule for an object with props: the required ones in their
// order, then the optional ones in theirs, each present or not. Nothing
// else is generated.
func (g *gbnf) object(props, required *jnode, depth int) string {
	if props.kind != '{' {
		g.fail(`"properties" is not an object`)
		return "any"
	}
	isReq := map[int]bool{}
	if required != nil {
		if required.kind != '[' {
			g.fail(`"required" is not a list`)
			return "any"
		}
		for _, r := range required.arr {
			found := false
			for i, m := range props.obj {
				if r.kind == '"' && bytes.Equal(r.raw, m.key) {
					isReq[i], found = true, true
				}
			}
			if !found {
				g.fail(`"required" names a property not in "properties"`)
				return "any"
			}
		}
	}
	kv := make([]string, len(props.obj))
	for i, m := range props.obj {
		val := g.schema(m.val, depth+1)
		var b []byte
		b = jsonStringLit(b, m.key)
		b = append(b, " ws \":\" ws "...)
		b = append(b, val...)
		b = append(b, " ws"...)
		kv[i] = g.rule("kv", b)
	}
	var body []byte
	body = append(body, `"{" ws `...)
	n := 0
	for i := range props.obj {
		if isReq[i] {
			if n > 0 {
				body = append(body, ` "," ws `...)
			}
			body = append(body, kv[i]...)
			n++
		}
	}
	var opt []int
	for i := range props.obj {
		if !isReq[i] {
			opt = append(opt, i)
		}
	}
	if len(opt) > 0 {
		// tail_j: optional properties j.. in order, at least one present.
		tails := make([]string, len(opt)+1)
		for j := len(opt) - 1; j >= 0; j-- {
			b := []byte(kv[opt[j]])
			if next := tails[j+1]; next != "" {
				b = append(b, ` ("," ws `+next+`)? | `+next...)
			}
			tails[j] = g.rule("opt", b)
		}
		if n > 0 {
			body = append(body, ` ("," ws `+tails[0]+`)?`...)
		} else {
			body = append(body, ` (`+tails[0]+`)?`...)
		}
	}
	body = append(body, ` "}"`...)
	return g.rule("obj", body)
}

func (g *gbnf) array(items *jnode, minItems, maxItems, depth int) string {
	item := "any"
	if items != nil {
		item = g.schema(items, depth+1)
	}
	if maxItems >= 0 && maxItems < minItems {
		g.fail(`"maxItems" is below "minItems"`)
		return "any"
	}
	var body []byte
	body = append(body, `"[" ws `...)
	switch {
	case maxItems == 0:
	case minItems == 0:
		rest := "*"
		if maxItems > 0 {
			rest = "{0," + strconv.Itoa(maxItems-1) + "}"
		}
		body = append(body, `(`+item+` ws ("," ws `+item+` ws)`+rest+`)?`...)
	default:
		rest := "{" + strconv.Itoa(minItems-1) + ","
		if maxItems > 0 {
			rest += strconv.Itoa(maxItems - 1)
		}
		body = append(body, item+` ws ("," ws `+item+` ws)`+rest+`}`...)
	}
	body = append(body, ` "]"`...)
	return g.rule("arr", body)
}

// toolGrammar is a grammar for calls to tools in family f's format. only,
// when >= 0, restricts it to that tool. It returns the grammar and the
// name of its root rule.
func toolGrammar(f Family, tools []Tool, only int, single bool) (string, error) {
	if len(tools) > maxTools {
		return "", paramError(fmt.Sprintf("more than %d tools", maxTools))
	}
	g := &gbnf{}
	var calls []string
	for i, t := range tools {
		g.tool = i
		if !validToolName(t.Name.Bytes()) {
			g.fail("a tool's name must be 1 to 128 of the characters A-Z a-z 0-9 _ . : -")
			return "", g.err
		}
		if t.Schema.Len() > maxSchemaBytes {
			g.fail(fmt.Sprintf("the schema is larger than %d bytes", maxSchemaBytes))
			return "", g.err
		}
		if only >= 0 && i != only {
			continue
		}
		var root *jnode
		if t.Schema.IsEmpty() {
			root = &jnode{kind: '{'}
		} else {
			var err error
			if root, err = parseTree(t.Schema.Bytes(), maxSchemaDepth*3); err != nil {
				g.fail("the schema is not valid JSON, or nests too deep")
				return "", g.err
			}
		}
		// Arguments are an object: a schema that says nothing of its
		// type is taken as one.
		args := g.schema(root, 0)
		if g.err != nil {
			return "", g.err
		}
		if args == "any" {
			args = "flat-object"
		}
		name := t.Name.Bytes()
		var b []byte
		switch f {
		case FamilyMistralArgs:
			b = literal(b, []byte("[TOOL_CALLS]"))
			b = append(b, ' ')
			b = literal(b, name)
			b = append(b, ` "[ARGS]" `...)
			b = append(b, args...)
		default:
			argsKey := "arguments"
			if f == FamilyLlama3 {
				argsKey = "parameters"
			}
			b = append(b, `"{" ws "\"name\"" ws ":" ws `...)
			nameJSON := append([]byte{'"'}, escapeJSON(nil, name)...)
			nameJSON = append(nameJSON, '"')
			b = literal(b, nameJSON)
			clear(nameJSON)
			b = append(b, ` ws "," ws "\"`+argsKey+`\"" ws ":" ws `...)
			b = append(b, args...)
			b = append(b, ` ws "}"`...)
		}
		calls = append(calls, g.rule("call", b))
	}
	if len(calls) == 0 {
		return "", paramError("tool_choice names no tool in tools")
	}
	var call []byte
	for i, c := range calls {
		if i > 0 {
			call = append(call, " | "...)
		}
		call = append(call, c...)
	}
	g.rules = append(g.rules, "call ::= "...)
	g.rules = append(g.rules, call...)
	g.rules = append(g.rules, '\n')
	more := "{0," + strconv.Itoa(maxCalls-1) + "}"
	var root string
	switch f {
	case FamilyHermes:
		root = `"<tool_call>" ws call ws "</tool_call>"`
		if !single {
			root += ` ("\n" "<tool_call>" ws call ws "</tool_call>")` + more
		}
	case FamilyMistral:
		root = `"[TOOL_CALLS]" "[" call`
		if !single {
			root += ` ("," ws call)` + more
		}
		root += ` "]"`
	case FamilyMistralArgs:
		root = `call`
		if !single {
			root += ` (call)` + more
		}
	case FamilyLlama3:
		root = `call`
	default:
		root = `"{" ws "\"tool_call\"" ws ":" ws call ws "}"`
	}
	return "root ::= " + root + "\n" + string(g.rules) + grammarBase, nil //contentvet:ok the grammar holds names and keys of the tools; it goes to llama.cpp's grammar parser only and is never printed
}

// validToolName is what OpenAI's and Anthropic's APIs allow, and what
// every family's format can carry unescaped (Mistral's [TOOL_CALLS]name
// has no quoting).
func validToolName(b []byte) bool {
	if len(b) == 0 || len(b) > 128 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// triggerPattern is the lazy grammar's trigger for family f: a regular
// expression that must match the whole output so far, its first group
// where the grammar starts.
func triggerPattern(f Family) string {
	switch f {
	case FamilyHermes:
		return `[\s\S]*?(<tool_call>)[\s\S]*`
	case FamilyMistral, FamilyMistralArgs:
		return `[\s\S]*?(\[TOOL_CALLS\])[\s\S]*`
	case FamilyLlama3:
		return `\s*(\{\s*"name")[\s\S]*`
	default:
		return `\s*(\{\s*"tool_call")[\s\S]*`
	}
}

// jnode is a parsed JSON value that keeps its strings as the source's
// bytes: '{' object, '[' array, '"' string (raw, escaped), '0' number,
// 't', 'f', 'n' literals.
type jnode struct {
	kind byte
	raw  []byte
	obj  []jmember
	arr  []*jnode
}

type jmember struct {
	key []byte // raw
	val *jnode
}

// count reads a non-negative integer.
func (n *jnode) count() (int, bool) {
	if n.kind != '0' {
		return 0, false
	}
	x, err := strconv.Atoi(string(n.raw))
	return x, err == nil && x >= 0
}

// parseTree parses doc, refusing nesting beyond depth.
func parseTree(doc []byte, depth int) (*jnode, error) {
	p := &jsonParser{src: doc}
	n, err := p.tree(0, depth)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(p.src) {
		return nil, errJSON
	}
	return n, nil
}

func (p *jsonParser) tree(depth, limit int) (*jnode, error) {
	if depth > limit {
		return nil, errJSON
	}
	p.ws()
	if p.pos >= len(p.src) {
		return nil, errJSON
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		p.pos++
		n := &jnode{kind: '{'}
		p.ws()
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			p.pos++
			return n, nil
		}
		for {
			p.ws()
			key, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return nil, errJSON
			}
			p.pos++
			v, err := p.tree(depth+1, limit)
			if err != nil {
				return nil, err
			}
			n.obj = append(n.obj, jmember{key, v})
			p.ws()
			if p.pos >= len(p.src) {
				return nil, errJSON
			}
			if p.src[p.pos] == '}' {
				p.pos++
				return n, nil
			}
			if p.src[p.pos] != ',' {
				return nil, errJSON
			}
			p.pos++
		}
	case c == '[':
		p.pos++
		n := &jnode{kind: '['}
		p.ws()
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			p.pos++
			return n, nil
		}
		for {
			v, err := p.tree(depth+1, limit)
			if err != nil {
				return nil, err
			}
			n.arr = append(n.arr, v)
			p.ws()
			if p.pos >= len(p.src) {
				return nil, errJSON
			}
			if p.src[p.pos] == ']' {
				p.pos++
				return n, nil
			}
			if p.src[p.pos] != ',' {
				return nil, errJSON
			}
			p.pos++
		}
	case c == '"':
		raw, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jnode{kind: '"', raw: raw}, nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(p.src)-p.pos >= len(lit) && string(p.src[p.pos:p.pos+len(lit)]) == lit {
				p.pos += len(lit)
				return &jnode{kind: lit[0], raw: p.src[p.pos-len(lit) : p.pos]}, nil
			}
		}
		return nil, errJSON
	case c == '-' || (c >= '0' && c <= '9'):
		n := scanNumber(p.src[p.pos:])
		if n == 0 {
			return nil, errJSON
		}
		p.pos += n
		return &jnode{kind: '0', raw: p.src[p.pos-n : p.pos]}, nil
	}
	return nil, errJSON
}

// toolGrammarSpec is what a generation does with its tools.
type toolGrammarSpec struct {
	active        bool   // parse the output for calls
	text          string // the grammar; "" for none
	lazy          bool   // wait for the trigger
	trigger       string
	triggerTokens []llama.Token
}

// grammar decides how p's tools constrain the generation.
func (m *Model) grammar(p Params) (toolGrammarSpec, error) {
	c := p.ToolChoice
	if len(p.Tools) == 0 {
		if c.Mode == ToolRequired || c.Mode == ToolNamed {
			return toolGrammarSpec{}, paramError("tool_choice requires a tool call but no tools were given")
		}
		return toolGrammarSpec{}, nil
	}
	if c.Mode == ToolNone {
		return toolGrammarSpec{}, nil
	}
	only := -1
	if c.Mode == ToolNamed {
		for i, t := range p.Tools {
			if bytes.Equal(t.Name.Bytes(), c.Name.Bytes()) {
				only = i
				break
			}
		}
		if only < 0 {
			return toolGrammarSpec{}, paramError("tool_choice names no tool in tools")
		}
	}
	f := m.tmpl.family
	// A named tool is called once; parallel calls are for "any tool".
	text, err := toolGrammar(f, p.Tools, only, c.Single || c.Mode == ToolNamed)
	if err != nil {
		return toolGrammarSpec{}, err
	}
	spec := toolGrammarSpec{active: true, text: text}
	if c.Mode == ToolAuto {
		spec.lazy = true
		spec.trigger = triggerPattern(f)
		for _, t := range []string{"<tool_call>", "[TOOL_CALLS]"} {
			if tok, ok := m.markerToken(t); ok && triggerPatternHas(f, t) {
				spec.triggerTokens = append(spec.triggerTokens, tok)
			}
		}
	}
	return spec, nil
}

func triggerPatternHas(f Family, marker string) bool {
	switch f {
	case FamilyHermes:
		return marker == "<tool_call>"
	case FamilyMistral, FamilyMistralArgs:
		return marker == "[TOOL_CALLS]"
	}
	return false
}
