package canary

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// canary is one unique random string and where it was sent.
type canary struct {
	Value string
	Path  string // the request path through the relay (the subtest that sent it)
	Place string // where in the request it travelled
}

// registry hands out canaries and remembers every one, so the scan can say
// which path and place sent a hit. It is safe for concurrent use.
type registry struct {
	mu   sync.Mutex
	list []canary
}

func randomHex(bytes int) string {
	b := make([]byte, bytes)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// tokenPrefix starts every canary; it is long enough that it never occurs
// in the relay's output by accident.
const tokenPrefix = "CANARY-"

// Token returns a canary made only of letters, digits and '-': valid in an
// HTTP method, a header value, a URL path segment and a model or tool name.
func (r *registry) Token(path, place string) string {
	return r.add(tokenPrefix+randomHex(8), path, place)
}

// Text returns a canary for free-text places. Its middle holds '<', '>' and
// a non-ASCII letter, which JSON, Go quoting and URL escaping all rewrite,
// so that an escaped copy is something the scan has to look for, not the
// same bytes again.
func (r *registry) Text(path, place string) string {
	return r.add(tokenPrefix+randomHex(4)+"<é>"+randomHex(4), path, place)
}

func (r *registry) add(v, path, place string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, canary{Value: v, Path: path, Place: place})
	return v
}

// All returns every canary handed out so far.
func (r *registry) All() []canary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]canary(nil), r.list...)
}

// needle is one byte string to search for: a canary in one encoding.
type needle struct {
	form   string
	bytes  []byte
	canary int // index into the canaries scanned
}

// form is a canary in one encoding.
type form struct {
	name, value string
}

// forms returns every encoding of v the scan looks for, the verbatim one
// first. A leak need not be verbatim: a log handler JSON-escapes, a debug
// dump may hex- or base64-encode, a logged URL is percent-encoded.
func forms(v string) []form {
	f := []form{
		{"as-is", v},
		{"json", jsonEscape(v, true)}, // <, > and & as \u003c…
		{"json-noescape", jsonEscape(v, false)},
		{"go-quoted-ascii", unquote(strconv.QuoteToASCII(v))},
		{"url-query", url.QueryEscape(v)},
		{"url-path", url.PathEscape(v)},
		{"hex", hex.EncodeToString([]byte(v))},
		{"HEX", strings.ToUpper(hex.EncodeToString([]byte(v)))},
	}
	// base64 depends on where the canary starts relative to 3-byte groups:
	// search for the characters that encode only canary bits, at each of
	// the three alignments, in both alphabets.
	for _, e := range []struct {
		name string
		enc  *base64.Encoding
	}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
		for k := 0; k < 3; k++ {
			f = append(f, form{fmt.Sprintf("%s@%d", e.name, k), base64Core(e.enc, []byte(v), k)})
		}
	}
	return f
}

// jsonEscape is v as it appears inside a JSON string.
func jsonEscape(v string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(v); err != nil {
		panic(err) // a string always encodes
	}
	return unquote(strings.TrimSuffix(b.String(), "\n"))
}

// base64Core returns the base64 characters of v that do not depend on the
// bytes around it, when v starts k bytes (mod 3) into the encoded data.
func base64Core(enc *base64.Encoding, v []byte, k int) string {
	s := enc.EncodeToString(append(make([]byte, k), v...))
	first := (8*k + 5) / 6       // first character made of canary bits only
	last := (8*k + 8*len(v)) / 6 // one past the last such character
	return s[first:last]
}

func unquote(q string) string { return q[1 : len(q)-1] }

// needlesFor lists the needles of each canary: every form of the whole
// value and, for a Text canary, of its token-only head too, so a copy
// truncated or mangled after the head is still found.
func needlesFor(cs []canary) []needle {
	var out []needle
	for i, c := range cs {
		seen := map[string]bool{}
		add := func(prefix, v string) {
			for _, f := range forms(v) {
				if !seen[f.value] {
					seen[f.value] = true
					out = append(out, needle{form: prefix + f.name, bytes: []byte(f.value), canary: i})
				}
			}
		}
		add("", c.Value)
		if head := tokenHead(c.Value); head != c.Value {
			add("head/", head)
		}
	}
	return out
}

// tokenHead is the longest prefix of v made of token characters.
func tokenHead(v string) string {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return v[:i]
		}
	}
	return v
}

// source is one thing the relay wrote: an output stream, a file, a body.
type source struct {
	Name string
	Data []byte
}

// hit is a canary found in a source.
type hit struct {
	Source string
	Offset int
	Form   string
	Canary canary
	Around string // the bytes around the hit, for the failure message
}

