package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreLoopback(t *testing.T) {
	var c Config
	c.Defaults()
	if err := c.Validate(0); err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Listen {
		if !strings.HasPrefix(l, "127.0.0.1:") && !strings.HasPrefix(l, "[::1]:") {
			t.Errorf("default listen %q is not loopback", l)
		}
	}
	if c.Autodetect == nil || !*c.Autodetect {
		t.Error("auto-detection should be on by default")
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		c    Config
		keys int
		want string
	}{
		{"non-loopback refused", Config{Listen: []string{"0.0.0.0:1"}}, 1, "not a loopback address"},
		{"non-loopback needs tls", Config{Listen: []string{"0.0.0.0:1"}, AllowNonLoopback: true}, 1, "requires tls"},
		{"non-loopback needs keys", Config{Listen: []string{"[::]:1"}, AllowNonLoopback: true, TLS: TLS{Cert: "c", Key: "k"}}, 0, "requires at least one API key"},
		{"bad listen", Config{Listen: []string{"nonsense"}}, 0, "listen"},
		{"bad kind", Config{Backends: []Backend{{Name: "x", Kind: "nope", BaseURL: "https://a.example"}}}, 0, "kind must be"},
		{"plain http remote", Config{Backends: []Backend{{Name: "x", Kind: KindOpenAICompatible, BaseURL: "http://10.0.0.1/v1"}}}, 0, "plain http"},
		{"dup name", Config{Backends: []Backend{{Name: "x", Kind: KindAnthropic}, {Name: "x", Kind: KindAnthropic}}}, 0, "duplicate"},
		{"bad name", Config{Backends: []Backend{{Name: "a b", Kind: KindAnthropic}}}, 0, "name must be"},
		{"route incomplete", Config{Routes: []Route{{Match: "x"}}}, 0, "match and target"},
		{"negative key share", Config{Sessions: Sessions{MaxSessionsPerKey: -1}}, 0, "sessions: limits"},
		{"negative key bytes", Config{Sessions: Sessions{MaxBytesPerKey: -1}}, 0, "sessions: limits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Defaults()
			err := tc.c.Validate(tc.keys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	ok := Config{Listen: []string{"0.0.0.0:1"}, AllowNonLoopback: true, TLS: TLS{Cert: "c", Key: "k"}}
	ok.Defaults()
	if err := ok.Validate(1); err != nil {
		t.Fatalf("flag+TLS+keys should allow non-loopback: %v", err)
	}
}

func TestLoadStrict(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("read_timeout = \"5s\"\n[[backend]]\nname=\"a\"\nkind=\"anthropic\"\n[[route]]\nmatch=\"claude-*\"\ntarget=\"a\"\n"), 0o600)
	c, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	c.Defaults()
	if c.ReadTimeout.Seconds() != 5 || c.Backends[0].APIKeyEnv != "ANTHROPIC_API_KEY" || c.Backends[0].BaseURL != "https://api.anthropic.com" {
		t.Fatalf("loaded %+v", c)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[[backend]]\nname=\"a\"\nkidn=\"x\"\n"), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "backend.kidn") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(bad, []byte("read_timeout = \"soon\"\n"), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectionAndAuditDefaults(t *testing.T) {
	c := Config{StateDir: "/var/lib/relay/state"}
	c.Defaults()
	if c.MaxConnections != 512 || c.MaxConnectionsPerUID != 256 || c.Audit.KeyDir != "/var/lib/relay/state.keys" ||
		c.Audit.MaxFileBytes != 32<<20 || c.Audit.KeepFiles != 8 || c.Audit.SummaryInterval.Duration != time.Minute {
		t.Errorf("defaults: %+v %+v", c, c.Audit)
	}
	if err := c.Validate(0); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"per-uid above max":          func(c *Config) { c.MaxConnectionsPerUID = c.MaxConnections + 1 },
		"negative max":               func(c *Config) { c.MaxConnections = -1 },
		"key dir is the state":       func(c *Config) { c.Audit.KeyDir = c.StateDir },
		"key dir inside state":       func(c *Config) { c.Audit.KeyDir = c.StateDir + "/keys" },
		"tiny audit file":            func(c *Config) { c.Audit.MaxFileBytes = 100 },
		"no rotated files kept":      func(c *Config) { c.Audit.KeepFiles = -1 },
		"summary interval too short": func(c *Config) { c.Audit.SummaryInterval.Duration = time.Millisecond },
	} {
		bad := c
		mutate(&bad)
		if err := bad.Validate(0); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
}
