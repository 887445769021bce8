package memlock

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runChild re-executes the test binary in mode with extra environment and
// decodes the first JSON line it prints.
func runChild(t *testing.T, mode string, env ...string) (childResult, []byte, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + mode}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res childResult
	line, _, _ := bytes.Cut(stdout.Bytes(), []byte("\n"))
	if err := json.Unmarshal(line, &res); err != nil {
		t.Fatalf("child %s printed no result (%v): stdout %q stderr %q", mode, runErr, stdout.String(), tail(stderr.Bytes()))
	}
	if res.Skip != "" {
		t.Skipf("child %s: %s", mode, res.Skip)
	}
	return res, stderr.Bytes(), runErr
}

func head(b []byte) string {
	if len(b) > 2000 {
		b = b[:2000]
	}
	return string(b)
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// canDropPrivileges: the no-capability cases need either root (to become
// nobody) or an unprivileged process that already lacks CAP_IPC_LOCK.
func canDropPrivileges(t *testing.T) {
	t.Helper()
	if os.Getuid() == 0 {
		return
	}
	if ok, _ := hasCapIPCLock(); ok {
		t.Skip("unprivileged but holding CAP_IPC_LOCK: cannot test the limited case")
	}
}

func TestHardenAppliesAndReadsBack(t *testing.T) {
	res, _, err := runChild(t, "harden", allocEnv+"=128")
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
	d := res.Report["dumpable"]
	if !d.Applied || d.ReadBack != "dumpable=0" || res.Dumpable != 0 {
		t.Errorf("dumpable: %+v, independent read %d", d, res.Dumpable)
	}
	c := res.Report["core"]
	if !c.Applied || c.ReadBack != "core soft=0 hard=0" || res.CoreSoft != 0 || res.CoreHard != 0 {
		t.Errorf("core: %+v, independent read %d/%d", c, res.CoreSoft, res.CoreHard)
	}
	m := res.Report["mlockall"]
	// Whatever was decided, the report must agree with the kernel.
	if m.Applied != (res.LockedKB > 0) {
		t.Errorf("mlockall: report %+v but VmLck %d kB", m, res.LockedKB)
	}
	if !m.Applied && m.Err == "" {
		t.Errorf("mlockall not applied and no reason given: %+v", m)
	}
	if !res.AllocOK {
		t.Errorf("allocation after Harden failed")
	}
	t.Logf("mlockall here: applied=%v err=%q read_back=%q rss=%d kB", m.Applied, m.Err, m.ReadBack, res.RSSKB)
}

// The case the threshold exists for: a finite RLIMIT_MEMLOCK and no
// CAP_IPC_LOCK. Harden must leave memory unlocked, say why, and the process
// must go on allocating freely.
func TestHardenRefusesMlockallUnderFiniteLimit(t *testing.T) {
	canDropPrivileges(t)
	res, stderr, err := runChild(t, "harden", limitEnv+"=finite", dropEnv+"=1", allocEnv+"=128")
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, tail(stderr))
	}
	m := res.Report["mlockall"]
	want := ErrLimitTooSmall
	if sanitizerBuild {
		want = ErrSanitizer
	}
	if m.Applied || m.Err != want.Error() || res.LockedKB != 0 {
		t.Errorf("mlockall: %+v, VmLck %d kB; want refused with %v", m, res.LockedKB, want)
	}
	if !strings.Contains(m.ReadBack, "memlock soft=") {
		t.Errorf("read-back lacks the limit: %q", m.ReadBack)
	}
	if !res.Report["dumpable"].Applied || !res.Report["core"].Applied {
		t.Errorf("other protections must still apply unprivileged: %+v", res.Report)
	}
	if !res.AllocOK {
		t.Error("allocation after Harden failed")
	}
}

// Shows what the threshold prevents: with MCL_FUTURE under a finite limit,
// the kernel accepts the call, and the heap growth that crosses the limit
// kills the process (the Go runtime cannot recover from a refused mmap).
func TestForcedMlockallUnderFiniteLimitIsFatal(t *testing.T) {
	if sanitizerBuild {
		t.Skip("the race runtime reports a refused shadow mapping in its own words")
	}
	canDropPrivileges(t)
	res, stderr, err := runChild(t, "force", limitEnv+"=finite", dropEnv+"=1", allocEnv+"=128")
	if res.ForcedLock != "ok" {
		t.Skipf("mlockall refused outright here (%s); nothing to demonstrate", res.ForcedLock)
	}
	if err == nil {
		t.Fatal("the child survived allocating past RLIMIT_MEMLOCK under MCL_FUTURE; the threshold's premise is wrong here")
	}
	// Either "runtime: mmap(…) returned 0x0, 11" (EAGAIN) then "fatal
	// error: runtime: cannot map pages in arena address space", or "fatal
	// error: out of memory", depending on which mapping hits the limit.
	if !bytes.Contains(stderr, []byte("fatal error")) {
		t.Fatalf("child died (%v) but not of a runtime fatal error:\n%s", err, head(stderr))
	}
}

// An arena under a zero limit without CAP_IPC_LOCK: mlock is refused, the
// arena works and reports it unlocked; the madvise protections still hold.
func TestArenaUnlockedUnderZeroLimit(t *testing.T) {
	canDropPrivileges(t)
	res, stderr, err := runChild(t, "arena", limitEnv+"=0", dropEnv+"=1")
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, tail(stderr))
	}
	s := res.Arena
	if s == nil || s.Locked || res.ArenaErrs[0] == "" {
		t.Fatalf("arena under a zero limit: %+v errs %q; want unlocked with a reason", s, res.ArenaErrs)
	}
	if !s.DontDump || !s.WipeOnFork || !s.Guarded {
		t.Errorf("madvise/guard protections must not depend on mlock: %+v", s)
	}
	if strings.Contains(strings.Join(res.ArenaErrs[:], " "), "/") {
		t.Errorf("arena errors carry a path: %q", res.ArenaErrs)
	}
}

func TestParseVmLck(t *testing.T) {
	n, err := parseVmLck([]byte("Name:\trelay\nVmLck:\t     128 kB\nVmPin:\t0 kB\n"))
	if err != nil || n != 128*1024 {
		t.Fatalf("parseVmLck = %d, %v; want 131072", n, err)
	}
	for _, bad := range []string{"", "VmLck:\tlots kB\n", "VmLck:\t12 MB\n"} {
		if _, err := parseVmLck([]byte(bad)); err == nil {
			t.Errorf("parseVmLck(%q) accepted", bad)
		}
	}
}
