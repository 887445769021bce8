package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// copyLibDir copies the installed libraries (symlinks as symlinks) into a
// temporary directory a test may damage.
func copyLibDir(t *testing.T) string {
	t.Helper()
	needEngine(t)
	src, dst := testLibDir(), t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, to); err != nil {
				t.Fatal(err)
			}
			continue
		}
		in, err := os.Open(from)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(to)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyLibsAcceptsTheInstall(t *testing.T) {
	dir := copyLibDir(t)
	if err := VerifyLibs(dir); err != nil {
		t.Fatalf("VerifyLibs of an intact copy: %v", err)
	}
}

func TestVerifyLibsRefusesACorruptLibrary(t *testing.T) {
	dir := copyLibDir(t)
	flipByte(t, filepath.Join(dir, "libggml-base.so"), 4096)
	err := VerifyLibs(dir)
	if !errors.Is(err, ErrLibs) || !strings.Contains(err.Error(), "libggml-base.so") {
		t.Fatalf("VerifyLibs after a flipped byte: %v", err)
	}
}

// An attacker who can write the directory can also rewrite SHA256SUMS; the
// pinned sums compiled into the binary still refuse the result.
func TestVerifyLibsRefusesARewrittenManifest(t *testing.T) {
	dir := copyLibDir(t)
	lib := filepath.Join(dir, "libllama.v0.5.0.so")
	flipByte(t, lib, 8192)
	b, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	manifest := filepath.Join(dir, Manifest)
	old, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(old)), "\n") {
		if strings.HasSuffix(l, " libllama.v0.5.0.so") {
			l = hex.EncodeToString(sum[:]) + "  libllama.v0.5.0.so"
		}
		lines = append(lines, l)
	}
	if err := os.WriteFile(manifest, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := VerifyLibs(dir); !errors.Is(err, ErrLibs) {
		t.Fatalf("VerifyLibs with a manifest rewritten to match: %v", err)
	}
}

func TestVerifyLibsRefusesAnUnlistedLibrary(t *testing.T) {
	dir := copyLibDir(t)
	if err := os.WriteFile(filepath.Join(dir, "libggml-cpu-evil.so"), []byte("\x7fELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := VerifyLibs(dir); !errors.Is(err, ErrLibs) || !strings.Contains(err.Error(), "libggml-cpu-evil.so") {
		t.Fatalf("VerifyLibs with an extra backend: %v", err)
	}
}

// The dynamic loader mapped the sealed memory copies, not the files on disk.
func TestLoadedLibrariesAreTheVerifiedCopies(t *testing.T) {
	needEngine(t)
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps")
	}
	seen := 0
	for _, l := range strings.Split(string(maps), "\n") {
		if !strings.Contains(l, "libllama") && !strings.Contains(l, "libggml") {
			continue
		}
		seen++
		if !strings.Contains(l, "/memfd:relay-") {
			t.Errorf("mapped from disk, not from a verified copy: %s", l)
		}
	}
	if seen == 0 {
		t.Fatal("no llama.cpp library is mapped")
	}
}

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
	defer set.close()
	if set.aliases["libllama.so"] != "libllama.v9.so" {
		t.Fatalf("aliases %v", set.aliases)
	}
	b, err := io.ReadAll(io.NewSectionReader(set.files["libllama.v9.so"], 0, 1<<20))
	if err != nil || string(b) != "llama" {
		t.Fatalf("sealed copy holds %q, %v", b, err)
	}
	// The copy is sealed: it cannot be written, even by its owner.
	if _, err := set.files["libllama.v9.so"].WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("wrote to a sealed copy")
	}

	if err := checkPinned(got); !errors.Is(err, ErrLibs) {
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
			var set *libSet
			set, err = openListed(dir, sums)
			if err == nil {
				set.close()
			}
		}
		if !errors.Is(err, ErrLibs) {
			t.Errorf("%s: err %v, want ErrLibs", name, err)
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
		if _, err := readManifest(dir); !errors.Is(err, ErrLibs) {
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
	script, err := os.ReadFile("../../scripts/setup-llama")
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

// With LD_LIBRARY_PATH naming a directory that holds an unverified
// libggml-base.so, the loader must still never map it: the child process
// (this test binary again) checks its own mappings.
func TestLoadIgnoresLibrarySearchPath(t *testing.T) {
	if os.Getenv("ENGINE_TEST_CHILD") != "" {
		t.Skip("in the child")
	}
	dir := copyLibDir(t)
	evil := t.TempDir()
	if err := os.Rename(filepath.Join(dir, "libggml-base.so"), filepath.Join(evil, "libggml-base.so")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadedLibrariesAreTheVerifiedCopies$", "-test.v")
	cmd.Env = append(os.Environ(), "ENGINE_TEST_CHILD=1", "LD_LIBRARY_PATH="+evil, "RELAY_LLAMA_LIBS="+testLibDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestLoadedLibrariesAreTheVerifiedCopies") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
