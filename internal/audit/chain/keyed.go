package chain

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MACKey is the audit key: 32 bytes, read only while a MAC is computed
// (a memlock.Key keeps them in locked memory outside the Go heap). Bytes
// returns nil once the key is gone.
type MACKey interface {
	Bytes() []byte
}

// macDomain separates record MACs from head seals and from any other use
// of the key.
const (
	macDomain  = "relay-audit-record-v2|"
	headDomain = "relay-audit-head-v2|"
)

var errNoKey = errors.New("chain: the audit key is not available")

// macer computes record MACs; one per goroutine (not safe for concurrent
// use). The key's bytes are copied into the HMAC's pads, which live on the
// Go heap for the macer's life: see the package doc.
type macer struct{ h hash.Hash }

func newMacer(k MACKey) (*macer, error) {
	b := k.Bytes()
	if len(b) == 0 {
		return nil, errNoKey
	}
	return &macer{h: hmac.New(sha256.New, b)}, nil
}

// record is hex(HMAC-SHA256(key, "relay-audit-record-v2|" seq "|" prev "|" event)).
func (m *macer) record(seq int64, prev string, event []byte) string {
	m.h.Reset()
	m.h.Write([]byte(macDomain))
	m.h.Write(strconv.AppendInt(nil, seq, 10))
	m.h.Write([]byte{'|'})
	m.h.Write([]byte(prev))
	m.h.Write([]byte{'|'})
	m.h.Write(event)
	return hex.EncodeToString(m.h.Sum(nil))
}

// Head anchors a keyed chain outside its files: how many records it holds
// and the MAC of the last, sealed under the key. It is kept in the key
// directory, apart from the audit files, so that whoever can write the
// audit files but not the key directory cannot roll the chain back, cut
// its tail or empty it unnoticed.
type Head struct {
	// Chain is the chain's random id: the Prev of its first record.
	Chain string
	// First is the seq of the first record still kept (older files may
	// have been rotated away).
	First int64
	// Seq is the number of records written; MAC is the last one's MAC, or
	// Chain when Seq is 0.
	Seq int64
	MAC string
}

func (h Head) sealInput() []byte {
	return fmt.Appendf(nil, "%s%s|%d|%d|%s", headDomain, h.Chain, h.First, h.Seq, h.MAC)
}

type headJSON struct {
	Format string `json:"format"`
	Chain  string `json:"chain"`
	First  int64  `json:"first"`
	Seq    int64  `json:"seq"`
	MAC    string `json:"mac"`
	Seal   string `json:"seal"`
}

const headFormat = "relay-audit-head-v2"

// ErrHead is wrapped by the errors about a head that is missing, does not
// verify, or does not match the chain.
var ErrHead = errors.New("chain: the audit head does not match the chain")

func (m *macer) seal(h Head) string {
	m.h.Reset()
	m.h.Write(h.sealInput())
	return hex.EncodeToString(m.h.Sum(nil))
}

// readHead loads and checks the head at path. A missing file gives an
// error wrapping os.ErrNotExist.
func readHead(path string, m *macer) (Head, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Head{}, err
	}
	var hj headJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&hj); err != nil || hj.Format != headFormat || !isHex64(hj.Chain) || !isHex64(hj.MAC) || !isHex64(hj.Seal) || hj.Seq < 0 || hj.First < 1 {
		return Head{}, fmt.Errorf("%w: the head file is malformed", ErrHead)
	}
	h := Head{Chain: hj.Chain, First: hj.First, Seq: hj.Seq, MAC: hj.MAC}
	if !hmac.Equal([]byte(m.seal(h)), []byte(hj.Seal)) {
		return Head{}, fmt.Errorf("%w: the head file's seal does not verify under the audit key (written with another key, or edited)", ErrHead)
	}
	return h, nil
}

// writeHead replaces the head at path atomically: a temporary file in the
// same directory, synced, renamed over it, and the directory synced.
func writeHead(path string, h Head, m *macer) error {
	b, err := json.Marshal(headJSON{Format: headFormat, Chain: h.Chain, First: h.First, Seq: h.Seq, MAC: h.MAC, Seal: m.seal(h)})
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".audit-head-*")
	if err != nil {
		return fmt.Errorf("chain: write head: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(append(b, '\n'))
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("chain: write head: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("chain: write head: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func newChainID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RotatedPath is the name of the i-th older file of the chain at path:
// "audit.jsonl" → "audit.1.jsonl". i = 0 is path itself.
func RotatedPath(path string, i int) string {
	if i == 0 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + strconv.Itoa(i) + ext
}

// chainFiles lists the files of the chain at path, oldest first, that
// exist: the rotated ones from the highest number down, then path. Numbers
// are probed up to the first gap after 1000.
func chainFiles(path string) []string {
	var older []string
	for i := 1; i <= 1000; i++ {
		p := RotatedPath(path, i)
		if _, err := os.Lstat(p); err != nil {
			break
		}
		older = append(older, p)
	}
	out := make([]string, 0, len(older)+1)
	for i := len(older) - 1; i >= 0; i-- {
		out = append(out, older[i])
	}
	if _, err := os.Lstat(path); err == nil {
		out = append(out, path)
	}
	return out
}