func (h hit) String() string {
	return fmt.Sprintf("%s @ byte %d: canary %q (%s) sent by path %q in place %q; around it: %q",
		h.Source, h.Offset, h.Canary.Value, h.Form, h.Canary.Path, h.Canary.Place, h.Around)
}

// keyLen is the length of the prefix needles are indexed by; every needle
// is longer.
const keyLen = 8

// scan finds every canary in every source, reporting each place once (by
// the first of its needles that matches there: the whole value before its
// head, verbatim before encoded). Needles are indexed by their first keyLen
// bytes, so each source is read once however many canaries there are.
func scan(sources []source, cs []canary) []hit {
	byKey := map[string][]needle{}
	for _, n := range needlesFor(cs) {
		if len(n.bytes) < keyLen {
			panic("canary: needle shorter than the index key")
		}
		k := string(n.bytes[:keyLen])
		byKey[k] = append(byKey[k], n)
	}
	var hits []hit
	type place struct{ source, offset, canary int }
	found := map[place]bool{}
	for si, s := range sources {
		d := s.Data
		for i := 0; i+keyLen <= len(d); i++ {
			ns, ok := byKey[string(d[i:i+keyLen])]
			if !ok {
				continue
			}
			for _, n := range ns {
				if p := (place{si, i, n.canary}); !found[p] && bytes.HasPrefix(d[i:], n.bytes) {
					found[p] = true
					lo, hi := max(0, i-80), min(len(d), i+len(n.bytes)+80)
					hits = append(hits, hit{Source: s.Name, Offset: i, Form: n.form, Canary: cs[n.canary], Around: string(d[lo:hi])})
				}
			}
		}
	}
	sort.SliceStable(hits, func(a, b int) bool {
		if hits[a].Source != hits[b].Source {
			return hits[a].Source < hits[b].Source
		}
		return hits[a].Offset < hits[b].Offset
	})
	return hits
}

// assertNoCanary fails t with one line per hit.
func assertNoCanary(t *testing.T, sources []source, cs []canary) {
	t.Helper()
	if len(cs) == 0 {
		t.Fatal("no canary was sent: the scan would prove nothing")
	}
	total := 0
	for _, s := range sources {
		total += len(s.Data)
	}
	hits := scan(sources, cs)
	const show = 50
	for i, h := range hits {
		if i == show {
			t.Errorf("… and %d more hits", len(hits)-show)
			break
		}
		t.Errorf("LEAK: %s", h)
	}
	t.Logf("scanned %d bytes in %d sources for %d canaries: %d hits", total, len(sources), len(cs), len(hits))
}

// TestScanFindsEveryForm checks the scanner itself: a canary planted in
// each encoding, at each alignment, inside other bytes, is found, and
// output without it is clean.
func TestScanFindsEveryForm(t *testing.T) {
	var reg registry
	tok := reg.Token("self-test", "token")
	txt := reg.Text("self-test", "text")
	cs := reg.All()
	for _, v := range []string{tok, txt} {
		for _, f := range forms(v) {
			for pad := 0; pad < 3; pad++ {
				data := []byte(strings.Repeat("x", pad) + `{"msg":"` + f.value + `"}`)
				if strings.HasPrefix(f.name, "base64") {
					// A real base64 leak: the canary encoded inside other bytes.
					enc := base64.StdEncoding
					if strings.HasPrefix(f.name, "base64url") {
						enc = base64.URLEncoding
					}
					data = []byte(enc.EncodeToString([]byte(strings.Repeat("y", pad) + v + "tail")))
				}
				hits := scan([]source{{Name: "planted", Data: data}}, cs)
				if len(hits) == 0 {
					t.Errorf("form %s of %q (pad %d) not found in %q", f.name, v, pad, data)
				}
			}
		}
		// A verbatim copy is reported once, as such, though its head and
		// several encodings match there too.
		if hits := scan([]source{{Name: "once", Data: []byte("a " + v + " b")}}, cs); len(hits) != 1 || hits[0].Form != "as-is" || hits[0].Offset != 2 || hits[0].Canary.Value != v {
			t.Errorf("verbatim %q: hits %v, want one as-is hit at byte 2", v, hits)
		}
		// A copy cut short after the token head is still found.
		head := tokenHead(v)
		if hits := scan([]source{{Name: "cut", Data: []byte("value=" + head + "…")}}, cs); len(hits) == 0 && head != v {
			t.Errorf("head %q of %q not found", head, v)
		}
	}
	clean := []byte(`{"time":"2025-01-01T00:00:00Z","msg":"inference","request_id":"0123456789abcdef0123456789abcdef","model":"unknown","CANARY-":"x"}`)
	if hits := scan([]source{{Name: "clean", Data: clean}}, cs); len(hits) != 0 {
		t.Errorf("false positives in clean output: %v", hits)
	}
}
