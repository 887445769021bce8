package weights

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
)

// PinFile is the pinned record's name in the state dir: the SHA-256 of each
// configured model file without a configured sha256, written the first time
// the file is verified.
const PinFile = "weights.json"

type pin struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

type pinStore struct {
	path  string
	mu    sync.Mutex
	files map[string]pin // by absolute path
	dirty bool
}

// loadPins reads the record; a missing or unreadable one is empty (every
// model in it is then pinned afresh, and reported as first use).
func loadPins(stateDir string) *pinStore {
	p := &pinStore{path: filepath.Join(stateDir, PinFile), files: map[string]pin{}}
	b, err := os.ReadFile(p.path)
	if err != nil {
		return p
	}
	var rec struct {
		Files map[string]pin `json:"files"`
	}
	if json.Unmarshal(b, &rec) == nil && rec.Files != nil {
		p.files = rec.Files
	}
	return p
}

func (p *pinStore) get(path string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.files[path]
	return v.SHA256, ok && hexDigest.MatchString(v.SHA256)
}

func (p *pinStore) set(path, sum string, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files[path] = pin{SHA256: sum, Size: size}
	p.dirty = true
}

// save writes the record atomically, readable by the owner only.
func (p *pinStore) save() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := json.MarshalIndent(struct {
		Files map[string]pin `json:"files"`
	}{p.files}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.path), ".weights-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p.path); err != nil {
		return err
	}
	p.dirty = false
	return nil
}
