package binscan

import (
	"bytes"
	"sort"
)

// A shape is a known key format: a literal prefix and a function that
// decides whether the bytes after it complete a key. end returns the end
// offset of the key that starts at i (where the prefix was found), or -1.
type shape struct {
	rule   string
	prefix string
	end    func(c *shapeScan, i int) int
}

// shapeScan is what the shape rules consult besides the bytes: the
// stretches the base64 rule found random, and the binary's vocabulary.
// A prefix is only half a key. Go packs string literals back to back, so a
// binary that merely checks for "sk-ant-" holds that prefix glued to
// whatever literal comes next; the body must look random too.
type shapeScan struct {
	b      []byte
	random [][2]int // sorted, from scanB64
	voc    *vocabulary
}

// randomWithin reports whether a random-looking base64 stretch overlaps
// b[start:end].
func (c *shapeScan) randomWithin(start, end int) bool {
	k := sort.Search(len(c.random), func(k int) bool { return c.random[k][1] > start })
	return k < len(c.random) && c.random[k][0] < end
}

// foreign reports whether s holds no more of the binary's familiar 4-grams
// than a random string of its length would.
func (c *shapeScan) foreign(s []byte) bool {
	if len(s) < 4 {
		return true
	}
	n := 0
	for k := 0; k+4 <= len(s); k++ {
		if c.voc.familiar4(s[k : k+4]) {
			n++
		}
	}
	return n <= binomialQuantile(len(s)-3, c.voc.share4, foreignP)
}

