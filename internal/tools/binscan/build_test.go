package binscan

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// goTool returns the go command, or skips the test when there is none.
func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	return p
}

// goBuild runs "go build -trimpath -o out pkg" in dir.
func goBuild(t *testing.T, dir, out, pkg string) {
	t.Helper()
	cmd := exec.Command(goTool(t), "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// planted is one secret the small test program carries.
type planted struct {
	rule  string
	value string
}

// plants makes the five secrets, from a fixed seed so every run plants the
// same random-looking values. None of them is written in this file: a
// secret scanner pointed at the repository has nothing to find.
func plants(t *testing.T) []planted {
	r := seeded(7)
	const b62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	tail := func(n int, alphabet string) string {
		var sb strings.Builder
		for _, c := range randomBytes(r, n) {
			sb.WriteByte(alphabet[int(c)%len(alphabet)])
		}
		return sb.String()
	}
	_, priv, err := ed25519.GenerateKey(bytes.NewReader(randomBytes(r, 32)))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return []planted{
		{"anthropic-key", "sk-ant-" + "api03-" + tail(93, b62) + "AA"},
		{"hex-entropy", hex.EncodeToString(randomBytes(r, 32))},
		{"base64-entropy", base64.StdEncoding.EncodeToString(randomBytes(r, 32))},
		{"private-key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))},
		{"aws-access-key-id", "AKIA" + tail(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")},
	}
}

// buildSmall builds a small program whose string table mixes ordinary
// literals with the given secrets, and returns the binary's path.
func buildSmall(t *testing.T, dir string, secrets []planted) string {
	t.Helper()
	ordinary := []string{
		"config.toml", "Content-Type", "application/json", "Authorization",
		"https://api.example.com/v1/messages", "relay: listening on %s",
		"claude-sonnet-4-5", "gpt-4o-mini", "model not found", "X-Request-Id",
		"runtime/debug.ReadBuildInfo", "max_tokens", "temperature", "stop_sequences",
	}
	var lits []string
	for i, s := range ordinary {
		lits = append(lits, strconv.Quote(s))
		if i%3 == 1 && len(secrets) > 0 {
			lits = append(lits, strconv.Quote(secrets[0].value))
			secrets = secrets[1:]
		}
	}
	for _, s := range secrets {
		lits = append(lits, strconv.Quote(s.value))
	}
	src := fmt.Sprintf(`package main

import (
	"fmt"
	"os"
)

var table = []string{
	%s,
}

func main() {
	// Index by something the compiler cannot know, so every literal stays.
	fmt.Println(table[len(os.Args)%%len(table)])
}
`, strings.Join(lits, ",\n\t"))
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module small\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "small")
	goBuild(t, dir, out, ".")
	return out
}

func TestPlantedSecretsFound(t *testing.T) {
	secrets := plants(t)
	bin := buildSmall(t, t.TempDir(), secrets)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ScanFile(bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != len(secrets) {
		t.Errorf("got %d findings, want %d: %v", len(r.Findings), len(secrets), r.Findings)
	}
	for _, s := range secrets {
		at := bytes.Index(data, []byte(s.value))
		if at < 0 {
			t.Fatalf("%s not in the binary; the test program is wrong", s.rule)
		}
		ok := false
		for _, f := range r.Findings {
			if f.Rule == s.rule && int(f.Offset) <= at && at < int(f.Offset)+f.Length {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s at 0x%x not found", s.rule, at)
		}
	}
	// A finding shows four bytes of its candidate, never more.
	for _, f := range r.Findings {
		line := f.String()
		for _, s := range secrets {
			if strings.Contains(line, s.value[:8]) {
				t.Errorf("finding %q shows more than %d bytes of a secret", line, previewLen)
			}
		}
	}

	t.Run("allowlist", func(t *testing.T) {
		// Allow the hex key by its hash: exactly that finding goes away.
		var allowed Finding
		for _, f := range r.Findings {
			if f.Rule == "hex-entropy" {
				allowed = f
			}
		}
		if allowed.Rule == "" {
			t.Fatal("no hex finding to allow")
		}
		a, err := ParseAllowlist(strings.NewReader("# allowed on purpose\n" + allowed.SHA256 + " test vector\n"))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ScanFile(bin, a)
		if err != nil {
			t.Fatal(err)
		}
		var want []Finding
		for _, f := range r.Findings {
			if f != allowed {
				want = append(want, f)
			}
		}
		if fmt.Sprint(r2.Findings) != fmt.Sprint(want) {
			t.Errorf("with %s allowed:\ngot  %v\nwant %v", allowed.SHA256, r2.Findings, want)
		}
	})
}

func TestCleanProgramHasNoFindings(t *testing.T) {
	bin := buildSmall(t, t.TempDir(), nil)
	r, err := ScanFile(bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 0 {
		t.Errorf("clean program: %v", r.Findings)
	}
	if r.Size < 1<<20 {
		t.Errorf("scanned %d bytes; the program did not build as expected", r.Size)
	}

	// The build ID Known allows is the one the go command reads.
	cmd := exec.Command(goTool(t), "tool", "buildid", bin)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if got := goBuildID(data); string(got) != strings.TrimSpace(string(want)) {
		t.Errorf("goBuildID = %q, want %q", got, want)
	}
}

// TestBigProgramIsClean builds a program of the relay's size and makes (see
// testdata/bigprog: net/http, crypto/tls, encoding/json and both vendor
// SDKs) and checks that nothing in it is reported. A cold build of the SDKs
// takes minutes on a small machine, so -short skips it.
func TestBigProgramIsClean(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the vendor SDKs; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "bigprog")
	start := time.Now()
	goBuild(t, ".", out, "./testdata/bigprog")
	t.Logf("built in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	r, err := ScanFile(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scanned %d bytes in %v", r.Size, time.Since(start).Round(time.Millisecond))
	for _, f := range r.Findings {
		t.Errorf("false positive: %v", f)
	}
	if r.Size < 10<<20 {
		t.Errorf("binary is only %d bytes; the SDKs were not linked in", r.Size)
	}

	// Without the built-in allowances the module checksums are reported,
	// and nothing but what Known lists: the allowances are exact, not
	// broad. A run may swallow a few neighbouring bytes of the next literal
	// ("…0e5f" then "crypto/rsa"), hence the small slack.
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	blanked := bytes.Clone(data)
	for _, k := range Known(data) {
		blank(blanked, k)
	}
	raw := Scan(data, Options{})
	if len(raw) == 0 {
		t.Error("no findings without allowances; the module checksums should be seen")
	}
	for _, f := range raw {
		if n := nonZero(blanked[f.Offset : int(f.Offset)+f.Length]); n > 8 {
			t.Errorf("finding without allowances is not made of known strings (%d other bytes): %v", n, f)
		}
	}
}

func nonZero(b []byte) int {
	n := 0
	for _, c := range b {
		if c != 0 {
			n++
		}
	}
	return n
}
