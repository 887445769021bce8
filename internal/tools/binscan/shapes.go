package binscan

import (
	"bytes"
	"math"
)

// A shape is a known key format: a literal prefix and a function that
// decides whether the bytes after it complete a key. end returns the end
// offset of the key that starts at i (where the prefix was found), or -1.
type shape struct {
	rule   string
	prefix string
	end    func(b []byte, i int) int
}

// shapes is ordered from most to least specific: the first shape to claim a
// range wins, so "sk-ant-" is reported as an Anthropic key, not an OpenAI one.
var shapes = []shape{
	{"anthropic-key", "sk-ant-", tokenTail(len("sk-ant-"), 32, true)},
	{"openai-key", "sk-", openaiEnd},
	{"aws-access-key-id", "AKIA", fixedTail(4, 16, cUpper|cDigit, 0)},
	{"aws-access-key-id", "ASIA", fixedTail(4, 16, cUpper|cDigit, 0)},
	{"github-token", "ghp_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "gho_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "ghu_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "ghs_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "ghr_", fixedTail(4, 36, cUpper|cLower|cDigit, minTailEntropy)},
	{"github-token", "github_pat_", tokenTail(len("github_pat_"), 22, true)},
	{"slack-token", "xoxb-", slackTail},
	{"slack-token", "xoxp-", slackTail},
	{"slack-token", "xoxa-", slackTail},
	{"slack-token", "xoxr-", slackTail},
	{"slack-token", "xoxs-", slackTail},
	{"google-api-key", "AIza", fixedTail(4, 35, cKey, minTailEntropy)},
	{"private-key", "-----BEGIN ", pemEnd},
	{"jwt", "eyJ", jwtEnd},
}

// tokenTail accepts a run of [A-Za-z0-9_-] of at least min bytes after the
// prefix that does not climb through the alphabet. With mixed set, the run
// must hold an upper-case letter, a lower-case letter and a digit, as random
// tokens do and identifiers that happen to follow the prefix ("sk-" in
// "task-runner-...") do not.
func tokenTail(plen, min int, mixed bool) func([]byte, int) int {
	return func(b []byte, i int) int {
		start := i + plen
		end := runEnd(b, start, cKey)
		if end-start < min || ascending(b[start:end]) > (end-start)/4 || !looksRandom(b[start:end]) {
			return -1
		}
		if mixed {
			var seen uint8
			for _, c := range b[start:end] {
				seen |= class[c]
			}
			if seen&(cUpper|cLower|cDigit) != cUpper|cLower|cDigit {
				return -1
			}
		}
		return end
	}
}

// minTailEntropy is what a random alphanumeric tail of 35 or 36 characters
// always reaches (it averages 4.7 bits) and the packed text after a bare
// prefix does not: a Go binary that checks for "ghp_" holds the prefix
// glued to whatever literal comes next.
const minTailEntropy = 4.2

// openaiEnd accepts an OpenAI key: "sk-" and at least 20 random-looking
// characters. A string that starts "sk-ant-" is Anthropic's shape, and one
// too short for it is a prefix glued to the next literal, not an OpenAI key.
func openaiEnd(b []byte, i int) int {
	if bytes.HasPrefix(b[i:], []byte("sk-ant-")) {
		return -1
	}
	return tokenTail(len("sk-"), 20, true)(b, i)
}

// fixedTail accepts exactly n bytes of class c after the prefix that do not
// climb through the alphabet and have at least minEntropy bits of entropy.
// What follows does not matter: the next string literal may start right
// there.
func fixedTail(plen, n int, c uint8, minEntropy float64) func([]byte, int) int {
	return func(b []byte, i int) int {
		start := i + plen
		if start+n > len(b) {
			return -1
		}
		for _, x := range b[start : start+n] {
			if class[x]&c == 0 {
				return -1
			}
		}
		if ascending(b[start:start+n]) > n/4 || minEntropy > 0 && Entropy(b[start:start+n]) < minEntropy {
			return -1
		}
		return start + n
	}
}

// slackTail accepts xox?- followed by a numeric ID of at least 8 digits, a
// dash and at least 8 more of [A-Za-z0-9-], the shape of Slack's bot, user
// and app tokens. Requiring the ID keeps the bare prefixes (which a Go
// binary may pack next to other text, as this package's own does) out.
func slackTail(b []byte, i int) int {
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
func pemEnd(b []byte, i int) int {
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
	for k < len(b) {
		c := b[k]
		switch {
		case class[c]&cB64 != 0 && c != '_' && c != '-', c == '=':
			body++
		case c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == ':' || c == ',':
			// Line breaks, and the headers of legacy encrypted keys.
		default:
			goto done
		}
		k++
	}
done:
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
func jwtEnd(b []byte, i int) int {
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

// scanShapes reports every known key shape in b.
func scanShapes(b []byte, emit func(start, end int, rule string)) {
	for _, s := range shapes {
		p := []byte(s.prefix)
		for off := 0; ; {
			k := bytes.Index(b[off:], p)
			if k < 0 {
				break
			}
			i := off + k
			if end := s.end(b, i); end > 0 {
				emit(i, end, s.rule)
				off = end
			} else {
				off = i + 1
			}
		}
	}
}

// looksRandom reports whether s has about the entropy of as many random
// base64 characters: one in ten thousand random strings of 20 to 120
// characters falls below log2(len)-1.2 (capped at 4.5 bits), while
// repetitive text does.
func looksRandom(s []byte) bool {
	return Entropy(s) >= min(math.Log2(float64(len(s)))-1.2, 4.5)
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
