package memlock

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// smapsFlags returns the VmFlags the kernel lists for the mapping holding
// addr, and the permissions of the mappings just before and after it.
func smapsFlags(t *testing.T, addr uintptr) (flags []string, before, after string) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("smaps unreadable: %v", err)
	}
	defer f.Close()
	type vma struct {
		lo, hi uintptr
		perms  string
		flags  []string
	}
	var vmas []vma
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		var perms string
		if n, _ := fmt.Sscanf(line, "%x-%x %s", &lo, &hi, &perms); n == 3 {
			vmas = append(vmas, vma{lo: lo, hi: hi, perms: perms})
			continue
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && len(vmas) > 0 {
			vmas[len(vmas)-1].flags = strings.Fields(rest)
		}
	}
	for i, v := range vmas {
		if addr >= v.lo && addr < v.hi {
			if i > 0 && vmas[i-1].hi == v.lo {
				before = vmas[i-1].perms
			}
			if i+1 < len(vmas) && vmas[i+1].lo == v.hi {
				after = vmas[i+1].perms
			}
			return v.flags, before, after
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return nil, "", ""
}

// The kernel's own view of the region confirms what the arena reports.
func TestArenaProtectionsMatchKernel(t *testing.T) {
	a := newTestArena(t, 16)
	var addr uintptr
	a.Inspect(func(r []byte) { addr = uintptr(unsafe.Pointer(&r[0])) })
	flags, before, after := smapsFlags(t, addr)
	has := func(f string) bool {
		for _, x := range flags {
			if x == f {
				return true
			}
		}
		return false
	}
	s := a.Status()
	if has("lo") != s.Locked {
		t.Errorf("kernel locked=%v, arena reports %v (flags %v)", has("lo"), s.Locked, flags)
	}
	if has("dd") != s.DontDump || !s.DontDump {
		t.Errorf("kernel dontdump=%v, arena reports %v", has("dd"), s.DontDump)
	}
	if has("wf") != s.WipeOnFork || !s.WipeOnFork {
		t.Errorf("kernel wipeonfork=%v, arena reports %v", has("wf"), s.WipeOnFork)
	}
	if !s.Guarded || !strings.HasPrefix(before, "---") || !strings.HasPrefix(after, "---") {
		t.Errorf("guards: reported %v, kernel sees %q before and %q after", s.Guarded, before, after)
	}
	t.Logf("arena: locked=%v dontdump=%v wipeonfork=%v guarded=%v", s.Locked, s.DontDump, s.WipeOnFork, s.Guarded)
}
