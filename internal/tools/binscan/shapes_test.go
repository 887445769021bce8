package binscan

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestShapes checks each known key shape, glued between ordinary literals
// the way Go packs them, and near misses that must not match. The keys are
// put together at run time from seeded random characters.
func TestShapes(t *testing.T) {
	r := seeded(3)
	pick := func(n int, alphabet string) string {
		var sb strings.Builder
		for _, c := range randomBytes(r, n) {
			sb.WriteByte(alphabet[int(c)%len(alphabet)])
		}
		return sb.String()
	}
	const (
		alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		url    = alnum + "-_"
		upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		digits = "0123456789"
	)
	dash := func(parts ...string) string { return strings.Join(parts, "-") }
	// Encoded here, not written out: base64 of JSON is what the entropy
	// rule looks for, and this test's own binary must stay clean.
	b64json := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	jwt := b64json(`{"alg":"HS256","typ":"JWT"}`) + "." + b64json(`{"sub":"1234567890"}`) + "."
	for _, tc := range []struct {
		rule string
		key  string
	}{
		{"anthropic-key", dash("sk", "ant", "api03", pick(93, url)+"AA")},
		{"openai-key", dash("sk", "proj", pick(120, url))},
		{"openai-key", dash("sk", pick(48, alnum))},
		{"aws-access-key-id", "AKIA" + pick(16, upper)},
		{"aws-access-key-id", "ASIA" + pick(16, upper)},
		{"github-token", "ghp_" + pick(36, alnum)},
		{"github-token", "github_pat_" + pick(22, alnum) + "_" + pick(59, alnum)},
		{"slack-token", dash("xoxb", pick(11, digits), pick(13, digits), pick(24, alnum))},
		{"google-api-key", "AIza" + pick(35, url)},
		{"private-key", "-----BEGIN EC PRIVATE KEY-----\n" + pick(64, alnum) + "\n" + pick(56, alnum) + "==\n-----END EC PRIVATE KEY-----\n"},
		{"jwt", jwt + pick(43, url)},
	} {
		data := []byte("ContentType" + tc.key + "runtimeError")
		f := Scan(data, Options{})
		if len(f) != 1 || f[0].Rule != tc.rule {
			t.Errorf("%s: got %v, want one %s finding", tc.rule, f, tc.rule)
			continue
		}
		if start := len("ContentType"); int(f[0].Offset) != start || f[0].Length < len(tc.key)-1 {
			t.Errorf("%s: finding at %d, %d bytes; key at %d, %d bytes", tc.rule, f[0].Offset, f[0].Length, start, len(tc.key))
		}
		if f[0].Preview != tc.key[:previewLen] {
			t.Errorf("%s: preview %q, want %q", tc.rule, f[0].Preview, tc.key[:previewLen])
		}
	}

	// Prefixes followed by text, as a binary that checks for them holds
	// them: none of these is a key.
	for _, s := range []string{
		"sk-ant-" + "api03-" + "Authorization",
		"sk-" + "ant-" + "unexpected_value_for_the_field",
		"task-runner-configuration-file-name",
		"AKIA" + "ASIA" + "ghp_" + "gho_",
		"ghp_" + "AIzaabcdallgallprootitabsbrkidledead",
		"xoxb-" + "xoxp-" + "int16int32int64uint8",
		"-----BEGIN " + "-----END ",
		"-----BEGIN PRIVATE KEY-----" + "\n" + "MIIE",
		"eyJ" + "hello.world",
		"AIza" + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm",
	} {
		if f := Scan([]byte(s), Options{}); len(f) != 0 {
			t.Errorf("Scan(%q) = %v, want nothing", s, f)
		}
	}
}
