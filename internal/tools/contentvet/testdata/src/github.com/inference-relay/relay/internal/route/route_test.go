package route

import (
	"testing"

	"github.com/inference-relay/relay/internal/content"
)

// Tests may turn content into strings to compare it.
func TestConvert(t *testing.T) {
	got := content.FromString("x")
	if s := string(got.Bytes()); s != "x" {
		t.Errorf("got %q", s)
	}
}
