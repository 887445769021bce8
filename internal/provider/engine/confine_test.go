package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/inference-relay/relay/internal/engine/child/ipc"
	"github.com/inference-relay/relay/internal/gguf"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/sandbox"
)

// secret is what code in the engine child would try to read out of the
// relay (this test process).
var secret = [8]byte{'r', 'e', 'l', 'a', 'y'}

// probe runs one sandbox.Probe inside the running engine child and
// returns "ok" or the errno's name.
func probe(t *testing.T, p *Provider, kind, arg string) string {
	t.Helper()
	target := "probe:" + kind
	if arg != "" {
		target += "=" + arg
	}
	f, err := p.cur.roundTrip(context.Background(), ipc.TProbe, ipc.EncodeString(target))
	if err != nil {
		t.Fatalf("probe %s: %v", kind, err)
	}
	res, err := ipc.DecodeError(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code == ipc.CodeOK {
		return "ok"
	}
	return res.Msg
}

// TestChildCannotReachTheRelay runs, inside the engine child as the
// provider starts it (same Spec, same code), everything code there could
// try against the relay: each must be refused. The errno of each is
// logged (go test -v).
func TestChildCannotReachTheRelay(t *testing.T) {
	m := tinyModel(t, "tiny", gguf.TinyOptions{})
	p := newProvider(t, 0, m)

	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	sock := filepath.Join(t.TempDir(), "relay.sock")
	ux, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ux.Close()
	os.Chmod(sock, 0o777)
	abstract := fmt.Sprintf("engine-test-%d", os.Getpid())
	ab, err := net.Listen("unix", "@"+abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer ab.Close()

	relay := strconv.Itoa(os.Getpid())
	probes := [][2]string{
		{"tcp", tcp.Addr().String()},
		{"unix", sock},
		{"abstract", abstract},
		{"socket", "inet"}, {"socket", "inet6"}, {"socket", "netlink"}, {"socket", "packet"}, {"socket", "unix"},
		{"vm_readv", fmt.Sprintf("%s:%#x", relay, uintptr(unsafe.Pointer(&secret[0])))},
		{"ptrace_attach", relay}, {"ptrace_seize", relay},
		{"setns", relay},
		{"kill0", relay}, {"kill", relay},
		{"bpf", ""},
		{"read", "/proc/" + relay + "/environ"},
		{"read", "/proc/" + relay + "/mem"},
		{"read", "/etc/passwd"},
	}
	pid := p.Pid()
	for _, pr := range probes {
		got := probe(t, p, pr[0], pr[1])
		t.Logf("uid %d: engine child %-14s %-50s %s", os.Geteuid(), pr[0], pr[1], got)
		if got == "ok" {
			t.Errorf("the engine child succeeded at %s %s", pr[0], pr[1])
		}
	}
	if p.Pid() != pid {
		t.Fatal("the engine child was replaced during the probes")
	}

	rep, measured, ok := p.Confinement()
	if !ok {
		t.Fatal("no confinement for a running child")
	}
	if err := measured.Check(rep, true); err != nil {
		t.Fatalf("Check: %v", err)
	}
	rj, _ := json.Marshal(rep)
	mj, _ := json.Marshal(measured)
	t.Logf("uid %d: report %s\nmeasured %s", os.Geteuid(), rj, mj)
	if !rep.Filesystem || !rep.Seccomp || !rep.TCP || measured.Seccomp != 2 || measured.CapEff != 0 || measured.CapBnd != 0 || !measured.OwnNetNS || !measured.OwnUserNS {
		t.Errorf("a layer is missing on a kernel that has them all: report %s measured %s", rj, mj)
	}
}

// TestMaxTokensOutOfRange: max_tokens the engine cannot take is a 400
// that names it, before anything reaches the child; the child keeps its
// pid. A generate frame carrying such a number (sent raw, past the
// provider's check) gets an error frame, not the child's death.
func TestMaxTokensOutOfRange(t *testing.T) {
	m := tinyModel(t, "tiny", gguf.TinyOptions{})
	p := newProvider(t, 256, m)
	pid := p.Pid()
	for _, n := range []int{1 << 31, math.MaxInt32 + 1, math.MaxInt64, 257} {
		_, err := p.Stream(context.Background(), logic.Target{Model: "tiny"}, params(n, 0, 1), request("x"))
		pe := asProviderError(err)
		if pe == nil || pe.Class != logic.ErrInvalidRequest || !strings.Contains(string(pe.Detail.Bytes()), "max_tokens") {
			t.Errorf("max_tokens %d: %v", n, err)
		}
	}
	// Raw frames: max_tokens 2^31 and 2^63-1 encoded past the int32 range.
	for _, n := range []int{1 << 31, math.MaxInt64} {
		g := ipc.Generate{ModelPath: p.models["tiny"].path(), MaxTokens: n, Messages: []ipc.Message{{Role: "user", Content: []byte("x")}}}
		f, err := p.cur.roundTrip(context.Background(), ipc.TGenerate, g.Encode())
		if err == nil {
			t.Fatalf("raw max_tokens %d: answered %v", n, f.Type)
		}
		if pe := asProviderError(err); pe == nil || pe.Class != logic.ErrInvalidRequest {
			t.Fatalf("raw max_tokens %d: %v", n, err)
		}
	}
	if st, err := p.Stats(context.Background()); err != nil || p.Pid() != pid {
		t.Fatalf("after the refusals: stats %+v %v, pid %d (was %d)", st, err, p.Pid(), pid)
	}
	if out, _ := run(t, p, "tiny", params(4, 0, 1), request("still here")); out == "" {
		t.Fatal("no output after the refusals")
	}
	if p.Pid() != pid {
		t.Fatal("the child was restarted")
	}
}

// TestEngineAsUnprivilegedUser reruns the engine tests that depend on
// privileges as uid 65534, with a copy of the libraries it can read: the
// engine must start and be confined for an ordinary user.
func TestEngineAsUnprivilegedUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop to another user; as non-root the tests already run this way")
	}
	lib := libDir(t)
	dir, err := os.MkdirTemp("", "engine-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	libs := filepath.Join(dir, "libs")
	if out, err := exec.Command("cp", "-a", lib+"/.", libs).CombinedOutput(); err != nil {
		t.Fatalf("copying the libraries: %v %s", err, out)
	}
	exec.Command("chmod", "-R", "a+rX", libs).Run()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "engine.test")
	if out, err := exec.Command("cp", exe, bin).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^(TestChildCannotReachTheRelay|TestMaxTokensOutOfRange|TestGenerateThroughChild)$", "-test.v", "-test.count=1")
	cmd.Dir = home
	cmd.Env = []string{"HOME=" + home, "TMPDIR=" + home, "RELAY_LLAMA_LIBS=" + libs, "CI=1", "GORACE=atexit_sleep_ms=0"}
	cmd.SysProcAttr = unprivileged()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("as uid 65534:\n%s", out.String())
	if err != nil {
		t.Fatalf("as uid 65534: %v", err)
	}
	for _, name := range []string{"TestChildCannotReachTheRelay", "TestMaxTokensOutOfRange", "TestGenerateThroughChild"} {
		if !strings.Contains(out.String(), "--- PASS: "+name) {
			t.Errorf("%s did not pass as uid 65534", name)
		}
	}
}

func asProviderError(err error) *provider.Error { return provider.AsError(err) }

func unprivileged() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

// TestCheckConfinement: relay doctor's check starts the same child,
// confined the same way, loading nothing.
func TestCheckConfinement(t *testing.T) {
	sup := sandbox.NewSupervisor()
	defer sup.Close(0)
	rep, m, err := CheckConfinement(Config{LibDir: t.TempDir(), Supervisor: sup})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(rep, true); err != nil {
		t.Fatal(err)
	}
	if rep.SelfTest == nil || rep.SelfTest.OpenRoot == "ok" || rep.SelfTest.TCP == "ok" {
		t.Fatalf("self-test %+v", rep.SelfTest)
	}
	if len(sup.Children()) != 0 {
		t.Fatal("the check left its child running")
	}
}
