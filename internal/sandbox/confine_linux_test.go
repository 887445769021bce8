package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// confinedSpec is a helper confined as the engine child is: no network,
// and Landlock rules for /proc and the system libraries only.
func confinedSpec(mode string, args ...string) Spec {
	spec := helperSpec(mode, args...)
	spec.NoNetwork = true
	spec.Filesystem = &FSRules{
		Read: []string{"/proc"},
		Exec: []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache"},
	}
	return spec
}

// secret is what a confined child would try to read out of this process.
var secret = [8]byte{'s', 'e', 'c', 'r', 'e', 't'}

// doors opens, in this process (the relay, as far as the child is
// concerned), everything a child could try to reach: a loopback TCP
// listener, a pathname and an abstract unix socket. It returns the probes
// to run against them and against this process itself.
func doors(t *testing.T) []string {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "relay.sock")
	ux, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777)
	abstract := fmt.Sprintf("sandbox-test-%d", os.Getpid())
	ab, err := net.Listen("unix", "@"+abstract)
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range []net.Listener{tcp, ux, ab} {
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	relay := strconv.Itoa(os.Getpid())
	return []string{
		"tcp=" + tcp.Addr().String(),
		"unix=" + path,
		"abstract=" + abstract,
		"socket=inet", "socket=inet6", "socket=netlink", "socket=packet", "socket=unix",
		fmt.Sprintf("vm_readv=%s:%#x", relay, uintptr(unsafe.Pointer(&secret[0]))),
		"ptrace_attach=" + relay, "ptrace_seize=" + relay,
		"setns=" + relay,
		"kill0=" + relay, "kill=" + relay,
		"bpf",
		"read=/proc/" + relay + "/environ",
		"read=/proc/" + relay + "/mem",
		"read=/etc/passwd",
	}
}

// TestConfinedChildRefuses runs every probe inside a confined child,
// against this process: each must be refused. The errno of each is logged
// (go test -v shows them).
func TestConfinedChildRefuses(t *testing.T) {
	probes := doors(t)
	// Control: from here (unconfined) the doors are open.
	for _, p := range []string{probes[0], probes[1], probes[2]} {
		kind, arg, _ := strings.Cut(p, "=")
		if got := Probe(kind, arg); got != "ok" {
			t.Fatalf("control %s from the test process: %s", p, got)
		}
	}
	out, _ := run(t, newSup(t), confinedSpec("probe", probes...))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(probes) {
		t.Fatalf("probe output %q", out)
	}
	for i, line := range lines {
		kind, res, _ := strings.Cut(line, " ")
		t.Logf("uid %d: %-60s %s", os.Geteuid(), probes[i], res)
		if res == "ok" {
			t.Errorf("a confined child succeeded at %s (%s)", probes[i], kind)
		}
	}
}

