package engine

import (
	"bytes"
)

// Sink receives a completion: text, and tool calls whose arguments (a
// JSON object) arrive in fragments as they are generated.
type Sink interface {
	Text(p []byte) error
	// ToolCall opens a call of the named tool; ToolArgs fragments that
	// follow belong to it until the next ToolCall or the end.
	ToolCall(name []byte) error
	ToolArgs(p []byte) error
}

// The tool-call parser reads the model's output in its family's format
// (see Family) and passes text and calls on to a Sink as early as it can:
// a call opens once its name is known and its arguments stream byte for
// byte as the model writes them. Bytes that could still begin a call are
// held back; output that turns out not to be a well-formed call goes on
// as text, as llama.cpp's server does. It is content-facing: nothing it
// reads is ever in an error, and it never fails on its input (FuzzToolParser).

type parseState uint8

const (
	stStart   parseState = iota // nothing emitted yet (JSON families decide here)
	stText                      // free text, watching for the trigger
	stPlain                     // free text for good: no call can follow
	stOpen                      // after the trigger, before the first call object
	stHeader                    // inside a call object, before its arguments
	stArgs                      // streaming the arguments value
	stTrailer                   // inside a call object, after its arguments
	stClose                     // after a call object: the family's closing
	stName                      // Mistral [ARGS] form: the name before [ARGS]
)

// maxHeader bounds what is held while a call's header is read: a name
// and keys, not content of any size.
const maxHeader = 4096

type toolParser struct {
	family  Family
	sink    Sink
	state   parseState
	buf     []byte // bytes not yet passed on
	opened  bool   // a call of the current group has been opened
	calls   int    // calls opened
	args    valueScanner
	trigger []byte
	off     int // where the call object starts in buf: what precedes it is held as text until a call opens
	// afterCall drops the whitespace between calls (and after the last),
	// which formats the calls and says nothing.
	afterCall bool
}

func newToolParser(f Family, sink Sink) *toolParser {
	p := &toolParser{family: f, sink: sink, state: stStart}
	switch f {
	case FamilyHermes:
		p.trigger = []byte("<tool_call>")
	case FamilyMistral, FamilyMistralArgs:
		p.trigger = []byte("[TOOL_CALLS]")
	}
	if p.trigger != nil {
		p.state = stText
	}
	return p
}

// Calls is the number of calls opened so far.
func (p *toolParser) Calls() int { return p.calls }

func (p *toolParser) write(b []byte) error {
	p.buf = append(p.buf, b...)
	for {
		progressed, err := p.step()
		if err != nil || !progressed {
			return err
		}
	}
}

// flush ends the output: what was held goes on as text unless it was
// part of a call already opened.
func (p *toolParser) flush() error {
	var err error
	switch p.state {
	case stText:
		if !p.afterCall {
			err = p.text(p.buf)
		} else {
			err = p.text(p.buf[skipWS(p.buf, 0):])
		}
	case stStart, stPlain, stOpen, stName:
		err = p.text(p.buf)
	case stHeader:
		if !p.opened {
			err = p.text(p.buf)
		}
	}
	clear(p.buf)
	p.buf = p.buf[:0]
	p.state = stPlain
	return err
}

func (p *toolParser) text(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return p.sink.Text(b)
}

// consume drops n bytes from the front of buf.
func (p *toolParser) consume(n int) {
	clear(p.buf[:n])
	p.buf = p.buf[:copy(p.buf, p.buf[n:])]
}

// fail gives up on a call. In the JSON families everything held is text
// and no call can follow. Otherwise the trigger that opened it is text (if
// no call opened), and what follows is read again as text: it may hold
// the next trigger.
func (p *toolParser) fail() error {
	var err error
	if p.trigger == nil {
		err = p.text(p.buf)
		p.consume(len(p.buf))
		p.state = stPlain
	} else {
		if !p.opened && bytes.HasPrefix(p.buf, p.trigger) {
			err = p.text(p.trigger)
			p.consume(len(p.trigger))
		}
		p.state = stText
	}
	p.opened, p.off = false, 0
	return err
}

