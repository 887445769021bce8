package e2e

import (
	"strings"
	"testing"

	"github.com/inference-relay/relay"
	"github.com/inference-relay/relay/internal/leaktest"
)

// TestNewWithTheEngineLeavesNothing: when a step after the engine child
// started fails, New stops the child and releases its socket and model
// files; so does Close after a successful New. (The root package's leak
// tests fail New at every step; this one adds the child.)
func TestNewWithTheEngineLeavesNothing(t *testing.T) {
	engine := withEngine(t)
	config := func(t *testing.T) relay.Config {
		off := false
		cfg := relay.Config{StateDir: t.TempDir(), Autodetect: &off}
		engine(&cfg)
		return cfg
	}
	// Once in full first: what the process creates once and keeps exists
	// before the baseline.
	c, err := relay.New(config(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Models()) == 0 {
		t.Fatalf("models %v: the engine is not serving", c.Models())
	}
	c.Close()

	t.Run("a step after the engine fails", func(t *testing.T) {
		cfg := config(t)
		// Refused after the engine and the audit trail are up.
		cfg.Audit.OTLPEndpoint = "http://192.0.2.1:4318/v1/traces"
		before := leaktest.Snapshot()
		c, err := relay.New(cfg)
		if err == nil || c != nil || !strings.Contains(err.Error(), "otlp_endpoint") {
			t.Fatalf("New: %v, %v; want the OTLP endpoint's error", c, err)
		}
		leaktest.Check(t, before)
	})
	t.Run("close", func(t *testing.T) {
		cfg := config(t)
		before := leaktest.Snapshot()
		c, err := relay.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(leaktest.Snapshot().Left(before)) == 0 {
			t.Fatal("a running relay with its engine child holds nothing: the check sees nothing")
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		leaktest.Check(t, before)
	})
}
