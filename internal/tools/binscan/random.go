package binscan

import (
	"bytes"
	"math"
)

// Hex rule: windows over a run of one-case hex digits. Go binaries hold long
// digit runs that are not keys: decimal tables (strconv's powers of five)
// glued to the "e" or "d" of the next word, register tables, compiler
// hashes. A window of random hex has letters and digits spread through it.
const (
	hexWindow     = 40  // 20 random bytes and up
	minHexLetters = 6   // of 40; random hex averages 15
	maxHexLetters = 28  // of 40
	minHexKinds   = 4   // distinct letters; random hex uses 5 or 6
	minHexDigits  = 5   // distinct digits
	maxHexAsc     = 12  // "0123456789abcdef" tables climb; random hex ≈ 2.4
	minHexEntropy = 3.1 // bits per digit; random windows stay above 3.2
)

// shapeHash is how the compiler names a generic shape whose type is too
// long: "go.shape." and the hex of a 32-byte hash of the type.
var shapeHash = []byte("go.shape.")

// scanHex reports the random-looking stretches of every run of lower-case
// or upper-case hex digits.
func scanHex(b []byte, emit func(start, end int, rule string)) {
	for _, c := range [...]uint8{cHexLower, cHexUpper} {
		for i := 0; i < len(b); {
			if class[b[i]]&c == 0 {
				i++
				continue
			}
			j := runEnd(b, i, c)
			if j-i >= hexWindow && !isShapeHash(b, i, j) {
				hexRun(b, i, j, emit)
			}
			i = j
		}
	}
}

func isShapeHash(b []byte, i, j int) bool {
	return j-i == 64 && i >= len(shapeHash) && bytes.Equal(b[i-len(shapeHash):i], shapeHash)
}

// hexRun reports each maximal stretch of overlapping random-looking windows
// in b[i:j]. Hex runs of this length are rare, so each window is counted
// afresh.
func hexRun(b []byte, i, j int, emit func(start, end int, rule string)) {
	spanStart, spanEnd := -1, -1
	for p := i; p+hexWindow <= j; p++ {
		if randomHexWindow(b[p : p+hexWindow]) {
			if spanStart < 0 {
				spanStart = p
			}
			spanEnd = p + hexWindow
		} else if spanStart >= 0 && p >= spanEnd {
			emit(spanStart, spanEnd, "hex-entropy")
			spanStart = -1
		}
	}
	if spanStart >= 0 {
		emit(spanStart, spanEnd, "hex-entropy")
	}
}

func randomHexWindow(w []byte) bool {
	var seen [256]bool
	letters, kinds, digits, asc := 0, 0, 0, 0
	for k, c := range w {
		if !seen[c] {
			seen[c] = true
			if class[c]&cDigit != 0 {
				digits++
			} else {
				kinds++
			}
		}
		if class[c]&cDigit == 0 {
			letters++
		}
		if k+1 < len(w) && w[k+1] == c+1 {
			asc++
		}
	}
	return letters >= minHexLetters && letters <= maxHexLetters && kinds >= minHexKinds &&
		digits >= minHexDigits && asc <= maxHexAsc && Entropy(w) >= minHexEntropy
}

// Base64 rule: windows over a run of base64 or base64url characters. See the
// package doc for why each test is there. The numbers were tuned on random
// 32-byte keys against real binaries (the relay's dependencies and the Go
// toolchain): see TestRandomKeysFound and TestBigProgramIsClean.
const (
	window        = 32
	minB64Entropy = 4.0 // bits per character; random windows sit near 4.6
	minCase       = 2   // upper-case and lower-case letters, each
	minOther      = 1   // digits or + / _ -
	maxAscending  = 5   // "abcdefgh…" alphabets and tables climb
	maxDistinct   = 31  // 32 different characters in 32 is a table ("tvrRuUeE…"), not a draw
	maxLag2       = 4   // w[k] == w[k+2]: packed 2-byte literals ("A4A3V1V6V2…")
	maxCaseSwap   = 3   // w[k+1] is w[k] in the other case: flag tables ("rRuUeE…")
	minChanges    = 12  // changes of class between neighbours; random ≈ 20
	familiarCount = 3   // an n-gram seen this often is the binary's vocabulary
	// foreignP is the chance that a random window has more familiar n-grams
	// than the scan tolerates: the tolerance is the binomial quantile for
	// the share of familiar n-grams in the binary.
	foreignP = 1e-5
)

