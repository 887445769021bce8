package auth

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestCreateCheckRevoke(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 || s.Check([]byte("relay-anything")) || s.Check(nil) {
		t.Fatal("an empty store accepts a key: there must be no default key")
	}
	key, id, err := s.Create("ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, KeyPrefix) || len(key) != len(KeyPrefix)+43 {
		t.Fatalf("key shape %q", key[:8])
	}
	if !s.Check([]byte(key)) {
		t.Fatal("created key rejected")
	}
	if s.Check([]byte(key+"x")) || s.Check([]byte(key[:len(key)-1])) {
		t.Fatal("altered key accepted")
	}
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), key) || strings.Contains(string(raw), key[len(KeyPrefix):]) {
		t.Fatal("the key itself is stored")
	}
	fi, _ := os.Stat(s.Path())
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	key2, _, err := s.Create("second")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(id); err != nil {
		t.Fatal(err)
	}
	if s.Check([]byte(key)) || !s.Check([]byte(key2)) {
		t.Fatal("revoke removed the wrong key")
	}
	if err := s.Revoke(id); err != ErrNotFound {
		t.Fatalf("second revoke: %v", err)
	}
}

// TestSeesKeysCreatedElsewhere: a running server picks up keys created by
// another process (relay keys create) without a restart.
func TestSeesKeysCreatedElsewhere(t *testing.T) {
	dir := t.TempDir()
	server, _ := Open(dir)
	cli, _ := Open(dir)
	key, _, err := cli.Create("")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !server.Check([]byte(key)) {
		if time.Now().After(deadline) {
			t.Fatal("server never saw the new key")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDamagedStoreIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/"+FileName, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("err = %v", err)
	}
}
