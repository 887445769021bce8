// Package leaktest checks, for tests, that a piece of code released what it
// took from the process: goroutines, open file descriptors and child
// processes. It reads them from the runtime and from /proc/self (Linux);
// elsewhere only goroutines are compared.
//
// Take a [Snapshot] before the code runs and call [Check] after it:
// whatever is above the snapshot once things had a chance to settle is
// reported, with the goroutines' stacks and the files' targets.
package leaktest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// State is what the process holds at one moment.
type State struct {
	Goroutines int
	// FDs maps each open descriptor to what it refers to.
	FDs map[int]string
	// Children are the pids of this process's children (all threads').
	Children []int
	// procErr says why /proc/self could not be read (descriptors and
	// children are then not compared).
	procErr error
}

// Snapshot records what the process holds now.
func Snapshot() State {
	s := State{Goroutines: runtime.NumGoroutine()}
	s.FDs, s.procErr = fds()
	if s.procErr == nil {
		s.Children, s.procErr = children()
	}
	return s
}

func fds() (map[int]string, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	self := int(d.Fd())
	d.Close()
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd == self {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", n))
		if err != nil {
			continue // closed between the listing and now
		}
		out[fd] = target
	}
	return out, nil
}

func children() ([]int, error) {
	files, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no /proc/self/task/*/children (kernel without CONFIG_PROC_CHILDREN)")
	}
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		for _, w := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(w); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

// Left returns what s holds beyond before, one line per thing, empty when
// nothing.
func (s State) Left(before State) []string {
	var left []string
	if s.Goroutines > before.Goroutines {
		left = append(left, fmt.Sprintf("%d goroutine(s) more than the %d before", s.Goroutines-before.Goroutines, before.Goroutines))
	}
	if before.procErr == nil && s.procErr == nil {
		for fd, target := range s.FDs {
			if was, ok := before.FDs[fd]; !ok || was != target {
				left = append(left, fmt.Sprintf("open file descriptor %d: %s", fd, target))
			}
		}
		for _, pid := range s.Children {
			if !slices.Contains(before.Children, pid) {
				left = append(left, fmt.Sprintf("child process %d: %s", pid, cmdline(pid)))
			}
		}
	}
	slices.Sort(left)
	return left
}

func cmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "(gone)"
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// settleFor bounds how long Check waits for goroutines to return,
// connections to close and children to be reaped. It is a guard against
// hanging, not a measure: things that settle do so in milliseconds.
const settleFor = 30 * time.Second

// Check fails t when the process holds more than before once it has
// settled: goroutines still returning, descriptors still closing and
// children still being reaped get until the hang guard ends. No garbage
// collection is forced: a file left for a finalizer to close is a leak.
func Check(t testing.TB, before State) {
	t.Helper()
	if before.procErr != nil {
		t.Logf("leaktest: comparing goroutines only: %v", before.procErr)
	}
	var left []string
	for deadline := time.Now().Add(settleFor); ; {
		left = Snapshot().Left(before)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Errorf("left behind:\n  %s\ngoroutines now:\n%s", strings.Join(left, "\n  "), buf)
}
