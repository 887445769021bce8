package relay

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/leaktest"
)

// leakConfig is a relay with one backend on a local test server, so that
// New builds every kind of resource but the engine child (internal/e2e
// covers the child): connections, the supervisor, the audit keys and
// file, the OTLP exporter's goroutine, the session store, the goroutines.
func leakConfig(t *testing.T, upstream string) Config {
	t.Helper()
	dir := t.TempDir()
	off := false
	cfg := Config{
		StateDir:   dir,
		Autodetect: &off,
		Backends:   []Backend{{Name: "local", Kind: "openai-compatible", BaseURL: upstream + "/v1"}},
	}
	cfg.Audit.OTLPEndpoint = upstream + "/v1/traces"
	return cfg
}

func upstream(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			w.Write([]byte(`{"object":"list","data":[{"id":"m"}]}`))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// warmUp runs New and Close once, so that what the process creates once
// and keeps (the network poller, ...) exists before a baseline is taken.
func warmUp(t *testing.T, up string) {
	t.Helper()
	c, err := New(leakConfig(t, up))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func setHook(t *testing.T, f func(string) error) {
	newStepHook = f
	t.Cleanup(func() { newStepHook = nil })
}

// TestNewReleasesEverythingWhenAStepFails fails New after each step that
// builds something, and after a full New, Close: nothing New built may be
// left (goroutines, open files, child processes).
func TestNewReleasesEverythingWhenAStepFails(t *testing.T) {
	up := upstream(t)
	warmUp(t, up)
	var steps []string
	setHook(t, func(s string) error { steps = append(steps, s); return nil })
	warmUp(t, up)
	if want := []string{"supervisor", "backends", "audit", "otlp", "sessions", "server"}; !slices.Equal(steps, want) {
		t.Fatalf("New's steps are %v, want %v", steps, want)
	}
	planted := errors.New("planted failure")
	for _, step := range steps {
		t.Run("after "+step, func(t *testing.T) {
			cfg := leakConfig(t, up)
			before := leaktest.Snapshot()
			setHook(t, func(s string) error {
				if s == step {
					return planted
				}
				return nil
			})
			c, err := New(cfg)
			if !errors.Is(err, planted) || c != nil {
				t.Fatalf("New: %v, %v; want the planted failure", c, err)
			}
			leaktest.Check(t, before)
		})
	}
	t.Run("close", func(t *testing.T) {
		cfg := leakConfig(t, up)
		before := leaktest.Snapshot()
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("a second Close: %v", err)
		}
		leaktest.Check(t, before)
	})
}

// TestNewReleasesEverythingOnARealFailure makes steps fail through the
// configuration alone, as a user would.
func TestNewReleasesEverythingOnARealFailure(t *testing.T) {
	up := upstream(t)
	warmUp(t, up)
	cases := []struct {
		name   string
		break_ func(t *testing.T, c *Config)
		want   string
	}{
		{"a configured backend without its key", func(t *testing.T, c *Config) {
			c.Backends = append(c.Backends, Backend{Name: "claude", Kind: "anthropic", APIKeyEnv: "RELAY_LEAK_TEST_UNSET"})
		}, "no API key"},
		{"an audit directory that is a file", func(t *testing.T, c *Config) {
			file := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			c.Audit.File = filepath.Join(file, "audit.jsonl")
		}, "audit file"},
		{"a key directory others can read", func(t *testing.T, c *Config) {
			dir := filepath.Join(t.TempDir(), "keys")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
				t.Fatal(err)
			}
			c.Audit.KeyDir = dir
		}, "chmod 700"},
		{"a plain-http OTLP endpoint off the host", func(t *testing.T, c *Config) {
			c.Audit.OTLPEndpoint = "http://192.0.2.1:4318/v1/traces"
		}, "otlp_endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.Unsetenv("RELAY_LEAK_TEST_UNSET")
			cfg := leakConfig(t, up)
			tc.break_(t, &cfg)
			before := leaktest.Snapshot()
			c, err := New(cfg)
			if err == nil || c != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, %v; want an error saying %q", c, err, tc.want)
			}
			leaktest.Check(t, before)
		})
	}
}