const (
	gram3Size = nsym * nsym * nsym
	gram4Size = gram3Size * nsym
)

// vocabulary counts the 3-grams and 4-grams of base64 characters in b
// (saturating at 255) and says how many familiar ones a random window may
// hold.
type vocabulary struct {
	g3, g4     []uint8
	share4     float64 // the chance that a random 4-gram is familiar
	max3, max4 int
}

// familiar4 reports whether the 4 base64 characters in g are a familiar
// 4-gram.
func (v *vocabulary) familiar4(g []byte) bool {
	x := 0
	for _, c := range g[:4] {
		s := sym[c]
		if s < 0 {
			return false
		}
		x = x*nsym + int(s)
	}
	return v.g4[x] >= familiarCount
}

func newVocabulary(b []byte) *vocabulary {
	v := &vocabulary{g3: make([]uint8, gram3Size), g4: make([]uint8, gram4Size)}
	g, n := 0, 0
	for _, c := range b {
		s := sym[c]
		if s < 0 {
			n = 0
			continue
		}
		g = (g%gram3Size)*nsym + int(s)
		n++
		if n >= 3 && v.g3[g%gram3Size] < 255 {
			v.g3[g%gram3Size]++
		}
		if n >= 4 && v.g4[g] < 255 {
			v.g4[g]++
		}
	}
	v.max3 = binomialQuantile(window-2, familiarShare(v.g3), foreignP)
	v.share4 = familiarShare(v.g4)
	v.max4 = binomialQuantile(window-3, v.share4, foreignP)
	return v
}

// familiarShare is the share of all possible n-grams that are familiar: the
// chance that a random n-gram is.
func familiarShare(t []uint8) float64 {
	n := 0
	for _, c := range t {
		if c >= familiarCount {
			n++
		}
	}
	return float64(n) / float64(len(t))
}

// binomialQuantile returns the smallest q with P(X > q) <= p for X ~ B(m, rho).
func binomialQuantile(m int, rho, p float64) int {
	if rho <= 0 {
		return 0
	}
	if rho >= 1 {
		return m
	}
	pmf := math.Pow(1-rho, float64(m))
	cdf := 0.0
	for q := 0; q < m; q++ {
		cdf += pmf
		if 1-cdf <= p {
			return q
		}
		pmf *= float64(m-q) / float64(q+1) * rho / (1 - rho)
	}
	return m
}

// xlog2x[c] is c·log2(c), for the entropy of a window kept incrementally.
var xlog2x [window + 1]float64

func init() {
	for c := 2; c <= window; c++ {
		xlog2x[c] = float64(c) * math.Log2(float64(c))
	}
}

// b64Scanner holds the vocabulary and reusable prefix-sum buffers.
type b64Scanner struct {
	voc                                               *vocabulary
	upper, lower, other, chg, asc, swap, lag2, f3, f4 []int
}

// scanB64 returns the random-looking stretches of every base64 run in b, in
// order.
func scanB64(b []byte, voc *vocabulary) [][2]int {
	var spans [][2]int
	emit := func(start, end int, _ string) { spans = append(spans, [2]int{start, end}) }
	s := &b64Scanner{voc: voc}
	for i := 0; i < len(b); {
		if class[b[i]]&cB64 == 0 {
			i++
			continue
		}
		j := runEnd(b, i, cB64)
		if j-i >= window {
			s.run(b, i, j, emit)
		}
		i = j
	}
	return spans
}

