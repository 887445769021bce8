package sandbox

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Spec describes one child process. Every field is explicit: nothing is
// inherited from the relay unless it is named here.
type Spec struct {
	// Path is the absolute path of the program. There is no PATH lookup.
	Path string
	// SHA256, when set (64 hex digits), pins the program: Start hashes it
	// through an open descriptor and executes that descriptor, so what was
	// hashed is what runs. A different digest fails with ErrHashMismatch.
	// The program must then be a binary, not a "#!" script (the kernel
	// cannot hand a script's interpreter a close-on-exec descriptor).
	SHA256 string
	// Args are the arguments after argv[0] (which is Path). No shell ever
	// sees them; a caller passing untrusted values puts them after "--".
	Args []string
	// Env is exactly the child's environment, KEY=VALUE entries with
	// distinct keys. Nil means an empty environment.
	Env []string
	// Dir is the working directory. "" means a fresh private directory
	// (0700) that is removed after the child exits.
	Dir string
	// ExtraFiles become the child's descriptors 3, 4, ... (for example the
	// child end of a SocketPair).
	ExtraFiles []*os.File
	// NoNetwork runs the child in a new network namespace that has only a
	// loopback interface, down. Start fails if that cannot be done.
	NoNetwork bool
	// Stdin and Stdout connect the child's descriptors 0 and 1; nil means
	// /dev/null. An *os.File is handed to the child as is; anything else is
	// copied through a pipe.
	Stdin  io.Reader
	Stdout io.Writer
	// StderrCap is how many trailing bytes of the child's stderr are kept
	// (default 64 KiB, at most 16 MiB). Stderr is never written anywhere
	// else.
	StderrCap int
	// Filesystem, when set, confines the child: the program must call
	// Enter first thing (see the package doc). It may then read beneath
	// Read, read and execute beneath Exec, and do anything beneath Write
	// and its working directory; the program itself and regular files
	// passed in ExtraFiles stay readable. Everything else is refused, as
	// are capabilities and the syscalls the seccomp filter denies. The
	// child runs in a user namespace of its own where one can be made.
	Filesystem *FSRules
	// Name labels the child in Children: a short constant such as "engine"
	// (lowercase letters, digits, '-', '_', '.'; at most 32 bytes), never
	// user text.
	Name string
}

// FSRules lists the paths a confined child may use.
type FSRules struct {
	Read  []string
	Exec  []string
	Write []string
}

// Info describes a running child.
type Info struct {
	Name    string
	Pid     int
	Started time.Time
	// Confined reports that the child was started to confine itself
	// (Spec.Filesystem set); MeasureChild shows what holds.
	Confined bool
	// NoNetwork reports that the child really was started in its own
	// network namespace (it is false when Spec.NoNetwork was false).
	NoNetwork bool
	// UserNS reports that the child was started in its own user namespace.
	UserNS bool
}

const (
	defaultStderrCap = 64 << 10
	maxStderrCap     = 16 << 20
	maxNameLen       = 32
)

var (
	// ErrHashMismatch is returned by Start when the program's SHA-256 is
	// not Spec.SHA256.
	ErrHashMismatch = errors.New("sandbox: program does not match its pinned SHA-256")
	// ErrClosed is returned by Start after Supervisor.Close.
	ErrClosed = errors.New("sandbox: supervisor closed")
	// ErrPipesHeld is returned by Child.Wait when the child exited
	// successfully but something it started kept its output pipes open past
	// the drain deadline; the pipes were closed on it.
	ErrPipesHeld = errors.New("sandbox: child exited but its output pipes stayed open")
)

// ExitError reports a child that did not exit with status 0. The embedded
// ProcessState tells how (ExitCode is -1 for a child killed by a signal).
type ExitError struct {
	*os.ProcessState
}

func (e *ExitError) Error() string { return "sandbox: child " + e.ProcessState.String() }

// validate checks a Spec before anything is opened. Its messages name the
// field at fault and never echo a value.
func (s *Spec) validate() error {
	if !filepath.IsAbs(s.Path) {
		return errors.New("sandbox: Path must be absolute")
	}
	if strings.IndexByte(s.Path, 0) >= 0 {
		return errors.New("sandbox: Path contains NUL")
	}
	if !validName(s.Name) {
		return errors.New("sandbox: Name must be a short lowercase label")
	}
	if s.SHA256 != "" {
		if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != 32 {
			return errors.New("sandbox: SHA256 must be 64 hex digits")
		}
	}
	for i, a := range s.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("sandbox: Args[%d] contains NUL", i)
		}
	}
	seen := make(map[string]bool, len(s.Env))
	for i, kv := range s.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.IndexByte(kv, 0) >= 0 {
			return fmt.Errorf("sandbox: Env[%d] is not KEY=VALUE", i)
		}
		if k == policyEnv {
			return fmt.Errorf("sandbox: Env[%d] uses a key reserved for the sandbox", i)
		}
		if seen[k] {
			return fmt.Errorf("sandbox: Env[%d] repeats a key", i)
		}
		seen[k] = true
	}
	if s.StderrCap < 0 || s.StderrCap > maxStderrCap {
		return errors.New("sandbox: StderrCap out of range")
	}
	return nil
}

func (s *Spec) stderrCap() int {
	if s.StderrCap == 0 {
		return defaultStderrCap
	}
	return s.StderrCap
}

func validName(n string) bool {
	if n == "" || len(n) > maxNameLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}