// shapes is ordered from most to least specific: the first shape to claim a
// range wins, so "sk-ant-" is reported as an Anthropic key, not an OpenAI one.
var shapes = []shape{
	{"anthropic-key", "sk-ant-", anthropicEnd},
	{"openai-key", "sk-", openaiEnd},
	{"aws-access-key-id", "AKIA", fixedTail(4, 16, cUpper|cDigit, 0)},
	{"aws-access-key-id", "ASIA", fixedTail(4, 16, cUpper|cDigit, 0)},
	{"github-token", "ghp_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "gho_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "ghu_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "ghs_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "ghr_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "github_pat_", randomTail(len("github_pat_"), 22)},
	{"slack-token", "xoxb-", slackTail},
	{"slack-token", "xoxp-", slackTail},
	{"slack-token", "xoxa-", slackTail},
	{"slack-token", "xoxr-", slackTail},
	{"slack-token", "xoxs-", slackTail},
	{"google-api-key", "AIza", fixedTail(4, 35, cKey, minTailEntropy)},
	{"private-key", "-----BEGIN ", pemEnd},
	{"jwt", "eyJ", jwtEnd},
}

// randomTail accepts a run of at least min bytes of [A-Za-z0-9_-] after the
// prefix in which the base64 rule found a random stretch.
func randomTail(plen, min int) func(*shapeScan, int) int {
	return func(c *shapeScan, i int) int {
		start := i + plen
		end := runEnd(c.b, start, cKey)
		if end-start < min || !c.randomWithin(start, end) {
			return -1
		}
		return end
	}
}

// anthropicEnd accepts "sk-ant-" and a random body of at least 32 bytes
// (real keys are "sk-ant-api03-", 93 random characters and "AA").
var anthropicEnd = randomTail(len("sk-ant-"), 32)

// openaiMarker is base64 for "OpenAI", which OpenAI's key formats embed.
var openaiMarker = []byte("T3BlbkFJ")

// openaiEnd accepts "sk-" and at least 20 bytes that hold OpenAI's marker or
// a random stretch. "sk-ant-" is Anthropic's shape, never OpenAI's.
func openaiEnd(c *shapeScan, i int) int {
	if bytes.HasPrefix(c.b[i:], []byte("sk-ant-")) {
		return -1
	}
	start := i + len("sk-")
	end := runEnd(c.b, start, cKey)
	if end-start < 20 {
		return -1
	}
	if !bytes.Contains(c.b[start:end], openaiMarker) && !c.randomWithin(start, end) {
		return -1
	}
	return end
}

// minTailEntropy is what a random alphanumeric tail of 35 or 36 characters
// always reaches (it averages 4.7 bits) and the packed text after a bare
// prefix does not.
const minTailEntropy = 4.2

// fixedTail accepts exactly n bytes of class c after the prefix that do not
// climb through the alphabet, have at least minEntropy bits of entropy and
// are foreign to the binary. What follows does not matter: the next string
// literal may start right there.
func fixedTail(plen, n int, cl uint8, minEntropy float64) func(*shapeScan, int) int {
	return func(c *shapeScan, i int) int {
		start := i + plen
		if start+n > len(c.b) {
			return -1
		}
		t := c.b[start : start+n]
		for _, x := range t {
			if class[x]&cl == 0 {
				return -1
			}
		}
		if ascending(t) > n/4 || minEntropy > 0 && Entropy(t) < minEntropy || !c.foreign(t) {
			return -1
		}
		return start + n
	}
}

// slackTail accepts xox?- followed by a numeric ID of at least 8 digits, a
// dash and at least 8 more of [A-Za-z0-9-], the shape of Slack's bot, user
// and app tokens. Requiring the ID keeps the bare prefixes (which a Go
// binary may pack next to other text, as this package's own does) out.
func slackTail(c *shapeScan, i int) int {
	b := c.b
	start := i + len("xoxb-")
	id := runEnd(b, start, cDigit)
	if id-start < 8 || id >= len(b) || b[id] != '-' {
		return -1
	}
	end := id + 1
	for end < len(b) && (class[b[end]]&(cUpper|cLower|cDigit) != 0 || b[end] == '-') {
		end++
	}
	if end-(id+1) < 8 {
		return -1
	}
	return end
}

// pemEnd accepts "-----BEGIN <label>PRIVATE KEY-----" followed by a body of
// at least 40 base64 characters; a bare header is a constant the pem and tls
// packages use to recognise keys, not a key. The finding runs to the END line
// when there is one.
func pemEnd(c *shapeScan, i int) int {
	b := c.b
	j := i + len("-----BEGIN ")
	for j < len(b) && j-i < 64 && (class[b[j]]&(cUpper|cDigit) != 0 || b[j] == ' ') {
		j++
	}
	if !bytes.HasSuffix(b[i:j], []byte("PRIVATE KEY")) || !bytes.HasPrefix(b[j:], []byte("-----")) {
		return -1
	}
	j += len("-----")
	body := 0
	k := j
body:
	for ; k < len(b); k++ {
		switch x := b[k]; {
		case class[x]&cB64 != 0 && x != '_' && x != '-', x == '=':
			body++
		case x == '\n' || x == '\r' || x == ' ' || x == '\t' || x == ':' || x == ',':
			// Line breaks, and the headers of legacy encrypted keys.
		default:
			break body
		}
	}
	if body < 40 {
		return -1
	}
	if bytes.HasPrefix(b[k:], []byte("-----END ")) {
		if e := bytes.Index(b[k:min(len(b), k+80)], []byte("KEY-----")); e >= 0 {
			k += e + len("KEY-----")
		}
	}
	return k
}

// jwtEnd accepts header.payload.signature where header and payload are
// base64url JSON objects (so both start "eyJ").
func jwtEnd(c *shapeScan, i int) int {
	b := c.b
	j := runEnd(b, i, cKey)
	if j-i < 10 || j >= len(b) || b[j] != '.' || !bytes.HasPrefix(b[j+1:], []byte("eyJ")) {
		return -1
	}
	k := runEnd(b, j+1, cKey)
	if k-(j+1) < 10 || k >= len(b) || b[k] != '.' {
		return -1
	}
	return runEnd(b, k+1, cKey)
}

// scanShapes reports every known key shape in c.b.
func scanShapes(c *shapeScan, emit func(start, end int, rule string)) {
	for _, sh := range shapes {
		p := []byte(sh.prefix)
		for off := 0; ; {
			k := bytes.Index(c.b[off:], p)
			if k < 0 {
				break
			}
			i := off + k
			if end := sh.end(c, i); end > 0 {
				emit(i, end, sh.rule)
				off = end
			} else {
				off = i + 1
			}
		}
	}
}

// ascending counts the neighbours where the second byte follows the first in
// the alphabet, as in "ABCDEF" or "0123".
func ascending(s []byte) int {
	n := 0
	for k := 0; k+1 < len(s); k++ {
		if s[k+1] == s[k]+1 {
			n++
		}
	}
	return n
}
