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
	if s.Len() != 0 || ok(s, "relay-anything") || ok(s, "") {
		t.Fatal("an empty store accepts a key: there must be no default key")
	}
	key, id, err := s.Create("ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, KeyPrefix) || len(key) != len(KeyPrefix)+43 {
		t.Fatalf("key shape %q", key[:8])
	}
	if got, ok := s.Check([]byte(key)); !ok || got != id {
		t.Fatalf("created key: Check = %q, %v; want its id %q", got, ok, id)
	}
	if ok(s, key+"x") || ok(s, key[:len(key)-1]) {
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
	key2, id2, err := s.Create("second")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(id); err != nil {
		t.Fatal(err)
	}
	if id2 == id {
		t.Fatal("two keys share an id")
	}
	if got, ok2 := s.Check([]byte(key2)); ok(s, key) || !ok2 || got != id2 {
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
	for !ok(server, key) {
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

func ok(s *Store, key string) bool {
	_, ok := s.Check([]byte(key))
	return ok
}

// TestCheckNamesTheMatchingKey: with several keys, each key is answered
// with its own id, whatever its position in the store.
func TestCheckNamesTheMatchingKey(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for range 5 {
		key, id, err := s.Create("")
		if err != nil {
			t.Fatal(err)
		}
		ids[key] = id
	}
	if len(ids) != 5 {
		t.Fatal("duplicate keys")
	}
	for key, id := range ids {
		if got, ok := s.Check([]byte(key)); !ok || got != id {
			t.Fatalf("Check = %q, %v; want %q", got, ok, id)
		}
	}
	if got, ok := s.Check([]byte("relay-unknown")); ok || got != "" {
		t.Fatalf("unknown key: %q, %v", got, ok)
	}
}

// TestDuplicateIDIsDamage: two entries with one id would share everything
// a key owns, so such a file is refused like a damaged one.
func TestDuplicateIDIsDamage(t *testing.T) {
	dir := t.TempDir()
	h := "sha256:" + strings.Repeat("ab", 32)
	h2 := "sha256:" + strings.Repeat("cd", 32)
	body := `[{"id":"aaaa0000","hash":"` + h + `","created":"2026-01-01T00:00:00Z"},{"id":"aaaa0000","hash":"` + h2 + `","created":"2026-01-01T00:00:00Z"}]`
	if err := os.WriteFile(dir+"/"+FileName, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Fatalf("duplicate ids: %v", err)
	}
}
