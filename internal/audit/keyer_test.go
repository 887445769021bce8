package audit

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"
)

var keyedHashRE = regexp.MustCompile(`^hmac-sha256:[0-9a-f]{32}$`)

func testKeyer(t *testing.T) *Keyer {
	t.Helper()
	k, err := OpenKeyer(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyerCreatesPrivateKeyAndReloadsIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k1, err := OpenKeyer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di, err := os.Stat(dir); err != nil || (runtime.GOOS != "windows" && di.Mode().Perm() != 0o700) {
		t.Errorf("key dir: %v, %v; want mode 0700", di.Mode().Perm(), err)
	}
	fi, err := os.Stat(filepath.Join(dir, SessionKeyName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 32 {
		t.Errorf("key file size = %d, want 32", fi.Size())
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o400 {
		t.Errorf("key file mode = %v, want 0400", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("key dir holds %d entries, want only the key (temp file left behind?)", len(entries))
	}
	k2, err := OpenKeyer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Hash([]byte("s")) != k2.Hash([]byte("s")) {
		t.Error("reloaded key hashes differently")
	}
	other := testKeyer(t)
	if other.Hash([]byte("s")) == k1.Hash([]byte("s")) {
		t.Error("two installs share a key")
	}
}

func TestKeyerConcurrentCreateAgrees(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var wg sync.WaitGroup
	hashes := make([]KeyedHash, 8)
	for i := range hashes {
		wg.Go(func() {
			k, err := OpenKeyer(dir)
			if err != nil {
				t.Error(err)
				return
			}
			hashes[i] = k.Hash([]byte("x"))
		})
	}
	wg.Wait()
	for _, h := range hashes[1:] {
		if h != hashes[0] {
			t.Fatal("concurrent OpenKeyer calls ended with different keys")
		}
	}
}

func TestKeyerRejectsBadKeyFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, SessionKeyName)
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyer(dir); err != ErrKeyFile {
		t.Errorf("short key: err = %v, want ErrKeyFile", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	if err := os.WriteFile(path, make([]byte, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyer(dir); err != ErrKeyFile {
		t.Errorf("world-readable key: err = %v, want ErrKeyFile", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), path); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyer(dir); err != ErrKeyFile {
		t.Errorf("symlinked key: err = %v, want ErrKeyFile", err)
	}
}

func TestKeyDirMustBePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyer(dir); !errors.Is(err, ErrKeyDir) {
		t.Errorf("group/world-readable key dir: err = %v, want ErrKeyDir", err)
	}
}

// The key's bytes live in the keyring's locked arena; Close zeroes them
// and the Keyer then hashes nothing.
func TestKeyerKeyLivesInArena(t *testing.T) {
	kr, err := NewKeyring(FileKeys{Dir: filepath.Join(t.TempDir(), "keys")})
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKeyer(kr)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Status().InUse != 1 {
		t.Errorf("arena slots in use = %d, want 1", kr.Status().InUse)
	}
	if k.Hash([]byte("s")).IsZero() {
		t.Fatal("no hash with a key")
	}
	if err := kr.Close(); err != nil {
		t.Fatal(err)
	}
	if !k.Hash([]byte("s")).IsZero() {
		t.Error("a Keyer hashed after its keyring was closed")
	}
}

func TestKeyedHash(t *testing.T) {
	k := testKeyer(t)
	h := k.Hash([]byte("session-1"))
	if !keyedHashRE.MatchString(h.String()) {
		t.Errorf("hash = %q", h)
	}
	if h.Prefix() != h.String()[len("hmac-sha256:"):][:8] {
		t.Errorf("prefix %q is not the first 8 hex digits of %q", h.Prefix(), h)
	}
	if h == k.Hash([]byte("session-2")) {
		t.Error("different inputs, same hash")
	}
	if h != k.Hash([]byte("session-1")) {
		t.Error("same input, different hash")
	}
	// The zero value, an empty input and a Keyer without a key carry nothing.
	for name, z := range map[string]KeyedHash{
		"zero":      {},
		"empty":     k.Hash(nil),
		"zeroKeyer": new(Keyer).Hash([]byte("session-1")),
	} {
		if !z.IsZero() || z.String() != "" || z.Prefix() != "" {
			t.Errorf("%s: got %q, want the zero hash", name, z)
		}
	}
}
