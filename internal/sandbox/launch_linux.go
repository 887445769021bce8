package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// launch holds what one Start opens, so that every exit path closes it.
type launch struct {
	spec *Spec

	childSide []*os.File // the child's ends: closed in the parent after the start
	exe       *os.File   // the hashed program, kept open until execve is done
	pinnedFD  int        // close-on-exec duplicate of exe the child executes, or -1

	stdinW  *os.File // parent's write end of the stdin pipe, if one was needed
	stdoutR *os.File // parent's read end of the stdout pipe, if one was needed
	stderrR *os.File // parent's read end of the stderr pipe (always)
	tmpDir  string   // private working directory created for this child
	syncW   *os.File // parent's end of the pipe Enter waits on, if any
}

func (l *launch) run(ctx context.Context, s *Supervisor) (*Child, error) {
	l.pinnedFD = -1
	if l.spec.SHA256 != "" {
		sum, f, err := HashFile(l.spec.Path)
		if err != nil {
			return nil, err
		}
		l.exe = f
		if !strings.EqualFold(sum, l.spec.SHA256) {
			return nil, ErrHashMismatch
		}
		if afterHash != nil {
			afterHash()
		}
	}

	stdin, err := l.stdinFile()
	if err != nil {
		return nil, err
	}
	stdout, err := l.stdoutFile()
	if err != nil {
		return nil, err
	}
	r, stderr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	l.stderrR = r
	l.childSide = append(l.childSide, stderr)
	files := append([]*os.File{stdin, stdout, stderr}, l.spec.ExtraFiles...)
	syncFD := -1
	if l.spec.Filesystem != nil {
		// Enter waits on this pipe until the id maps are written.
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		l.childSide = append(l.childSide, r)
		l.syncW = w
		syncFD = len(files)
		files = append(files, r)
	}

	dir := l.spec.Dir
	if dir == "" {
		if l.tmpDir, err = os.MkdirTemp("", "sandbox-"); err != nil {
			return nil, err
		}
		dir = l.tmpDir
	}

	path := l.spec.Path
	if l.exe != nil {
		if l.pinnedFD, err = pinnedFD(l.exe, files); err != nil {
			return nil, err
		}
		path = "/proc/self/fd/" + strconv.Itoa(l.pinnedFD)
	}

	env := slices.Clone(l.spec.Env)
	if env == nil {
		env = []string{} // nil would mean "inherit the relay's environment"
	}
	if fs := l.spec.Filesystem; fs != nil {
		pol := policy{Read: fs.Read, Exec: fs.Exec, Write: fs.Write, NoNetwork: l.spec.NoNetwork, SyncFD: syncFD}
		for i, f := range files {
			if i == syncFD {
				continue
			}
			var st unix.Stat_t
			if f != nil && unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
				pol.Files = append(pol.Files, i)
			}
		}
		enc, err := pol.encode()
		if err != nil {
			return nil, err
		}
		env = append(env, policyEnv+"="+enc)
	}
	argv := append([]string{l.spec.Path}, l.spec.Args...)
	// Every child is forked from the Supervisor's spawner thread, which is
	// never confined: the confinement is the child's own doing (Enter), so
	// no thread of the relay is ever inside a child's Landlock domain, and
	// the user namespace's id maps are written by an unconfined thread.
	netNS := l.spec.NoNetwork
	userNS := netNS || l.spec.Filesystem != nil
	attr := &os.ProcAttr{Dir: dir, Env: env, Files: files, Sys: attrs(netNS, userNS)}
	proc, err := s.spawn(ctx, path, argv, attr)
	if err != nil && userNS && (!netNS || os.Geteuid() == 0) && nsRefused(err) {
		// No user namespace here (a kernel or container that forbids
		// them). Root can still make the network namespace directly; a
		// child that asked only for Filesystem runs without namespaces and
		// Enter confines it all the same.
		userNS = false
		attr.Sys = attrs(netNS, false)
		proc, err = s.spawn(ctx, path, argv, attr)
	}
	if err != nil {
		if netNS && nsRefused(err) {
			return nil, fmt.Errorf("%w: %w", errNoNamespace, err)
		}
		return nil, err
	}
	if userNS {
		if err := writeIDMaps(proc.Pid); err != nil {
			_ = proc.Kill()
			_, _ = proc.Wait()
			return nil, err
		}
	}
	if l.syncW != nil {
		// The child is mapped (or has no user namespace): Enter may go on.
		_, err := l.syncW.Write([]byte{1})
		l.syncW.Close()
		l.syncW = nil
		if err != nil {
			_ = proc.Kill()
			_, _ = proc.Wait()
			return nil, fmt.Errorf("releasing the child: %w", err)
		}
	}
	done := make(chan struct{})

	c := &Child{
		sup:    s,
		proc:   proc,
		info:   Info{Name: l.spec.Name, Pid: proc.Pid, Started: time.Now(), NoNetwork: netNS, UserNS: userNS, Confined: l.spec.Filesystem != nil},
		stderr: newRing(l.spec.stderrCap()),
		done:   done,
		dir:    l.tmpDir,
		stdin:  l.stdinW,
	}
	if l.stdinW != nil {
		go c.feed(l.spec.Stdin, l.stdinW)
	}
	c.outs = append(c.outs, l.stderrR)
	c.copying.Add(1)
	go c.copyOut(c.stderr, l.stderrR, nil)
	if l.stdoutR != nil {
		c.outs = append(c.outs, l.stdoutR)
		c.copying.Add(1)
		go c.copyOut(l.spec.Stdout, l.stdoutR, &c.stdoutErr)
	}
	go c.watch()
	l.stdinW, l.stdoutR, l.stderrR, l.tmpDir = nil, nil, nil, "" // the Child owns them now
	return c, nil
}