// step makes what progress buf allows; false when it needs more bytes.
func (p *toolParser) step() (bool, error) {
	switch p.state {
	case stPlain:
		err := p.text(p.buf)
		p.consume(len(p.buf))
		return false, err

	case stStart: // JSON families: a call is the whole reply
		i := skipWS(p.buf, 0)
		if i == len(p.buf) {
			return false, nil
		}
		rest := p.buf[i:]
		if p.family == FamilyLlama3 {
			const tag = "<|python_tag|>"
			if len(rest) < len(tag) && bytes.HasPrefix([]byte(tag), rest) {
				return false, nil
			}
			if bytes.HasPrefix(rest, []byte(tag)) {
				p.off = i + len(tag)
				p.state = stHeader
				return true, nil
			}
		}
		if rest[0] != '{' {
			p.state = stPlain
			return true, nil
		}
		p.state, p.off = stOpen, 0
		if p.family == FamilyLlama3 {
			p.state = stHeader
		}
		return true, nil

	case stText:
		if p.afterCall {
			i := skipWS(p.buf, 0)
			p.consume(i)
			if len(p.buf) == 0 {
				return false, nil
			}
			p.afterCall = false
		}
		if i := bytes.Index(p.buf, p.trigger); i >= 0 {
			// The trigger stays at the front of buf: if no call follows
			// after all, it goes on as text.
			err := p.text(p.buf[:i])
			p.consume(i)
			p.state = stOpen
			if p.family == FamilyMistralArgs {
				p.state = stName
			}
			return true, err
		}
		n := len(p.buf) - heldPrefix(p.buf, p.trigger)
		err := p.text(p.buf[:n])
		p.consume(n)
		return false, err

	case stOpen:
		// The bytes of the trigger (if any) are still at the front of buf.
		start := 0
		if p.trigger != nil {
			start = len(p.trigger)
		}
		var open []string
		switch p.family {
		case FamilyMistral:
			open = []string{"["}
		case FamilyGeneric:
			open = []string{"{", `"tool_call"`, ":"}
		}
		i, ok, more := expectSeq(p.buf, start, open)
		if more {
			return false, p.tooLong()
		}
		if !ok {
			return true, p.fail()
		}
		p.off = i
		p.state = stHeader
		return true, nil

	case stName:
		// [TOOL_CALLS] is at the front; the name runs to [ARGS].
		const args = "[ARGS]"
		i := bytes.Index(p.buf[len(p.trigger):], []byte(args))
		if i < 0 {
			if len(p.buf) > maxHeader {
				return true, p.fail()
			}
			return false, nil
		}
		name := bytes.TrimSpace(p.buf[len(p.trigger) : len(p.trigger)+i])
		if len(name) == 0 || bytes.ContainsAny(name, "{}[]\"\n") {
			return true, p.fail()
		}
		if err := p.open(name, false); err != nil {
			return false, err
		}
		p.consume(len(p.trigger) + i + len(args))
		p.args = valueScanner{}
		p.state = stArgs
		return true, nil

	case stHeader:
		return p.header()

	case stArgs:
		if !p.args.started {
			// Whitespace before the value is not part of the arguments.
			if i := skipWS(p.buf, 0); i > 0 {
				p.consume(i)
			}
			if len(p.buf) == 0 {
				return false, nil
			}
			if p.buf[0] == '"' {
				p.args.quoted = true
			}
		}
		if p.args.quoted {
			// Arguments given as a JSON string: decoded once complete.
			var s valueScanner
			n, done := s.feed(p.buf)
			if !done {
				return false, nil
			}
			dec := unescapeJSON(p.buf[1 : n-1])
			err := p.sink.ToolArgs(dec)
			clear(dec)
			p.consume(n)
			p.afterArgs()
			return true, err
		}
		n, done := p.args.feed(p.buf)
		var err error
		if n > 0 {
			err = p.sink.ToolArgs(p.buf[:n])
			p.consume(n)
		}
		if err != nil || !done {
			return false, err
		}
		p.afterArgs()
		return true, nil

	case stTrailer:
		// Other keys after the arguments ("id"...), then '}'.
		i := 0
		for {
			i = skipWS(p.buf, i)
			if i == len(p.buf) {
				return false, p.tooLong()
			}
			switch p.buf[i] {
			case '}':
				p.consume(i + 1)
				p.state = stClose
				return true, nil
			case ',':
				j, _, _, ok, more := skipMember(p.buf, i+1)
				if more {
					return false, p.tooLong()
				}
				if !ok {
					return true, p.fail()
				}
				i = j
			default:
				return true, p.fail()
			}
		}

	case stClose:
		var seq []string
		switch p.family {
		case FamilyHermes:
			seq = []string{"</tool_call>"}
		case FamilyGeneric:
			seq = []string{"}"}
		case FamilyMistral:
			i := skipWS(p.buf, 0)
			if i == len(p.buf) {
				return false, nil
			}
			switch p.buf[i] {
			case ',':
				p.consume(i + 1)
				p.state, p.off = stHeader, 0
				p.opened = false
				return true, nil
			case ']':
				p.consume(i + 1)
				p.opened = false
				p.state, p.afterCall = stText, true
				return true, nil
			}
			return true, p.fail()
		}
		i, ok, more := expectSeq(p.buf, 0, seq)
		if more {
			return false, nil
		}
		if !ok {
			return true, p.fail()
		}
		p.consume(i)
		p.opened = false
		p.state, p.afterCall = stText, true
		if p.trigger == nil {
			p.state = stPlain
		}
		return true, nil
	}
	return false, nil
}

