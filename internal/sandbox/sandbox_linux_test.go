package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func helperSpec(mode string, args ...string) Spec {
	return Spec{Path: testBin, Args: args, Env: helperEnvFor(mode), Name: "helper"}
}

// run starts spec, waits, and returns its stdout.
func run(t *testing.T, s *Supervisor, spec Spec) (string, *Child) {
	t.Helper()
	var out bytes.Buffer
	spec.Stdout = &out
	c, err := s.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("Wait: %v (stderr %q)", err, c.Stderr())
	}
	return out.String(), c
}

func newSup(t *testing.T) *Supervisor {
	s := NewSupervisor()
	t.Cleanup(func() { s.Close(0) })
	return s
}

// alive reports whether pid is a live process; a zombie counts as dead (the
// test machine's init may not reap orphans).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	st := s[i+2]
	return st != 'Z' && st != 'X'
}

func goneWithin(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return !alive(pid)
}

// startWithPipe starts spec with stdout on a pipe and returns a reader of it.
func startWithPipe(t *testing.T, ctx context.Context, s *Supervisor, spec Spec) (*Child, *bufio.Reader) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	spec.Stdout = w
	c, err := s.Start(ctx, spec)
	w.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { c.Stop(0) })
	return c, bufio.NewReader(r)
}

func readPid(t *testing.T, r *bufio.Reader) int {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestArgsReachChildVerbatim(t *testing.T) {
	t.Parallel()
	args := []string{"a b", "$(id)", "`id`", "; rm -rf /", "|", "&&", "*", "~", "'\"", "\\", "$HOME", "", "\n", "--", "-x", "ünï"}
	out, _ := run(t, newSup(t), helperSpec("args", args...))
	var got []string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := append([]string{testBin}, args...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("argv (-want +got):\n%s", diff)
	}
}

func TestEnvIsExactlySpecEnv(t *testing.T) {
	t.Parallel()
	spec := helperSpec("env")
	spec.Env = append(spec.Env, "A=1", "EMPTY=", "SPACES=a b", "EQ=x=y")
	out, _ := run(t, newSup(t), spec)
	var got []string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec.Env, got); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	if len(os.Environ()) == 0 {
		t.Fatal("the test process has no environment, so the check above proves nothing")
	}
}

