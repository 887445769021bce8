// Package weights finds the model files the embedded engine may serve and
// verifies them before they are served (SPEC I1).
//
// What it promises:
//
//   - [Discover] lists GGUF files named in the configuration and the models
//     of a local Ollama store (manifest → model layer → blob). It reads
//     manifests only; it opens no blob.
//   - [Verify] hashes every file with SHA-256 at every start, through the
//     descriptor it then keeps open ([Model.File]): the relay hands that
//     descriptor to the engine, so a file renamed over the path after the
//     check is not what is served. A model whose hash does not match is
//     reported and never returned by [Verified]. Expected hashes come from
//     the configuration, from the Ollama blob's own name, or, for a
//     configured file without one, from a pinned record in the state dir
//     written on first verification (trust on first use, reported as such).
//   - Nothing here reads or logs what a model says; errors name files.
//
// What it does not cover: someone able to write the model file in place can
// still change it after it was hashed, since the engine maps the file.
package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Source says where a model was found.
type Source uint8

const (
	SourceConfig Source = iota + 1 // a [[model]] entry of the configuration
	SourceOllama                   // the Ollama store
)

func (s Source) String() string {
	switch s {
	case SourceConfig:
		return "config"
	case SourceOllama:
		return "ollama"
	}
	return "unknown"
}

// Model is one model file.
type Model struct {
	Name   string // what clients ask for: the configured name, or "name:tag"
	Path   string // absolute
	SHA256 string // expected hex digest; "" when only a pinned record can say
	Source Source
	// File is the descriptor Verify hashed, open, for a verified model; nil
	// otherwise. Whoever ends up holding the verified models closes it.
	File *os.File
}

// ModelConfig is one configured GGUF file ([[model]] name, path, sha256).
type ModelConfig struct {
	Name   string
	Path   string
	SHA256 string
}

// Config says where to look.
type Config struct {
	Models []ModelConfig
	// Ollama includes the Ollama store.
	Ollama bool
	// OllamaDir is the store; "" means $OLLAMA_MODELS, else ~/.ollama/models.
	OllamaDir string
}

const (
	ollamaModelType = "application/vnd.ollama.image.model"
	maxManifest     = 1 << 20
)

var (
	hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// Ollama names and tags: what `ollama pull` accepts, no path tricks.
	ollamaPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// OllamaDir is where the Ollama store is when c does not say.
func OllamaDir(c Config) string {
	if c.OllamaDir != "" {
		return c.OllamaDir
	}
	if d := os.Getenv("OLLAMA_MODELS"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".ollama", "models")
}

// Discover lists the models c names and those of the Ollama store. A
// configured model listed again by Ollama keeps the configured entry. The
// error joins what could not be used (a malformed manifest, a duplicate
// name); the models returned are still usable.
func Discover(c Config) ([]Model, error) {
	var out []Model
	var errs []error
	seen := map[string]bool{}
	for i, mc := range c.Models {
		m, err := configured(mc)
		if err != nil {
			errs = append(errs, fmt.Errorf("weights: model %d: %w", i+1, err))
			continue
		}
		if seen[m.Name] {
			errs = append(errs, fmt.Errorf("weights: model %d: name used twice", i+1))
			continue
		}
		seen[m.Name] = true
		out = append(out, m)
	}
	if c.Ollama {
		found, err := ollama(OllamaDir(c))
		if err != nil {
			errs = append(errs, err)
		}
		for _, m := range found {
			if !seen[m.Name] {
				seen[m.Name] = true
				out = append(out, m)
			}
		}
	}
	return out, errors.Join(errs...)
}

func configured(mc ModelConfig) (Model, error) {
	if mc.Name == "" || mc.Path == "" {
		return Model{}, errors.New("name and path are required")
	}
	abs, err := filepath.Abs(mc.Path)
	if err != nil {
		return Model{}, err
	}
	sum := strings.ToLower(mc.SHA256)
	if sum != "" && !hexDigest.MatchString(sum) {
		return Model{}, errors.New("sha256 must be 64 hex digits")
	}
	return Model{Name: mc.Name, Path: abs, SHA256: sum, Source: SourceConfig}, nil
}

// ollama reads the manifests of an Ollama store:
// dir/manifests/<registry>/<namespace>/<name>/<tag>, for every registry
// directory present. A model of the "library" namespace is named
// "<name>:<tag>", as Ollama names it; others "<namespace>/<name>:<tag>".
// A missing store is no error: Ollama is simply not installed.
func ollama(dir string) ([]Model, error) {
	if dir == "" {
		return nil, nil
	}
	root := filepath.Join(dir, "manifests")
	registries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("weights: ollama store: %w", err)
	}
	var out []Model
	var errs []error
	for _, reg := range subdirs(root, registries) {
		for _, ns := range subdirs(reg, readDir(reg, &errs)) {
			for _, name := range subdirs(ns, readDir(ns, &errs)) {
				for _, t := range readDir(name, &errs) {
					if !t.Type().IsRegular() || !ollamaPart.MatchString(t.Name()) {
						continue
					}
					path := filepath.Join(name, t.Name())
					sum, err := modelLayer(path)
					if err != nil {
						errs = append(errs, fmt.Errorf("weights: ollama manifest %s: %w", path, err))
						continue
					}
					model := filepath.Base(name) + ":" + t.Name()
					if base := filepath.Base(ns); base != "library" {
						model = base + "/" + model
					}
					out = append(out, Model{
						Name:   model,
						Path:   filepath.Join(dir, "blobs", "sha256-"+sum),
						SHA256: sum,
						Source: SourceOllama,
					})
				}
			}
		}
	}
	return out, errors.Join(errs...)
}

// readDir lists dir, noting a failure in errs.
func readDir(dir string, errs *[]error) []os.DirEntry {
	ents, err := os.ReadDir(dir)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("weights: ollama store: %w", err))
	}
	return ents
}

// subdirs returns the paths of the entries of dir that are directories
// with names Ollama could have written.
func subdirs(dir string, ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		if e.IsDir() && ollamaPart.MatchString(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// modelLayer returns the hex digest of the manifest's model layer.
func modelLayer(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxManifest {
		return "", errors.New("manifest too large")
	}
	var m struct {
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", errors.New("manifest is not valid JSON")
	}
	for _, l := range m.Layers {
		if l.MediaType != ollamaModelType {
			continue
		}
		sum, ok := strings.CutPrefix(l.Digest, "sha256:")
		if !ok || !hexDigest.MatchString(sum) {
			return "", errors.New("model layer digest is not a sha256")
		}
		return sum, nil
	}
	return "", errors.New("no model layer")
}
