package sandbox

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// execHelper builds a plain (unsandboxed) command running the test binary
// in a helper mode; for intermediates whose own fate is under test.
func execHelper(mode string) *exec.Cmd {
	cmd := exec.Command(testBin)
	cmd.Env = helperEnvFor(mode)
	return cmd
}

func unprivileged() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

func dirOf(p string) string { return filepath.Dir(p) }

// copyFile copies src to dst (mode 0755), appending trailer.
func copyFile(t *testing.T, src, dst string, trailer []byte) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Write(trailer); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func cloexec(t *testing.T, f *os.File) bool {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFD, 0) })
	if ferr != nil {
		t.Fatal(ferr)
	}
	return flags&unix.FD_CLOEXEC != 0
}

// containsFields reports whether some line of s starts with name and has
// the given whitespace-separated fields right after it.
func containsFields(s, name string, fields ...string) bool {
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		got := strings.Fields(rest)
		if len(got) < len(fields) {
			return false
		}
		for i, f := range fields {
			if got[i] != f {
				return false
			}
		}
		return true
	}
	return false
}
