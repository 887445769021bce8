package binscan

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// seeded returns a deterministic random source, so that the keys the tests
// plant are random-looking but the same on every run.
func seeded(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

func randomBytes(r *rand.ChaCha8, n int) []byte {
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

func TestEntropy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{"", 0},
		{"aaaaaaaa", 0},
		{"abababab", 1},
		{"abcd", 2},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", 5},
	} {
		if got := Entropy([]byte(tc.in)); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Entropy(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBinomialQuantile(t *testing.T) {
	if q := binomialQuantile(29, 0, foreignP); q != 0 {
		t.Errorf("rho 0: q = %d, want 0", q)
	}
	if q := binomialQuantile(29, 1, foreignP); q != 29 {
		t.Errorf("rho 1: q = %d, want 29", q)
	}
	// B(30, 0.05): P(X > 6) ≈ 5.7e-4 and P(X > 7) ≈ 8.5e-5.
	if q := binomialQuantile(30, 0.05, 1e-4); q != 7 {
		t.Errorf("B(30, 0.05): q = %d, want 7", q)
	}
}

// plant builds a buffer of background text with each key glued between two
// ordinary tokens, the way Go packs string literals, and returns the key
// ranges.
func plant(background []byte, keys [][]byte) ([]byte, [][2]int) {
	var buf bytes.Buffer
	buf.Write(background)
	tokens := []string{"ContentType", "runtime", "GOMAXPROCS", "httpClient", "application/json", "X-Request-Id", "v1.2.3", "modelName"}
	var at [][2]int
	for i, k := range keys {
		buf.WriteString(tokens[i%len(tokens)])
		at = append(at, [2]int{buf.Len(), buf.Len() + len(k)})
		buf.Write(k)
		buf.WriteString(tokens[(i+3)%len(tokens)])
		if i%3 == 0 {
			buf.WriteByte(0)
		}
	}
	return buf.Bytes(), at
}

// TestRandomKeysFound plants random 32-byte keys (base64, base64url without
// padding, hex) into a real Go binary (this test's own) and checks that the
// entropy rules find them, and find nothing else: the test binary is
// ordinary Go text, symbol names and paths.
func TestRandomKeysFound(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no test binary:", err)
	}
	background, err := os.ReadFile(exe)
	if err != nil {
		t.Skip("cannot read test binary:", err)
	}
	r := seeded(1)
	var keys [][]byte
	var rules []string
	for i := 0; i < 600; i++ {
		k := randomBytes(r, 32)
		switch i % 3 {
		case 0:
			keys = append(keys, []byte(base64.StdEncoding.EncodeToString(k)))
			rules = append(rules, "base64-entropy")
		case 1:
			keys = append(keys, []byte(base64.RawURLEncoding.EncodeToString(k)))
			rules = append(rules, "base64-entropy")
		case 2:
			keys = append(keys, []byte(hex.EncodeToString(k)))
			rules = append(rules, "hex-entropy")
		}
	}
	data, at := plant(background, keys)
	findings := Scan(data, Options{Known: Known(data)})

	found := make([]bool, len(keys))
	for _, f := range findings {
		start, end := int(f.Offset), int(f.Offset)+f.Length
		hit := -1
		for i, a := range at {
			if start < a[1] && a[0] < end {
				hit = i
				break
			}
		}
		if hit < 0 {
			t.Errorf("finding outside the planted keys (false positive): %v", f)
			continue
		}
		if f.Rule != rules[hit] {
			t.Errorf("key %d found by %s, want %s", hit, f.Rule, rules[hit])
		}
		found[hit] = true
	}
	missed := 0
	for i, ok := range found {
		if !ok {
			missed++
			t.Logf("missed key %d (%s)", i, rules[i])
		}
	}
	// The base64 rule is tuned to miss about one random key in a thousand
	// (measured over 3000 keys). The background is this test binary, which
	// changes with the code, so allow a few before calling it a regression.
	if missed > 3 {
		t.Errorf("missed %d of %d random keys", missed, len(keys))
	}
}

// TestNotRandom feeds text that is high in entropy or long in hex or base64
// characters but is not key material.
func TestNotRandom(t *testing.T) {
	for _, s := range []string{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
		"0123456789abcdef0123456789ABCDEF0123456789abcdefghijklmnopqrstuvwxyz",
		"github.com/openai/openai-go/v3/packages/param/internal/apijson",
		"github.com/anthropics/anthropic-sdk-go/internal/requestconfig",
		"1490116119384765625745058059692382812537252902984619140625",
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"F10F11F12F13F14F15F16F17F18F19F20F21F22F23F24F25F26F27F28F29F30F31AAAAADAA",
		"J*go.shape.0eaffa336d78325360ab9e3162909ae252b36419bc94a045c8dd9fe238757a9f]",
		"sk-unknown-model-name-for-this-request",
		"-----BEGIN RSA PRIVATE KEY-----",
		"xoxb-xoxp-xoxa-xoxr-xoxs------int16int32int64uint8",
		// Tables of short literals the Go linker packs side by side.
		"tvrRuUeEaAlLsS01bBoOxX+-nNiIfFpPv1no",
		"s--ToA4A3V1V6V2V3V5le0b0x0X0onoOUCNST=",
	} {
		if f := Scan([]byte(s), Options{}); len(f) != 0 {
			t.Errorf("Scan(%q) = %v, want nothing", s, f)
		}
	}
}

// TestCurveParametersAllowed checks that the NIST curve constants, which
// every binary linking crypto/tls holds, are let through by Known and only
// by it.
func TestCurveParametersAllowed(t *testing.T) {
	data := []byte("bigFromHex" + nistCurveHex[3] + nistCurveHex[4] + "deadline")
	if f := Scan(data, Options{}); len(f) == 0 {
		t.Fatal("curve parameters not seen without allowances; the test proves nothing")
	}
	if f := Scan(data, Options{Known: Known(data)}); len(f) != 0 {
		t.Errorf("curve parameters reported: %v", f)
	}
}