func (p *toolParser) afterArgs() {
	if p.family == FamilyMistralArgs {
		p.opened = false
		p.state, p.afterCall = stText, true
		return
	}
	p.state = stTrailer
}

// tooLong gives up on a header that has grown past any name's size.
func (p *toolParser) tooLong() error {
	if len(p.buf) > maxHeader && !p.opened {
		return p.fail()
	}
	return nil
}

// open opens a call; raw is the name as the model wrote it (JSON-escaped
// when it came from a JSON string).
func (p *toolParser) open(raw []byte, escaped bool) error {
	p.opened = true
	p.calls++
	if !escaped {
		return p.sink.ToolCall(raw)
	}
	name := unescapeJSON(raw)
	err := p.sink.ToolCall(name)
	clear(name)
	return err
}

// header reads a call object up to its arguments: {"name": ..., then
// "arguments" (or "parameters"), whose value then streams. Keys before
// them are skipped; arguments that come before the name are held until
// the name is known.
func (p *toolParser) header() (bool, error) {
	i := skipWS(p.buf, p.off)
	if i == len(p.buf) {
		return false, nil
	}
	if p.buf[i] != '{' {
		return true, p.fail()
	}
	i++
	var name, argsRaw []byte
	quoted := false
	first := true
	for {
		i = skipWS(p.buf, i)
		if i == len(p.buf) {
			return false, p.tooLong()
		}
		if p.buf[i] == '}' && name != nil {
			// The object ended: a call with no arguments, or arguments
			// that came first.
			if err := p.open(name, true); err != nil {
				return false, err
			}
			if argsRaw == nil {
				argsRaw = []byte("{}")
			}
			if quoted {
				argsRaw = unescapeJSON(argsRaw[1 : len(argsRaw)-1])
				defer clear(argsRaw)
			}
			err := p.sink.ToolArgs(argsRaw)
			p.consume(i + 1)
			p.state = stClose
			return true, err
		}
		if !first {
			if p.buf[i] != ',' {
				return true, p.fail()
			}
			i++
		}
		first = false
		i = skipWS(p.buf, i)
		if i == len(p.buf) {
			return false, p.tooLong()
		}
		key, kEnd, ok, more := readString(p.buf, i)
		if more {
			return false, p.tooLong()
		}
		if !ok {
			return true, p.fail()
		}
		j := skipWS(p.buf, kEnd)
		if j == len(p.buf) {
			return false, p.tooLong()
		}
		if p.buf[j] != ':' {
			return true, p.fail()
		}
		j = skipWS(p.buf, j+1)
		if j == len(p.buf) {
			return false, p.tooLong()
		}
		switch string(key) {
		case "name":
			v, vEnd, ok, more := readString(p.buf, j)
			if more {
				return false, p.tooLong()
			}
			if !ok || len(v) == 0 {
				return true, p.fail()
			}
			name, i = v, vEnd
			continue
		case "arguments", "parameters":
			if name != nil && argsRaw == nil {
				if err := p.open(name, true); err != nil {
					return false, err
				}
				p.consume(j)
				p.args = valueScanner{}
				p.state = stArgs
				return true, nil
			}
			var s valueScanner
			n, done := s.feed(p.buf[j:])
			if !done {
				return false, p.tooLong()
			}
			argsRaw, i = p.buf[j:j+n], j+n
			quoted = s.quoted
			continue
		default:
			var s valueScanner
			n, done := s.feed(p.buf[j:])
			if !done {
				return false, p.tooLong()
			}
			i = j + n
		}
	}
}

