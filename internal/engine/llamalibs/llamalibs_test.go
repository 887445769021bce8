package llamalibs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeLibs writes files and a manifest for them, for the checks that do
// not depend on the pinned set.
func fakeLibs(t *testing.T, files map[string]string) (string, map[string][32]byte) {
	t.Helper()
	dir := t.TempDir()
	sums := map[string][32]byte{}
	var manifest strings.Builder
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		sums[name] = sha256.Sum256([]byte(body))
		fmt.Fprintf(&manifest, "%x  %s\n", sums[name], name)
	}
	if err := os.WriteFile(filepath.Join(dir, Manifest), []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, sums
}

func TestOpenListedHashesTheSealedCopy(t *testing.T) {
	dir, sums := fakeLibs(t, map[string]string{"libllama.v9.so": "llama", "libggml-base.so": "base"})
	if err := os.Symlink("libllama.v9.so", filepath.Join(dir, "libllama.so")); err != nil {
		t.Fatal(err)
	}
	got, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["libggml-base.so"] != sums["libggml-base.so"] {
		t.Fatalf("manifest read as %v", got)
	}
	set, err := openListed(dir, got)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if set.Aliases["libllama.so"] != "libllama.v9.so" {
		t.Fatalf("aliases %v", set.Aliases)
	}
	b, err := io.ReadAll(io.NewSectionReader(set.Files["libllama.v9.so"], 0, 1<<20))
	if err != nil || string(b) != "llama" {
		t.Fatalf("sealed copy holds %q, %v", b, err)
	}
	// The copy is sealed: it cannot be written, even by its owner.
	if _, err := set.Files["libllama.v9.so"].WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("wrote to a sealed copy")
	}

	if err := checkPinned(got); !errors.Is(err, ErrRefused) {
		t.Fatalf("an unknown manifest passed the pinned check: %v", err)
	}
}

func TestLibraryDirectoryChecks(t *testing.T) {
	cases := map[string]func(dir string){
		"symlink out of the set": func(dir string) { os.Symlink("/etc/passwd", filepath.Join(dir, "libx.so")) },
		"unlisted file":          func(dir string) { os.WriteFile(filepath.Join(dir, "libz.so"), nil, 0o644) },
		"changed file":           func(dir string) { os.WriteFile(filepath.Join(dir, "liba.so"), []byte("A"), 0o644) },
		"missing file":           func(dir string) { os.Remove(filepath.Join(dir, "liba.so")) },
	}
	for name, damage := range cases {
		dir, _ := fakeLibs(t, map[string]string{"liba.so": "a"})
		damage(dir)
		sums, err := readManifest(dir)
		if err == nil {
			var set *Set
			set, err = openListed(dir, sums)
			if err == nil {
				set.Close()
			}
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err %v, want ErrRefused", name, err)
		}
	}
}

func TestManifestParsing(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	bad := map[string]string{
		"empty":          "",
		"short sum":      "abcd  liba.so\n",
		"path":           sum + "  ../liba.so\n",
		"not a library":  sum + "  notes.txt\n",
		"duplicate":      sum + "  liba.so\n" + sum + "  liba.so\n",
		"non-hex":        strings.Repeat("zz", 32) + "  liba.so\n",
		"no name":        sum + "\n",
		"absolute path":  sum + "  /lib/liba.so\n",
		"nested dirname": sum + "  sub/liba.so\n",
	}
	for name, text := range bad {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, Manifest), []byte(text), 0o644)
		if _, err := readManifest(dir); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: accepted", name)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, Manifest), []byte(sum+" *liba.so\n\n"+sum+"  libb.so\n"), 0o644)
	got, err := readManifest(dir)
	if err != nil || len(got) != 2 {
		t.Fatalf("binary-marker manifest: %v %v", got, err)
	}
}

// The script pins each flavour's SHA256SUMS by its hash; the manifest the
// pinned sets here describe must be that very file.
func TestPinnedSetsMatchTheSetupScript(t *testing.T) {
	script, err := os.ReadFile("../../../scripts/setup-llama")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "\nVERSION="+Release+"\n") {
		t.Fatalf("scripts/setup-llama does not pin version %s", Release)
	}
	for flavour, key := range map[string]string{"cpu": "CPU_MANIFEST_SHA256=", "cuda": "CUDA_MANIFEST_SHA256="} {
		set := pinnedLibs[flavour]
		var manifest strings.Builder
		for _, name := range slices.Sorted(maps.Keys(set)) {
			fmt.Fprintf(&manifest, "%x  %s\n", set[name], name)
		}
		sum := sha256.Sum256([]byte(manifest.String()))
		if !strings.Contains(string(script), "\n"+key+hex.EncodeToString(sum[:])+"\n") {
			t.Errorf("%s: the pinned set's manifest hashes to %x, which scripts/setup-llama does not pin", flavour, sum)
		}
	}
}