// writeIDMaps maps uid and gid 0 in the child's new user namespace to the
// relay's own ids (nothing else) and denies setgroups. It runs after the
// child's execve, not between fork and exec as SysProcAttr.UidMappings
// would: a relay that made itself non-dumpable (as relay serve does) forks
// non-dumpable children whose /proc files belong to root, so an ordinary
// user could not write their maps then; after execve the child is an
// ordinary process of the relay's user, which may. A child that must not
// run unmapped (a confined one) waits in Enter until the maps are written.
func writeIDMaps(pid int) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	for _, m := range []struct{ file, data string }{
		{"setgroups", "deny"},
		{"gid_map", "0 " + strconv.Itoa(os.Getgid()) + " 1\n"},
		{"uid_map", "0 " + strconv.Itoa(os.Getuid()) + " 1\n"},
	} {
		f, err := os.OpenFile(dir+m.file, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.Write([]byte(m.data))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("user namespace: writing %s: %w", m.file, errnoOf(err))
		}
	}
	return nil
}

func errnoOf(err error) error {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return err
}

// nsRefused reports an error clone gives when a namespace cannot be made.
func nsRefused(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EACCES)
}

// stdinFile returns what becomes the child's descriptor 0.
func (l *launch) stdinFile() (*os.File, error) {
	switch in := l.spec.Stdin.(type) {
	case *os.File:
		if in != nil {
			return in, nil
		}
	case nil:
	default:
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		l.childSide = append(l.childSide, r)
		l.stdinW = w
		return r, nil
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	l.childSide = append(l.childSide, f)
	return f, nil
}

// stdoutFile returns what becomes the child's descriptor 1.
func (l *launch) stdoutFile() (*os.File, error) {
	switch out := l.spec.Stdout.(type) {
	case *os.File:
		if out != nil {
			return out, nil
		}
	case nil:
	default:
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		l.childSide = append(l.childSide, w)
		l.stdoutR = r
		return w, nil
	}
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	l.childSide = append(l.childSide, f)
	return f, nil
}

// pinnedFD duplicates the hashed program onto a close-on-exec descriptor
// the child can execute as /proc/self/fd/N. Close-on-exec matters: the
// kernel opens the path before it closes such descriptors, so the exec
// works and the running child is not left holding its own binary.
//
// The number is chosen high on purpose. Between fork and exec the child
// moves files[i] onto descriptor i; to make room, the runtime first
// duplicates some descriptors to numbers just above the largest of files
// (at most len(files)+1 of them, syscall/exec_linux.go). A descriptor in
// that range would be overwritten in the child and the exec would run
// whatever replaced it; above it, nothing touches ours.
func pinnedFD(exe *os.File, files []*os.File) (int, error) {
	top := len(files)
	for _, f := range files {
		if f != nil && int(f.Fd()) > top {
			top = int(f.Fd())
		}
	}
	fd, err := unix.FcntlInt(exe.Fd(), unix.F_DUPFD_CLOEXEC, top+len(files)+8)
	if err != nil {
		return -1, fmt.Errorf("dup pinned program: %w", err)
	}
	return fd, nil
}

// closeChildSide closes, in the parent, everything that only the child
// needed. It runs on every path out of Start.
func (l *launch) closeChildSide() {
	for _, f := range l.childSide {
		f.Close()
	}
	if l.pinnedFD >= 0 {
		unix.Close(l.pinnedFD)
	}
	if l.exe != nil {
		l.exe.Close()
	}
}

// abort releases what the parent kept when Start fails.
func (l *launch) abort() {
	for _, f := range []*os.File{l.stdinW, l.stdoutR, l.stderrR, l.syncW} {
		if f != nil {
			f.Close()
		}
	}
	if l.tmpDir != "" {
		os.RemoveAll(l.tmpDir)
	}
}
