package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpecValidation(t *testing.T) {
	ok := Spec{Path: "/bin/prog", Name: "engine", Env: []string{"A=1", "B="}}
	if err := ok.validate(); err != nil {
		t.Fatalf("valid spec refused: %v", err)
	}
	cases := map[string]func(*Spec){
		"relative path":     func(s *Spec) { s.Path = "prog" },
		"empty path":        func(s *Spec) { s.Path = "" },
		"no name":           func(s *Spec) { s.Name = "" },
		"user text name":    func(s *Spec) { s.Name = "Hello World" },
		"long name":         func(s *Spec) { s.Name = strings.Repeat("a", 33) },
		"name starts dash":  func(s *Spec) { s.Name = "-x" },
		"env without =":     func(s *Spec) { s.Env = []string{"SECRETVALUE"} },
		"env empty key":     func(s *Spec) { s.Env = []string{"=SECRETVALUE"} },
		"env duplicate key": func(s *Spec) { s.Env = []string{"K=SECRETVALUE", "K=SECRETVALUE2"} },
		"env NUL":           func(s *Spec) { s.Env = []string{"K=SECRET\x00VALUE"} },
		"arg NUL":           func(s *Spec) { s.Args = []string{"SECRET\x00VALUE"} },
		"short hash":        func(s *Spec) { s.SHA256 = "abcd" },
		"non-hex hash":      func(s *Spec) { s.SHA256 = strings.Repeat("zz", 32) },
		"negative cap":      func(s *Spec) { s.StderrCap = -1 },
		"huge cap":          func(s *Spec) { s.StderrCap = 1 << 30 },
	}
	for name, mutate := range cases {
		s := ok
		mutate(&s)
		err := s.validate()
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error echoes the value: %v", name, err)
		}
	}
}

func TestHashFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	data := []byte(strings.Repeat("relay", 100_000))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum, f, err := HashFile(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := sha256.Sum256(data)
	if sum != hex.EncodeToString(want[:]) {
		t.Errorf("HashFile = %s, want %x", sum, want)
	}
	// The file comes back open, at offset 0, on the hashed inode even
	// after the path is replaced.
	if err := os.WriteFile(p+".new", []byte("other"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Error("returned file does not read the hashed contents from the start")
	}

	if _, _, err := HashFile(dir); err == nil {
		t.Error("HashFile of a directory succeeded")
	}
	if _, _, err := HashFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("HashFile of a missing file succeeded")
	}
}
