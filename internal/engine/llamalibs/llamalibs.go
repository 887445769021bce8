// Package llamalibs is what the relay knows about the llama.cpp libraries
// without loading them: the release this build is made for ([Release]), the
// files and SHA-256 sums pinned for it, where scripts/setup-llama installs
// them ([Dir]), and the check of a library directory ([Verify], [Open]).
//
// It imports no third-party binding, so the relay process (doctor, the
// backend builder, the library) can find and verify the libraries while
// only the engine child links llama.cpp (internal/engine loads the very
// copies [Open] verified).
package llamalibs

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// ErrRefused is wrapped by every error that refuses a library directory.
var ErrRefused = errors.New("engine: llama.cpp libraries refused")

// Manifest is the name of the checksum file in a library directory, in
// sha256sum's format.
const Manifest = "SHA256SUMS"

// SetupScript installs the libraries of [Release] under [Dir].
const SetupScript = "scripts/setup-llama"

const (
	maxManifest = 64 << 10
	maxLibSize  = 1 << 30 // the CUDA backend is 160 MB; nothing is near 1 GiB
)

// libName is what a library listed in the manifest may be called: a plain
// file name, so the manifest cannot point outside its directory.
var libName = regexp.MustCompile(`^lib[A-Za-z0-9][A-Za-z0-9._-]*\.so$`)

// Dir is where scripts/setup-llama installs the libraries of [Release]
// under the relay's state directory (config.DefaultStateDir by default).
func Dir(stateDir string, cuda bool) string {
	v := Release
	if cuda {
		v += "-cuda"
	}
	return filepath.Join(stateDir, "llama", v)
}

// Verify checks dir exactly as the engine does before loading, and loads
// nothing: the manifest must be one this build knows, every library it
// lists must hash to its entry (hashed from the sealed in-memory copy the
// engine would map), and every other .so in dir must be a symlink to a
// listed one.
func Verify(dir string) error {
	set, err := Open(dir)
	if err != nil {
		return err
	}
	set.Close()
	return nil
}

// Set is a verified library directory: each listed library as a sealed
// in-memory copy, and the unversioned names the binding opens, mapped to
// the file they stand for.
type Set struct {
	// Files maps each listed library's name to its sealed copy.
	Files map[string]*os.File
	// Aliases maps libllama.so and libggml.so to the versioned names in
	// Files they stand for.
	Aliases map[string]string
}

// Close closes the sealed copies (a mapping of one keeps it alive).
func (s *Set) Close() {
	for _, f := range s.Files {
		f.Close()
	}
}

// Refuse returns an error wrapping [ErrRefused].
func Refuse(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...)
}

func refuse(format string, args ...any) error { return Refuse(format, args...) }

// Open verifies dir as [Verify] does and returns the sealed copies, for
// the loader to map.
func Open(dir string) (*Set, error) {
	sums, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if err := checkPinned(sums); err != nil {
		return nil, err
	}
	return openListed(dir, sums)
}

// openListed verifies dir against sums, whatever sums are; Open has
// checked them against the pinned sets first.
func openListed(dir string, sums map[string][32]byte) (*Set, error) {
	if err := checkDir(dir, sums); err != nil {
		return nil, err
	}
	set := &Set{Files: map[string]*os.File{}, Aliases: aliases(sums)}
	for _, name := range slices.Sorted(maps.Keys(sums)) {
		f, err := sealedCopy(filepath.Join(dir, name), name, sums[name])
		if err != nil {
			set.Close()
			return nil, err
		}
		set.Files[name] = f
	}
	return set, nil
}

// readManifest parses dir's SHA256SUMS: lines of "<64 hex>  <name>" (or
// " *<name>", sha256sum's binary marker).
func readManifest(dir string) (map[string][32]byte, error) {
	f, err := openNoFollow(filepath.Join(dir, Manifest))
	if err != nil {
		return nil, refuse("%s: %v", Manifest, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, refuse("%s: %v", Manifest, err)
	}
	if len(b) > maxManifest {
		return nil, refuse("%s is too large", Manifest)
	}
	sums := map[string][32]byte{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		hexSum, name, ok := strings.Cut(text, " ")
		name = strings.TrimPrefix(strings.TrimPrefix(name, " "), "*")
		var sum [32]byte
		if n, err := hex.Decode(sum[:], []byte(hexSum)); !ok || err != nil || n != 32 || len(hexSum) != 64 {
			return nil, refuse("%s line %d is malformed", Manifest, line)
		}
		if !libName.MatchString(name) {
			return nil, refuse("%s line %d names no library file", Manifest, line)
		}
		if _, dup := sums[name]; dup {
			return nil, refuse("%s lists %s twice", Manifest, name)
		}
		sums[name] = sum
	}
	if len(sums) == 0 {
		return nil, refuse("%s lists no library", Manifest)
	}
	return sums, nil
}

// checkPinned accepts sums only when they are exactly one of the pinned
// sets of this build's Release.
func checkPinned(sums map[string][32]byte) error {
	for _, set := range pinnedLibs {
		if len(set) != len(sums) {
			continue
		}
		match := true
		for name, want := range set {
			if got, ok := sums[name]; !ok || got != want {
				match = false
				break
			}
		}
		if match {
			return nil
		}
	}
	return refuse("%s is not that of @node-llama-cpp %s, the release this build is made for (run %s)", Manifest, Release, SetupScript)
}

// checkDir refuses a directory holding a .so the manifest does not cover:
// a regular file that is not listed, or a symlink to anything but a listed
// file beside it. Load would not map such a file (it maps only what it
// verified), but its presence means someone changed the directory.
func checkDir(dir string, sums map[string][32]byte) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return refuse("%v", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".so") && !strings.Contains(name, ".so.") {
			continue
		}
		switch {
		case e.Type().IsRegular():
			if _, ok := sums[name]; !ok {
				return refuse("%s is not listed in %s", name, Manifest)
			}
		case e.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(filepath.Join(dir, name))
			if err != nil {
				return refuse("%v", err)
			}
			if _, ok := sums[target]; !ok {
				return refuse("symlink %s does not point to a listed library", name)
			}
		default:
			return refuse("%s is not a regular file", name)
		}
	}
	return nil
}

// aliases maps the names the binding opens (libllama.so, libggml.so) to
// the versioned files the package ships (libllama.v0.5.0.so, ...).
func aliases(sums map[string][32]byte) map[string]string {
	a := map[string]string{}
	for name := range sums {
		for _, base := range []string{"libllama", "libggml"} {
			if strings.HasPrefix(name, base+".") && name != base+".so" {
				a[base+".so"] = name
			}
		}
	}
	return a
}

// hashFile returns the SHA-256 of everything f holds, read from offset 0
// without moving f's offset.
func hashFile(f *os.File) ([32]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, maxLibSize)); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}
