package engine

import "unicode/utf8"

// llama.cpp's grammar reads a token's bytes as code points with a loose
// UTF-8 decoder: a lead byte's high bits say the length, and the value is
// taken as is, so an overlong encoding (E0 80 A2 for '"') passes as the
// code point it spells. A model writes bytes, and a random-weight one
// writes any. So that what the client gets is what the grammar accepted,
// the output of a generation with tools goes through normalizer, which
// decodes as llama.cpp does and writes each code point in canonical UTF-8.
// The grammar admits no surrogate and nothing past U+10FFFF, so every code
// point it accepts has one. Bytes llama.cpp itself would refuse (a stray
// continuation byte) pass unchanged: only unconstrained text has them.
type normalizer struct {
	emit    func([]byte) error
	pending []byte
	out     []byte
}

func (n *normalizer) write(p []byte) error {
	n.pending = append(n.pending, p...)
	n.out = n.out[:0]
	i := 0
	for i < len(n.pending) {
		c := n.pending[i]
		size := [16]int{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4}[c>>4]
		if size <= 1 {
			n.out = append(n.out, c)
			i++
			continue
		}
		if i+size > len(n.pending) {
			// Incomplete: wait, unless it is already broken.
			if continuation(n.pending[i+1:]) {
				break
			}
			n.out = append(n.out, c)
			i++
			continue
		}
		if !continuation(n.pending[i+1 : i+size]) {
			n.out = append(n.out, c)
			i++
			continue
		}
		r := rune(c) & (1<<(7-size) - 1)
		for _, b := range n.pending[i+1 : i+size] {
			r = r<<6 | rune(b&0x3f)
		}
		if utf8.ValidRune(r) {
			n.out = utf8.AppendRune(n.out, r)
		} else {
			n.out = append(n.out, n.pending[i:i+size]...)
		}
		i += size
	}
	rest := copy(n.pending, n.pending[i:])
	clear(n.pending[rest:])
	n.pending = n.pending[:rest]
	err := error(nil)
	if len(n.out) > 0 {
		err = n.emit(n.out)
	}
	clear(n.out)
	return err
}

// flush passes on an unfinished sequence as it is.
func (n *normalizer) flush() error {
	if len(n.pending) == 0 {
		return nil
	}
	err := n.emit(n.pending)
	clear(n.pending)
	n.pending = n.pending[:0]
	return err
}

func continuation(b []byte) bool {
	for _, c := range b {
		if c>>6 != 2 {
			return false
		}
	}
	return true
}
