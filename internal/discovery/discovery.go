// Package discovery lets the relay's own command-line tools find the relay
// server that runs for a state directory, the way `ollama run` finds the
// Ollama server: `relay serve` writes a small file into its state directory
// when it listens and removes it when it stops; `relay chat`, `relay models`
// and `relay ps` read it and talk to that server.
//
// What it promises:
//
//   - The file (server.json) is written atomically (a private temporary
//     file renamed into place), mode 0600, and holds the server's pid, the
//     start time of that process as the kernel counts it, its loopback URL
//     and a local token: a random key that server alone accepts, valid for
//     its lifetime only and never written anywhere else (not argv, not an
//     environment variable of another process).
//   - Find trusts a file only if it is a regular file (not a symlink), owned
//     by this user, with no permission bits for group or others, in a state
//     directory owned by this user; otherwise it refuses with ErrUnsafe and
//     says why, and never uses the token.
//   - A file whose process is gone — or whose pid now belongs to another
//     process, told by its start time — is stale: Find removes it and
//     reports ErrNotRunning.
//   - Remove deletes the file only if it still holds the caller's token, so
//     a server that stops never removes the file of one that started after
//     it.
package discovery

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FileName is the discovery file's name in the state directory.
const FileName = "server.json"

// TokenPrefix starts every local token, so a leaked one is recognisable.
const TokenPrefix = "relay-local-"

// Info describes a running server.
type Info struct {
	PID int `json:"pid"`
	// StartTicks is the process's start time in clock ticks after boot
	// (/proc/PID/stat field 22): with the pid, it names one process.
	StartTicks uint64    `json:"start_ticks"`
	URL        string    `json:"url"`
	Token      string    `json:"token"`
	Version    string    `json:"version,omitempty"`
	Started    time.Time `json:"started"`
}

var (
	// ErrNotRunning: no server runs for this state directory (no file, or
	// a stale one, which Find removed).
	ErrNotRunning = errors.New("no relay server is running for this state directory")
	// ErrUnsafe: a discovery file exists but cannot be trusted.
	ErrUnsafe = errors.New("the discovery file cannot be trusted")
)

// NewToken returns a fresh local token.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Self describes this process, for Write: its pid and start time.
func Self(url, token, version string) (Info, error) {
	ticks, err := startTicks(os.Getpid())
	if err != nil {
		return Info{}, err
	}
	return Info{PID: os.Getpid(), StartTicks: ticks, URL: url, Token: token, Version: version, Started: time.Now().UTC()}, nil
}

// Write puts info into dir's discovery file, atomically, mode 0600.
func Write(dir string, info Info) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".server-*.json")
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("discovery: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("discovery: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("discovery: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, FileName)); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	return nil
}

// Find reads dir's discovery file and checks that it can be trusted and
// that its server still runs. Errors wrap ErrNotRunning or ErrUnsafe.
func Find(dir string) (Info, error) {
	path := filepath.Join(dir, FileName)
	if err := checkOwned(dir, true); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Info{}, ErrNotRunning
		}
		return Info{}, err
	}
	if err := checkOwned(path, false); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Info{}, ErrNotRunning
		}
		return Info{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrUnsafe, err)
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil || info.PID <= 0 || !strings.HasPrefix(info.Token, TokenPrefix) || !loopbackURL(info.URL) {
		return Info{}, fmt.Errorf("%w: %s is malformed; remove it", ErrUnsafe, path)
	}
	if !alive(info) {
		// Stale: its server is gone. Remove it (only if it is still the
		// file we read).
		_ = Remove(dir, info.Token)
		return Info{}, ErrNotRunning
	}
	return info, nil
}

// Remove deletes dir's discovery file if it holds token.
func Remove(dir, token string) error {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var info Info
	if json.Unmarshal(b, &info) != nil || subtle.ConstantTimeCompare([]byte(info.Token), []byte(token)) != 1 {
		return nil // another server's file
	}
	return os.Remove(path)
}

// checkOwned refuses what another user could have written: a symlink, the
// wrong type, another owner, or (for the file) permission bits for group or
// others; for the directory, write permission for group or others.
func checkOwned(path string, dir bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link", ErrUnsafe, path)
	case dir && !fi.IsDir(), !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular %s", ErrUnsafe, path, map[bool]string{true: "directory", false: "file"}[dir])
	case !ok || int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%w: %s belongs to another user", ErrUnsafe, path)
	case dir && fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: %s is writable by others (chmod 700 it)", ErrUnsafe, path)
	case !dir && fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%w: %s is open to other users (mode %o); remove it", ErrUnsafe, path, fi.Mode().Perm())
	}
	return nil
}

func loopbackURL(u string) bool {
	for _, p := range []string{"http://127.0.0.1:", "http://[::1]:", "https://127.0.0.1:", "https://[::1]:"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// alive reports whether info's process still runs: the pid exists and
// started when the file says.
func alive(info Info) bool {
	ticks, err := startTicks(info.PID)
	return err == nil && ticks == info.StartTicks
}

// startTicks reads a process's start time (field 22 of /proc/PID/stat).
func startTicks(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted from the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("discovery: malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, errors.New("discovery: malformed stat")
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 is the 20th after ')'
}