// valueScanner finds the end of one JSON value fed to it in pieces. It
// checks structure only as far as finding the end needs.
type valueScanner struct {
	started bool
	quoted  bool // the value is a string
	scalar  bool // a number or literal
	inStr   bool
	esc     bool
	depth   int
	done    bool
}

// feed scans b (the bytes after those already fed) and returns how many
// belong to the value, and whether it is complete. Leading whitespace
// counts as part of it.
func (s *valueScanner) feed(b []byte) (int, bool) {
	for i, c := range b {
		if s.done {
			return i, true
		}
		if !s.started {
			switch c {
			case ' ', '\t', '\n', '\r':
				continue
			case '{', '[':
				s.depth = 1
			case '"':
				s.quoted, s.inStr = true, true
			default:
				s.scalar = true
			}
			s.started = true
			continue
		}
		if s.scalar {
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				s.done = true
				return i, true
			}
			continue
		}
		if s.inStr {
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '"':
				s.inStr = false
				if s.quoted {
					s.done = true
					return i + 1, true
				}
			}
			continue
		}
		switch c {
		case '"':
			s.inStr = true
		case '{', '[':
			s.depth++
		case '}', ']':
			s.depth--
			if s.depth == 0 {
				s.done = true
				return i + 1, true
			}
		}
	}
	return len(b), s.done
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// readString reads the JSON string at b[i] and returns its raw inside and
// the index after it; more when b ends inside it.
func readString(b []byte, i int) (raw []byte, end int, ok, more bool) {
	if b[i] != '"' {
		return nil, 0, false, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return b[i+1 : j], j + 1, true, false
		case '\n':
			return nil, 0, false, false
		}
		if j-i > maxHeader {
			return nil, 0, false, false
		}
	}
	return nil, 0, false, true
}

// skipMember skips `"key": value` from b[i] (after a comma).
func skipMember(b []byte, i int) (end int, key []byte, value []byte, ok, more bool) {
	i = skipWS(b, i)
	if i == len(b) {
		return 0, nil, nil, false, true
	}
	k, kEnd, ok, more := readString(b, i)
	if !ok {
		return 0, nil, nil, false, more
	}
	j := skipWS(b, kEnd)
	if j == len(b) {
		return 0, nil, nil, false, true
	}
	if b[j] != ':' {
		return 0, nil, nil, false, false
	}
	var s valueScanner
	n, done := s.feed(b[j+1:])
	if !done {
		return 0, nil, nil, false, true
	}
	return j + 1 + n, k, b[j+1 : j+1+n], true, false
}

// expectSeq matches the literal tokens seq from b[i], whitespace allowed
// before each; more when b ends before it can tell.
func expectSeq(b []byte, i int, seq []string) (end int, ok, more bool) {
	for _, lit := range seq {
		i = skipWS(b, i)
		rest := b[i:]
		if len(rest) < len(lit) {
			if bytes.HasPrefix([]byte(lit), rest) {
				return 0, false, true
			}
			return 0, false, false
		}
		if !bytes.HasPrefix(rest, []byte(lit)) {
			return 0, false, false
		}
		i += len(lit)
	}
	return i, true, false
}

// heldPrefix is the length of the longest suffix of b that is a proper
// prefix of t.
func heldPrefix(b, t []byte) int {
	for k := min(len(t)-1, len(b)); k > 0; k-- {
		if bytes.HasSuffix(b, t[:k]) {
			return k
		}
	}
	return 0
}
