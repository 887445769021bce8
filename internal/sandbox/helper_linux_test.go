package sandbox

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as every child the tests start: with
// SANDBOX_HELPER=<mode> in its environment it runs helper(mode) instead of
// the tests. No separate build step, no shell.
const helperEnv = "SANDBOX_HELPER"

var testBin string

// helperEnvFor is the whole environment of a helper child. GORACE keeps a
// race-enabled helper from sleeping a second at exit.
func helperEnvFor(mode string) []string {
	return []string{helperEnv + "=" + mode, "GORACE=atexit_sleep_ms=0"}
}

func TestMain(m *testing.M) {
	Enter() // a confined helper confines itself here, before anything else
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	var err error
	if testBin, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func helper(mode string, args []string) int {
	switch mode {
	case "fds":
		// First, before anything opens a descriptor: which of 3..63 are open?
		type fdInfo struct {
			FD   int    `json:"fd"`
			Type string `json:"type"`
		}
		var open []fdInfo
		for fd := 3; fd < 64; fd++ {
			var st unix.Stat_t
			if unix.Fstat(fd, &st) != nil {
				continue
			}
			kind := "other"
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFSOCK:
				kind = "socket"
			case unix.S_IFREG:
				kind = "file"
			case unix.S_IFIFO:
				kind = "pipe"
			}
			// The Go runtime keeps its cgroup CPU-limit files open; those
			// are the child's own, not inherited.
			if l, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); strings.HasPrefix(l, "/sys/fs/cgroup/") {
				continue
			}
			open = append(open, fdInfo{FD: fd, Type: kind})
		}
		return printJSON(open)
	case "args":
		return printJSON(os.Args)
	case "probe":
		// Each argument is KIND=ARG; one line "KIND RESULT" per probe.
		for _, a := range args {
			kind, arg, _ := strings.Cut(a, "=")
			fmt.Println(kind, Probe(kind, arg))
		}
		return 0
	case "confined":
		// What Enter applied, then hold until stdin closes, so the parent
		// can measure this process.
		if code := printJSON(Confined()); code != 0 {
			return code
		}
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	case "env":
		return printJSON(os.Environ())
	case "pwd":
		wd, err := os.Getwd()
		if err != nil {
			return fail(err)
		}
		fi, err := os.Stat(wd)
		if err != nil {
			return fail(err)
		}
		// Leave something behind: removal must cope with a non-empty tree.
		if err := os.MkdirAll(filepath.Join(wd, "sub"), 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(filepath.Join(wd, "sub", "f"), []byte("x"), 0o600); err != nil {
			return fail(err)
		}
		return printJSON(map[string]any{"dir": wd, "mode": uint32(fi.Mode().Perm())})
	case "stderr":
		chunk := make([]byte, 4096)
		for i := 0; i < (1<<20)/len(chunk); i++ {
			for j := range chunk {
				chunk[j] = byte((i*len(chunk) + j) % 251)
			}
			if _, err := os.Stderr.Write(chunk); err != nil {
				return 3
			}
		}
		return 0
	case "read":
		// Prints one line per path: "ok" if it could be read, else "denied".
		for _, a := range args {
			if _, err := os.ReadFile(a); err != nil {
				fmt.Println("denied")
			} else {
				fmt.Println("ok")
			}
		}
		return 0
	case "cat":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			return fail(err)
		}
		return 0
	case "exit":
		n, _ := strconv.Atoi(args[0])
		return n
	case "sleep":
		time.Sleep(time.Minute)
		return 0
	case "term-report":
		// Reports each SIGTERM on stdout and otherwise ignores it.
		terms := make(chan os.Signal, 4)
		signal.Notify(terms, syscall.SIGTERM)
		fmt.Println("ready")
		for range terms {
			fmt.Println("term")
		}
		return 0
	case "term-ignore":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Minute)
		return 0
	case "spawn", "spawn-exit":
		// A grandchild in the same process group, without Pdeathsig.
		cmd := exec.Command(os.Args[0])
		cmd.Env = helperEnvFor("sleep")
		if err := cmd.Start(); err != nil {
			return fail(err)
		}
		fmt.Println(cmd.Process.Pid)
		if mode == "spawn-exit" {
			return 0
		}
		time.Sleep(time.Minute)
		return 0
	case "dial":
		c, err := net.DialTimeout("tcp", args[0], 2*time.Second)
		if err != nil {
			fmt.Println("fail")
			return 0
		}
		c.Close()
		fmt.Println("ok")
		return 0
	case "ifaces":
		ifs, err := net.Interfaces()
		if err != nil {
			return fail(err)
		}
		out := map[string]bool{}
		for _, i := range ifs {
			out[i.Name] = i.Flags&net.FlagUp != 0
		}
		return printJSON(out)
	case "harden":
		if err := HardenChild(); err != nil {
			return fail(err)
		}
		d, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		nnp, _ := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
		var rl unix.Rlimit
		_ = unix.Getrlimit(unix.RLIMIT_CORE, &rl)
		fmt.Printf("dumpable=%d nnp=%d core=%d/%d\n", d, nnp, rl.Cur, rl.Max)
		if len(args) > 0 && args[0] == "hold" {
			time.Sleep(time.Minute)
		}
		return 0
	case "selfhash":
		b, err := os.ReadFile("/proc/self/exe")
		if err != nil {
			return fail(err)
		}
		sum := sha256.Sum256(b)
		fmt.Println(hex.EncodeToString(sum[:]))
		return 0
	case "echo3":
		f := os.NewFile(3, "ipc")
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil {
			return fail(err)
		}
		if _, err := f.Write([]byte("got:" + line)); err != nil {
			return fail(err)
		}
		return 0
	case "parent":
		// The intermediate of the parent-death test: start a child through
		// a Supervisor, report its pid, and wait to be killed.
		self, _ := os.Executable()
		s := NewSupervisor()
		c, err := s.Start(context.Background(), Spec{Path: self, Env: helperEnvFor("sleep"), Name: "grandchild"})
		if err != nil {
			return fail(err)
		}
		fmt.Println(c.Pid())
		time.Sleep(time.Minute)
		return 0
	case "nons-parent":
		// Runs as root of its own user namespace: forbid nested user
		// namespaces here, then lose CAP_SYS_ADMIN as nocap-parent does,
		// so that neither way to a network namespace is open.
		if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0\n"), 0); err != nil {
			fmt.Fprintln(os.Stderr, "limit:", err)
			return 4
		}
		return helper("nocap-parent", args)
	case "nocap-parent":
		// Root without CAP_SYS_ADMIN, as in a container. Capabilities are
		// per thread, so drop it from this thread's bounding set and exec
		// ourselves from the same thread: root's new capabilities are then
		// the bounding set, without CAP_SYS_ADMIN.
		has, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, unix.CAP_SYS_ADMIN, 0, 0, 0)
		if err != nil {
			return fail(err)
		}
		if has == 1 {
			runtime.LockOSThread()
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_SYS_ADMIN, 0, 0, 0); err != nil {
				fmt.Fprintln(os.Stderr, "capbset:", err)
				return 4 // the test skips: cannot set up the condition
			}
			self, _ := os.Executable()
			return fail(syscall.Exec(self, os.Args, os.Environ()))
		}
		return helper("netns-parent", args)
	case "nondumpable-parent":
		// A relay that made itself non-dumpable, as relay serve does,
		// starts a confined child: its id maps must still be written.
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			return fail(err)
		}
		self, _ := os.Executable()
		s := NewSupervisor()
		spec := confinedSpec("confined")
		spec.Path = self
		spec.Stdout = os.Stdout
		c, err := s.Start(context.Background(), spec)
		if err != nil {
			return fail(err)
		}
		if err := c.Wait(); err != nil {
			return fail(fmt.Errorf("%w: %s", err, c.Stderr()))
		}
		return 0
	case "netns-parent":
		// The intermediate of the unprivileged test: runs as a non-root user.
		self, _ := os.Executable()
		s := NewSupervisor()
		c, err := s.Start(context.Background(), Spec{Path: self, Env: helperEnvFor("ifaces"), Name: "netns", NoNetwork: true, Stdout: os.Stdout})
		if err != nil {
			return fail(err)
		}
		if err := c.Wait(); err != nil {
			return fail(err)
		}
		fmt.Fprintf(os.Stderr, "uid=%d nonetwork=%v\n", os.Geteuid(), c.Info().NoNetwork)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode")
	return 2
}

func printJSON(v any) int {
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		return fail(err)
	}
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "helper:", err)
	return 1
}