// run slides the window over b[i:j] and reports each maximal stretch of
// overlapping windows that all look random.
func (s *b64Scanner) run(b []byte, i, j int, emit func(start, end int, rule string)) {
	r := b[i:j]
	n := len(r)
	grow := func(p *[]int) []int {
		if cap(*p) < n+1 {
			*p = make([]int, n+1)
		}
		*p = (*p)[:n+1]
		return *p
	}
	// Prefix sums, so that each window reads each count as one difference.
	// upper[x], lower[x], other[x]: characters before x. chg[x], asc[x]:
	// neighbour pairs (k, k+1) with k < x, and so does swap[x]; lag2[x]
	// counts the pairs (k, k+2).
	// f3[x], f4[x]: familiar grams ending before x, so window [p, q) holds
	// f3[q]-f3[p+2] and f4[q]-f4[p+3].
	upper, lower, other := grow(&s.upper), grow(&s.lower), grow(&s.other)
	chg, asc, swap, lag2 := grow(&s.chg), grow(&s.asc), grow(&s.swap), grow(&s.lag2)
	f3, f4 := grow(&s.f3), grow(&s.f4)
	g := 0
	for k := 0; k < n; k++ {
		c := class[r[k]]
		upper[k+1] = upper[k] + b2i(c&cUpper != 0)
		lower[k+1] = lower[k] + b2i(c&cLower != 0)
		other[k+1] = other[k] + b2i(c&(cUpper|cLower) == 0)
		chg[k+1], asc[k+1], swap[k+1], lag2[k+1] = chg[k], asc[k], swap[k], lag2[k]
		if k+1 < n {
			chg[k+1] += b2i(kind(r[k]) != kind(r[k+1]))
			asc[k+1] += b2i(r[k+1] == r[k]+1)
			swap[k+1] += b2i(r[k+1] == r[k]^0x20 && c&(cUpper|cLower) != 0)
		}
		if k+2 < n {
			lag2[k+1] += b2i(r[k+2] == r[k])
		}
		g = (g%gram3Size)*nsym + int(sym[r[k]])
		f3[k+1] = f3[k] + b2i(k >= 2 && s.voc.g3[g%gram3Size] >= familiarCount)
		f4[k+1] = f4[k] + b2i(k >= 3 && s.voc.g4[g] >= familiarCount)
	}
	var freq [nsym]int
	sum, distinct := 0.0, 0
	for _, c := range r[:window] {
		freq[sym[c]]++
	}
	for _, c := range freq {
		sum += xlog2x[c]
		distinct += b2i(c > 0)
	}
	spanStart, spanEnd := -1, -1
	flush := func() {
		if spanStart < 0 {
			return
		}
		end := i + spanEnd
		if spanEnd == n {
			// Keep base64 padding with the key.
			for pad := 0; pad < 2 && end < len(b) && b[end] == '='; pad++ {
				end++
			}
		}
		emit(i+spanStart, end, "base64-entropy")
		spanStart = -1
	}
	for p := 0; ; p++ {
		q := p + window
		h := math.Log2(window) - sum/window
		if h >= minB64Entropy &&
			upper[q]-upper[p] >= minCase && lower[q]-lower[p] >= minCase && other[q]-other[p] >= minOther &&
			asc[q-1]-asc[p] <= maxAscending && distinct <= maxDistinct &&
			lag2[q-2]-lag2[p] <= maxLag2 && swap[q-1]-swap[p] <= maxCaseSwap &&
			chg[q-1]-chg[p] >= minChanges &&
			f3[q]-f3[p+2] <= s.voc.max3 && f4[q]-f4[p+3] <= s.voc.max4 {
			if spanStart < 0 {
				spanStart = p
			}
			spanEnd = q
		} else if spanStart >= 0 && p >= spanEnd {
			flush()
		}
		if q == n {
			break
		}
		// Slide: drop r[p], add r[q]. When they are the same character the
		// two updates cancel out.
		out, in := sym[r[p]], sym[r[q]]
		sum -= xlog2x[freq[out]] + xlog2x[freq[in]]
		distinct -= b2i(freq[out] > 0) + b2i(freq[in] > 0)
		freq[out]--
		freq[in]++
		sum += xlog2x[freq[out]] + xlog2x[freq[in]]
		distinct += b2i(freq[out] > 0) + b2i(freq[in] > 0)
	}
	flush()
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}
