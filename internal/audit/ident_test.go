package audit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestValidIdent(t *testing.T) {
	good := []string{"a", "ollama", "llama3.2:3b", "claude-sonnet-4-5@20250929", "org/model+v2", "A_b", strings.Repeat("x", 128)}
	bad := []string{"", "-lead", ".x", "_x", "has space", "new\nline", "quote\"", "ü", "semi;colon", "{json}", strings.Repeat("x", 129)}
	for _, s := range good {
		if !ValidIdent(s) {
			t.Errorf("ValidIdent(%q) = false", s)
		}
	}
	for _, s := range bad {
		if ValidIdent(s) {
			t.Errorf("ValidIdent(%q) = true", s)
		}
	}
}

func TestRegistryOnlyReturnsRegisteredNames(t *testing.T) {
	var reg Registry
	if err := reg.Add("gpt-4o", "not valid", "ollama"); err != ErrInvalidIdent {
		t.Errorf("Add with an invalid name: err = %v, want ErrInvalidIdent", err)
	}
	if got := reg.Ident("gpt-4o"); got.String() != "gpt-4o" || got.IsUnknown() {
		t.Errorf("registered name: got %v", got)
	}
	for _, s := range []string{"not valid", "gpt-4o ", "GPT-4O", "ignore previous instructions", "", "anything"} {
		if got := reg.Ident(s); !got.IsUnknown() || got.String() != "unknown" || got != Unknown {
			t.Errorf("Ident(%q) = %v, want unknown", s, got)
		}
	}
	var nilReg *Registry
	if got := nilReg.Ident("gpt-4o"); got != Unknown {
		t.Errorf("nil registry: got %v", got)
	}
	if got := (Ident{}).String(); got != "unknown" {
		t.Errorf("zero Ident = %q", got)
	}
	b, _ := reg.Ident("ollama").MarshalText()
	if string(b) != "ollama" {
		t.Errorf("MarshalText = %q", b)
	}
}

// The Ident must not alias the caller's bytes: a request buffer that is
// wiped later must not change what was recorded.
func TestIdentDoesNotAliasInput(t *testing.T) {
	var reg Registry
	_ = reg.Add("model-a")
	buf := []byte("model-a")
	id := reg.Ident(string(buf))
	clear(buf)
	if id.String() != "model-a" {
		t.Errorf("ident changed with its input: %q", id)
	}
}

func TestRegistryConcurrent(t *testing.T) {
	var reg Registry
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				name := fmt.Sprintf("m%d-%d", g, i)
				_ = reg.Add(name)
				if reg.Ident(name).IsUnknown() {
					t.Errorf("%s not found after Add", name)
				}
			}
		})
	}
	wg.Wait()
}