func TestPrivateDirIsRemoved(t *testing.T) {
	t.Parallel()
	out, _ := run(t, newSup(t), helperSpec("pwd"))
	var got struct {
		Dir  string `json:"dir"`
		Mode uint32 `json:"mode"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Mode != 0o700 {
		t.Errorf("working dir mode %o, want 700", got.Mode)
	}
	if wd, _ := os.Getwd(); got.Dir == wd {
		t.Error("child ran in the parent's working directory")
	}
	if _, err := os.Stat(got.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("private dir still there after Wait: %v", err)
	}
}

func TestCallerDirIsKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := helperSpec("pwd")
	spec.Dir = dir
	out, _ := run(t, newSup(t), spec)
	if !strings.Contains(out, `"dir":"`+dir+`"`) {
		t.Errorf("child cwd: %s, want %s", out, dir)
	}
	if _, err := os.Stat(dir + "/sub/f"); err != nil {
		t.Errorf("caller's dir was cleaned: %v", err)
	}
}

func TestStderrIsCappedAndDrained(t *testing.T) {
	t.Parallel()
	spec := helperSpec("stderr")
	spec.StderrCap = 4096
	// The child writes 1 MiB to stderr and exits: run returning at all
	// shows it was never blocked on a full pipe.
	_, c := run(t, newSup(t), spec)
	got := c.Stderr()
	if len(got) != 4096 {
		t.Fatalf("kept %d bytes, want 4096", len(got))
	}
	const total = 1 << 20
	for i, b := range got {
		if want := byte((total - 4096 + i) % 251); b != want {
			t.Fatalf("byte %d = %d, want %d: not the tail", i, b, want)
		}
	}
}

func TestStdinAndStdoutThroughPipes(t *testing.T) {
	t.Parallel()
	payload := strings.Repeat("0123456789", 50_000) // larger than a pipe buffer
	spec := helperSpec("cat")
	spec.Stdin = strings.NewReader(payload)
	out, _ := run(t, newSup(t), spec)
	if out != payload {
		t.Errorf("cat returned %d bytes, want %d", len(out), len(payload))
	}
}

func TestExitStatusIsReported(t *testing.T) {
	t.Parallel()
	c, err := newSup(t).Start(context.Background(), helperSpec("exit", "3"))
	if err != nil {
		t.Fatal(err)
	}
	var ee *ExitError
	if err := c.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
}

func TestStopKillsWholeGroup(t *testing.T) {
	t.Parallel()
	s := newSup(t)
	c, r := startWithPipe(t, context.Background(), s, helperSpec("spawn"))
	grand := readPid(t, r)
	if !alive(grand) || !alive(c.Pid()) {
		t.Fatal("child or grandchild not running before Stop")
	}
	if got := s.Children(); len(got) != 1 || got[0].Pid != c.Pid() || got[0].Name != "helper" {
		t.Errorf("Children = %+v", got)
	}
	if err := c.Stop(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !goneWithin(c.Pid(), time.Second) || !goneWithin(grand, time.Second) {
		t.Fatalf("after Stop: child alive %v, grandchild alive %v", alive(c.Pid()), alive(grand))
	}
	if got := s.Children(); len(got) != 0 {
		t.Errorf("Children after Stop = %+v", got)
	}
	var ee *ExitError
	if err := c.Wait(); !errors.As(err, &ee) {
		t.Errorf("Wait after Stop = %v, want an ExitError", err)
	}
}

func TestGroupIsKilledWhenChildExits(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	spec := helperSpec("spawn-exit")
	spec.Stdout = &out
	c, err := newSup(t).Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	grand, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !goneWithin(grand, 2*time.Second) {
		t.Error("grandchild outlived its exited parent")
	}
}

func TestStopWaitsGraceThenKills(t *testing.T) {
	t.Parallel()
	c, r := startWithPipe(t, context.Background(), newSup(t), helperSpec("term-ignore"))
	if line, _ := r.ReadString('\n'); line != "ready\n" {
		t.Fatalf("child said %q", line)
	}
	const grace = 300 * time.Millisecond
	start := time.Now()
	if err := c.Stop(grace); err != nil {
		t.Fatal(err)
	}
	// A lower bound is no race: Stop may not kill before the grace ends.
	if d := time.Since(start); d < grace {
		t.Errorf("Stop returned after %v, before the %v grace", d, grace)
	}
	if alive(c.Pid()) {
		t.Error("child alive after Stop")
	}
	// The child ignored SIGTERM, so what ended it was the SIGKILL.
	var ee *ExitError
	if err := c.Wait(); !errors.As(err, &ee) {
		t.Fatalf("Wait = %v, want an ExitError", err)
	} else if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended by %v, want SIGKILL", ee)
	}
}

func TestContextCancelStopsChild(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := newSup(t).Start(ctx, helperSpec("sleep"))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Wait = nil for a cancelled child")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("child still running 5s after cancel")
	}
	if alive(c.Pid()) {
		t.Error("child alive after cancel")
	}
}

func TestCancelledContextStartsNothing(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newSup(t).Start(ctx, helperSpec("sleep")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start = %v, want context.Canceled", err)
	}
}

func TestParentDeathKillsChild(t *testing.T) {
	t.Parallel()
	// The intermediate is a plain test-side process: its death is what we
	// are testing, so it must not be a sandbox child itself.
	cmd := execHelper("parent")
	// The killed intermediate cannot remove its child's private dir; keep
	// it where the test cleans up.
	cmd.Env = append(cmd.Env, "TMPDIR="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	grand := readPid(t, bufio.NewReader(stdout))
	if !alive(grand) {
		t.Fatal("grandchild not running")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !goneWithin(grand, 2*time.Second) {
		t.Fatal("child outlived its SIGKILLed parent by 2s")
	}
}

func TestSpawnerThreadOutlivesCallerThread(t *testing.T) {
	t.Parallel()
	// Start from a goroutine locked to a thread that then exits. Were the
	// fork done on the caller's thread, Pdeathsig would kill the child as
	// soon as that thread is gone.
	s := newSup(t)
	res := make(chan *Child, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		c, err := s.Start(context.Background(), helperSpec("sleep"))
		if err != nil {
			t.Error(err)
		}
		res <- c
	}()
	c := <-res
	if c == nil {
		return
	}
	time.Sleep(300 * time.Millisecond)
	if !alive(c.Pid()) {
		t.Fatal("child died with the caller's thread")
	}
	c.Stop(0)
}

func TestNoNetwork(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	s := newSup(t)

	open, _ := run(t, s, helperSpec("dial", ln.Addr().String()))
	if open != "ok\n" {
		t.Fatalf("without NoNetwork the child could not connect: %q", open)
	}

	spec := helperSpec("dial", ln.Addr().String())
	spec.NoNetwork = true
	closed, c := run(t, s, spec)
	if closed != "fail\n" {
		t.Errorf("with NoNetwork the child connected: %q", closed)
	}
	if !c.Info().NoNetwork {
		t.Error("Info.NoNetwork = false for a NoNetwork child")
	}

	spec = helperSpec("ifaces")
	spec.NoNetwork = true
	out, _ := run(t, s, spec)
	var ifs map[string]bool
	if err := json.Unmarshal([]byte(out), &ifs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"lo": false}, ifs); diff != "" {
		t.Errorf("interfaces inside the namespace (name: up) (-want +got):\n%s", diff)
	}
}

func TestNoNetworkUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop to another user; as non-root TestNoNetwork already takes this path")
	}
	// Copy the test binary where an unprivileged user can run it, before
	// going parallel: a fork by another test while the copy is open for
	// writing would make exec fail with ETXTBSY.
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = dirOf(d) {
		os.Chmod(d, 0o755)
	}
	bin := dir + "/helper"
	copyFile(t, testBin, bin, nil)
	t.Parallel()
	cmd := execHelper("netns-parent")
	cmd.Path = bin
	cmd.Env = append(cmd.Env, "TMPDIR=/tmp")
	cmd.SysProcAttr = unprivileged()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("unprivileged parent: %v: %s", err, stderr.String())
	}
	var ifs map[string]bool
	if err := json.Unmarshal(out, &ifs); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if diff := cmp.Diff(map[string]bool{"lo": false}, ifs); diff != "" {
		t.Errorf("interfaces (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr.String(), "uid=65534 nonetwork=true") {
		t.Errorf("parent report: %q", stderr.String())
	}
}

func TestPinnedBinaryRuns(t *testing.T) {
	t.Parallel()
	sum, f, err := HashFile(testBin)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	spec := helperSpec("selfhash")
	spec.SHA256 = strings.ToUpper(sum)
	out, _ := run(t, newSup(t), spec)
	if strings.TrimSpace(out) != sum {
		t.Errorf("child runs %s, want %s", out, sum)
	}
}

func TestPinnedMismatchIsRefused(t *testing.T) {
	t.Parallel()
	s := newSup(t)
	spec := helperSpec("sleep")
	spec.SHA256 = strings.Repeat("ab", 32)
	if _, err := s.Start(context.Background(), spec); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("Start = %v, want ErrHashMismatch", err)
	}
	if got := s.Children(); len(got) != 0 {
		t.Errorf("a child was started: %+v", got)
	}
}

// TestPinnedSwapAfterHash renames another binary over the path in the
// window between Start's hash and its exec: the original must still run.
//
// Not parallel: it sets a package hook, and its copies must not be open for
// writing while another test forks (exec would fail with ETXTBSY).
func TestPinnedSwapAfterHash(t *testing.T) {
	dir := t.TempDir()
	prog, other := dir+"/prog", dir+"/other"
	copyFile(t, testBin, prog, nil)
	copyFile(t, testBin, other, []byte("swapped")) // same code, other bytes
	sum, f, err := HashFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	otherSum, f, err := HashFile(other)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if otherSum == sum {
		t.Fatal("swap binary hashes the same")
	}

	swapped := false
	afterHash = func() {
		if err := os.Rename(other, prog); err != nil {
			t.Error(err)
		}
		swapped = true
	}
	t.Cleanup(func() { afterHash = nil })

	spec := helperSpec("selfhash")
	spec.Path, spec.SHA256 = prog, sum
	out, _ := run(t, newSup(t), spec)
	if !swapped {
		t.Fatal("the swap hook did not run")
	}
	if got := strings.TrimSpace(out); got != sum {
		t.Errorf("child ran %s (swapped-in is %s), want the hashed %s", got, otherSum, sum)
	}
	if now, f, _ := HashFile(prog); now != otherSum {
		t.Error("the path does not hold the swapped binary; the test proved nothing")
	} else {
		f.Close()
	}
}

func TestHashThenRenameIsRefused(t *testing.T) {
	dir := t.TempDir()
	prog, other := dir+"/prog", dir+"/other"
	copyFile(t, testBin, prog, nil) // before t.Parallel: see TestNoNetworkUnprivileged
	copyFile(t, testBin, other, []byte("swapped"))
	t.Parallel()
	sum, f, err := HashFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Rename(other, prog); err != nil {
		t.Fatal(err)
	}
	spec := helperSpec("sleep")
	spec.Path, spec.SHA256 = prog, sum
	if _, err := newSup(t).Start(context.Background(), spec); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("Start = %v, want ErrHashMismatch", err)
	}
}

// TestPinnedWithExtraFiles checks the descriptor layout the child sees:
// exactly the extra files at 3.., and neither the pinned program's
// descriptor nor anything else of the parent's.
func TestPinnedWithExtraFiles(t *testing.T) {
	t.Parallel()
	sum, f, err := HashFile(testBin)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Leave holes below the extra files, so that descriptors opened during
	// Start (stdio, the runtime's exec-status pipe) get low numbers and the
	// runtime has to shuffle them upwards in the child: the range a badly
	// placed pinned descriptor would be overwritten in.
	var holes []*os.File
	for i := 0; i < 16; i++ {
		h, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		holes = append(holes, h)
	}
	var extra []*os.File
	for i := 0; i < 5; i++ {
		p, c, err := SocketPair()
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		defer c.Close()
		extra = append(extra, c)
	}
	for _, h := range holes {
		h.Close()
	}
	spec := helperSpec("fds")
	spec.SHA256 = sum
	spec.ExtraFiles = extra
	out, _ := run(t, newSup(t), spec)
	want := `[{"fd":3,"type":"socket"},{"fd":4,"type":"socket"},{"fd":5,"type":"socket"},{"fd":6,"type":"socket"},{"fd":7,"type":"socket"}]`
	if strings.TrimSpace(out) != want {
		t.Errorf("child descriptors:\n got %s\nwant %s", out, want)
	}
}

func TestSocketPair(t *testing.T) {
	t.Parallel()
	parent, child, err := SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	for _, f := range []*os.File{parent, child} {
		if !cloexec(t, f) {
			t.Errorf("%s end is not close-on-exec", f.Name())
		}
	}
	spec := helperSpec("echo3")
	spec.ExtraFiles = []*os.File{child}
	c, err := newSup(t).Start(context.Background(), spec)
	child.Close()
	if err != nil {
		t.Fatal(err)
	}
	parent.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := parent.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(parent)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "got:hello\n" {
		t.Errorf("child answered %q", got)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestHardenChild(t *testing.T) {
	t.Parallel()
	c, r := startWithPipe(t, context.Background(), newSup(t), helperSpec("harden", "hold"))
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("%v (stderr %q)", err, c.Stderr())
	}
	if line != "dumpable=0 nnp=1 core=0/0\n" {
		t.Errorf("child reports %q", line)
	}
	// Read back from the kernel too, from outside.
	status, err := os.ReadFile("/proc/" + strconv.Itoa(c.Pid()) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "NoNewPrivs:\t1") {
		t.Error("/proc/<pid>/status does not show NoNewPrivs")
	}
	limits, err := os.ReadFile("/proc/" + strconv.Itoa(c.Pid()) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	if !containsFields(string(limits), "Max core file size", "0", "0") {
		t.Errorf("core limit not 0 in /proc/<pid>/limits:\n%s", limits)
	}
}

func TestCloseStopsChildrenAndRefusesStarts(t *testing.T) {
	t.Parallel()
	s := NewSupervisor()
	a, err := s.Start(context.Background(), helperSpec("sleep"))
	if err != nil {
		t.Fatal(err)
	}
	spec := helperSpec("sleep")
	spec.Name = "engine"
	b, err := s.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Children()
	if len(got) != 2 || got[0].Pid != a.Pid() || got[1].Pid != b.Pid() || got[1].Name != "engine" || got[1].Started.IsZero() {
		t.Errorf("Children = %+v", got)
	}
	s.Close(time.Second)
	if alive(a.Pid()) || alive(b.Pid()) {
		t.Error("a child survived Close")
	}
	if _, err := s.Start(context.Background(), helperSpec("sleep")); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
}

// StopAll stops the children all at once: each gets its SIGTERM before any
// grace has run out. The grace here is an hour, so a StopAll that waited
// out one child's grace before signalling the next would leave the test
// waiting for the second SIGTERM; the hang guard is the only clock.
func TestStopAll(t *testing.T) {
	t.Parallel()
	s := newSup(t)
	var cs []*Child
	terms := make(chan int, 8)
	for i := 0; i < 3; i++ {
		c, r := startWithPipe(t, context.Background(), s, helperSpec("term-report"))
		if line, _ := r.ReadString('\n'); line != "ready\n" {
			t.Fatalf("child said %q", line)
		}
		cs = append(cs, c)
		go func() {
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if line == "term\n" {
					terms <- c.Pid()
				}
			}
		}()
	}
	stopped := make(chan struct{})
	go func() {
		s.StopAll(time.Hour)
		close(stopped)
	}()
	got := map[int]bool{}
	guard := time.After(time.Minute) // a hang guard, not a timing
	for len(got) < len(cs) {
		select {
		case pid := <-terms:
			got[pid] = true
		case <-guard:
			for _, c := range cs {
				_ = c.Stop(0)
			}
			t.Fatalf("only %d of %d children got SIGTERM while the first one's grace ran: StopAll stops them one after another", len(got), len(cs))
		}
	}
	// Every child has its SIGTERM and is still within its grace: end the
	// graces now.
	for _, c := range cs {
		if err := c.Stop(0); err != nil {
			t.Fatal(err)
		}
	}
	<-stopped
	for _, c := range cs {
		if alive(c.Pid()) {
			t.Errorf("child %d alive after StopAll", c.Pid())
		}
	}
}

func TestStartErrorsNameNoValues(t *testing.T) {
	t.Parallel()
	s := newSup(t)
	spec := helperSpec("exit", "0")
	spec.Path = "/nonexistent/secret-looking-name"
	_, err := s.Start(context.Background(), spec)
	if err == nil {
		t.Fatal("Start of a missing program succeeded")
	}
	spec = helperSpec("exit", "0")
	spec.Env = append(spec.Env, "TOKEN=hunter2", "TOKEN=hunter3")
	_, err = s.Start(context.Background(), spec)
	if err == nil || strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "TOKEN") {
		t.Errorf("duplicate env: %v", err)
	}
}

// TestInheritedDescriptorsDoNotLeak plants a descriptor without
// close-on-exec in the test process, as a careless launcher of the relay
// would, and checks the child does not get it.
func TestInheritedDescriptorsDoNotLeak(t *testing.T) {
	t.Parallel()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	if f.Fd() >= 64 {
		t.Skip("planted descriptor is beyond what the helper scans")
	}
	out, _ := run(t, newSup(t), helperSpec("fds"))
	if got := strings.TrimSpace(out); got != "null" {
		t.Errorf("child holds descriptors it was not given: %s", got)
	}
}

func TestHashFileDoesNotBlockOnFIFO(t *testing.T) {
	t.Parallel()
	p := t.TempDir() + "/fifo"
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := HashFile(p)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("HashFile of a FIFO succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("HashFile blocked on a FIFO")
	}
}

// TestNoNetworkRootWithoutSysAdmin covers root in a container: creating a
// network namespace directly is refused, and Start goes through a user
// namespace instead.
func TestNoNetworkRootWithoutSysAdmin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	t.Parallel()
	cmd := execHelper("nocap-parent")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 4 {
		t.Skipf("cannot drop CAP_SYS_ADMIN here: %s", stderr.String())
	}
	if err != nil {
		t.Fatalf("parent: %v: %s", err, stderr.String())
	}
	var ifs map[string]bool
	if err := json.Unmarshal(out, &ifs); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if diff := cmp.Diff(map[string]bool{"lo": false}, ifs); diff != "" {
		t.Errorf("interfaces (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr.String(), "uid=0 nonetwork=true") {
		t.Errorf("parent report: %q", stderr.String())
	}
}

// TestNoNetworkFailsClosed: where no network namespace can be made, Start
// fails rather than run the child with the network.
func TestNoNetworkFailsClosed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	t.Parallel()
	cmd := execHelper("nons-parent")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("parent = %v, want a failed Start (stdout %q)", err, out)
	}
	if ee.ExitCode() == 4 {
		t.Skipf("cannot set up the condition: %s", stderr.String())
	}
	if len(out) != 0 {
		t.Errorf("the child ran: %q", out)
	}
	if !strings.Contains(stderr.String(), "cannot create the network namespace") {
		t.Errorf("Start error: %q", stderr.String())
	}
}

// TestFilesystemConfined: a child started with Filesystem rules can read
// what they allow and an inherited file, and nothing else — while the
// relay's own threads keep their access.
func TestFilesystemConfined(t *testing.T) {
	s := newSup(t)
	allowed, other := t.TempDir(), t.TempDir()
	for _, d := range []string{allowed, other} {
		if err := os.WriteFile(filepath.Join(d, "f"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(other, "inherited"), []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	inherited, err := os.Open(filepath.Join(other, "inherited"))
	if err != nil {
		t.Fatal(err)
	}
	defer inherited.Close()
	spec := helperSpec("read", filepath.Join(allowed, "f"), filepath.Join(other, "f"), "/etc/passwd", "/proc/self/fd/3")
	spec.ExtraFiles = []*os.File{inherited}
	spec.Filesystem = &FSRules{
		Read: []string{allowed, "/proc"},
		Exec: []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache"},
	}
	out, c := run(t, s, spec)
	if got, want := strings.Fields(out), []string{"ok", "denied", "denied", "ok"}; !slices.Equal(got, want) {
		t.Fatalf("confined child read %v, want %v (allowed, other, /etc/passwd, inherited fd)", got, want)
	}
	if !c.Info().Confined {
		t.Error("Info does not report the confinement")
	}
	// The confinement bound only the child's thread: this process still reads.
	if _, err := os.ReadFile(filepath.Join(other, "f")); err != nil {
		t.Fatalf("the relay lost access itself: %v", err)
	}
	// And a child without rules reads everything, from the shared spawner.
	spec.Filesystem = nil
	out, _ = run(t, s, spec)
	if got := strings.Fields(out); !slices.Equal(got, []string{"ok", "ok", "ok", "ok"}) {
		t.Fatalf("unconfined child read %v", got)
	}
}