// TestConfinedChildMeasured reads a confined child's state back from the
// kernel and checks it against what the child says it applied.
func TestConfinedChildMeasured(t *testing.T) {
	s := newSup(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	spec := confinedSpec("confined")
	spec.Stdin = r
	c, out := startWithPipe(t, context.Background(), s, spec)
	r.Close()
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the report: %v (stderr %q)", err, c.Stderr())
	}
	rep, err := ParseReport(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("%v: %q", err, line)
	}
	m := MeasureChild(c.Pid())
	w.Close()
	mj, _ := json.Marshal(m)
	t.Logf("uid %d: report %s\nmeasured %s", os.Geteuid(), line, mj)
	if err := m.Check(rep, true); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if !rep.Entered || !rep.Filesystem || !rep.Seccomp || !rep.BoundingSet {
		t.Errorf("report %+v: a layer is missing on a kernel that has them all", rep)
	}
	if m.Seccomp != 2 || m.SeccompFilters < 1 || m.CapBnd != 0 || !m.NoNewPrivs || !m.OwnNetNS || !m.OwnUserNS {
		t.Errorf("measured %s", mj)
	}
	if want := fmt.Sprintf("0 %d 1", os.Getuid()); m.UIDMap != want {
		t.Errorf("uid_map %q, want %q", m.UIDMap, want)
	}
	if rep.SelfTest == nil || rep.SelfTest.OpenRoot != "EACCES" || rep.SelfTest.TCP != "EPERM" {
		t.Errorf("self-test %+v", rep.SelfTest)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}

	// An unconfined child fails the check: it never entered.
	plain := helperSpec("confined")
	pr, pw, _ := os.Pipe()
	defer pw.Close()
	plain.Stdin = pr
	c2, out2 := startWithPipe(t, context.Background(), s, plain)
	pr.Close()
	line, _ = out2.ReadString('\n')
	rep2, err := ParseReport(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	if err := MeasureChild(c2.Pid()).Check(rep2, true); err == nil {
		t.Error("an unconfined child passed Check")
	}
}

// TestConfinedFromNonDumpableRelay: the relay hardens itself (non-dumpable,
// so its forks' /proc files belong to root); an ordinary user's relay must
// still start confined children in their own user namespace.
func TestConfinedFromNonDumpableRelay(t *testing.T) {
	cmd := execHelper("nondumpable-parent")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parent: %v: %s", err, stderr.String())
	}
	rep, err := ParseReport(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if !rep.Entered || !rep.Filesystem || !rep.Seccomp || !rep.BoundingSet {
		t.Fatalf("uid %d: report %+v", os.Geteuid(), rep)
	}
}

// TestEnterFailureIsReported: a step Enter cannot take ends the child with
// ExitEnterFailed and one line naming the step.
func TestEnterFailureIsReported(t *testing.T) {
	// An undecodable policy is a failure Enter meets the same way on
	// every kernel.
	cmd := exec.Command(testBin)
	cmd.Env = append(helperEnvFor("args"), policyEnv+"={")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitEnterFailed {
		t.Fatalf("run = %v, want exit %d", err, ExitEnterFailed)
	}
	step, errno, ok := EnterFailure(stderr.Bytes())
	if !ok || step != "policy" || errno != "EINVAL" {
		t.Fatalf("EnterFailure(%q) = %q %q %v", stderr.String(), step, errno, ok)
	}
}

func TestEnterFailureParsing(t *testing.T) {
	for in, want := range map[string]string{
		"sandbox: landlock: restrict_self: EPERM\n": "landlock: restrict_self|EPERM",
		"noise\nsandbox: caps: capset: EPERM":       "caps: capset|EPERM",
		"sandbox: landlock: restrict_self: eperm":   "",
		"sandbox: $(rm -rf): EPERM":                 "",
		"sandbox: EPERM":                            "",
		"":                                          "",
	} {
		step, errno, ok := EnterFailure([]byte(in))
		got := ""
		if ok {
			got = step + "|" + errno
		}
		if got != want {
			t.Errorf("EnterFailure(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConfinedAsUnprivilegedUser reruns the confinement tests as uid
// 65534: the user namespace, the id maps and every layer must work for an
// ordinary user too.
func TestConfinedAsUnprivilegedUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop to another user; as non-root the tests above already run this way")
	}
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = dirOf(d) {
		os.Chmod(d, 0o755)
	}
	bin := dir + "/helper"
	copyFile(t, testBin, bin, nil)
	cmd := exec.Command(bin, "-test.run=^(TestConfinedChildRefuses|TestConfinedChildMeasured|TestConfinedFromNonDumpableRelay|TestConfinedEnvIsSpecEnv|TestFilesystemConfined|TestNoNetwork)$", "-test.v", "-test.count=1")
	cmd.Env = []string{"TMPDIR=/tmp", "HOME=/", "GORACE=atexit_sleep_ms=0"}
	cmd.Dir = dir
	cmd.SysProcAttr = unprivileged()
	out, err := cmd.CombinedOutput()
	t.Logf("as uid 65534:\n%s", out)
	if err != nil {
		t.Fatalf("as uid 65534: %v", err)
	}
	for _, name := range []string{"TestConfinedChildRefuses", "TestConfinedChildMeasured", "TestConfinedFromNonDumpableRelay", "TestConfinedEnvIsSpecEnv"} {
		if !bytes.Contains(out, []byte("--- PASS: "+name)) {
			t.Errorf("%s did not pass as uid 65534", name)
		}
	}
}

// TestConfinedEnvIsSpecEnv: the policy travels in the environment of the
// first image only; the confined image has exactly Spec.Env.
func TestConfinedEnvIsSpecEnv(t *testing.T) {
	spec := confinedSpec("env")
	out, _ := run(t, newSup(t), spec)
	var env []string
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if strings.Join(env, "\n") != strings.Join(spec.Env, "\n") {
		t.Fatalf("environment %q, want %q", env, spec.Env)
	}
}
