package binscan

import "math"

// Character classes, as bit flags in class[b].
const (
	cUpper = 1 << iota
	cLower
	cDigit
	cHexLower // 0-9 a-f
	cHexUpper // 0-9 A-F
	cB64      // A-Z a-z 0-9 + / _ - : the union of both base64 alphabets
	cKey      // A-Z a-z 0-9 _ - : the body of most token formats
)

var class [256]uint8

// sym numbers the base64 characters 0..nsym-1 for the 4-gram table; -1 for
// everything else.
var sym [256]int8

const nsym = 66

func init() {
	for i := range sym {
		sym[i] = -1
	}
	n := int8(0)
	set := func(b byte, c uint8) {
		class[b] |= c
		if c&cB64 != 0 && sym[b] < 0 {
			sym[b] = n
			n++
		}
	}
	for b := byte('A'); b <= 'Z'; b++ {
		set(b, cUpper|cB64|cKey)
	}
	for b := byte('a'); b <= 'z'; b++ {
		set(b, cLower|cB64|cKey)
	}
	for b := byte('0'); b <= '9'; b++ {
		set(b, cDigit|cB64|cKey|cHexLower|cHexUpper)
	}
	for b := byte('a'); b <= 'f'; b++ {
		class[b] |= cHexLower
	}
	for b := byte('A'); b <= 'F'; b++ {
		class[b] |= cHexUpper
	}
	set('+', cB64)
	set('/', cB64)
	set('_', cB64|cKey)
	set('-', cB64|cKey)
	if n != nsym {
		panic("binscan: base64 symbol table is wrong")
	}
}

// kind is the coarse class used for counting class changes: upper, lower,
// digit or other.
func kind(b byte) uint8 {
	switch c := class[b]; {
	case c&cUpper != 0:
		return 0
	case c&cLower != 0:
		return 1
	case c&cDigit != 0:
		return 2
	}
	return 3
}

// runEnd returns the end of the run of bytes of class c starting at i.
func runEnd(b []byte, i int, c uint8) int {
	for i < len(b) && class[b[i]]&c != 0 {
		i++
	}
	return i
}

// Entropy returns the Shannon entropy of s in bits per byte.
func Entropy(s []byte) float64 {
	if len(s) == 0 {
		return 0
	}
	var freq [256]int
	for _, b := range s {
		freq[b]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range freq {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
