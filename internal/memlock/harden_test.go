package memlock

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestMlockallPolicy(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		name       string
		o          Options
		soft       uint64
		unlimited  bool
		capIPCLock bool
		want       error
	}{
		{"typical 8 MiB limit", Options{}, 8 << 20, false, false, ErrLimitTooSmall},
		{"zero limit", Options{}, 0, false, false, ErrLimitTooSmall},
		{"just above the mapped size", Options{}, 2 * gib, false, false, ErrLimitTooSmall},
		{"at the threshold", Options{}, DefaultMlockallMinLimit, false, false, nil},
		{"unlimited", Options{}, 0, true, false, nil},
		{"CAP_IPC_LOCK ignores the limit", Options{}, 8 << 20, false, true, nil},
		{"custom threshold met", Options{MlockallMinLimit: 4 * gib}, 4 * gib, false, false, nil},
		{"custom threshold not met", Options{MlockallMinLimit: 4 * gib}, 4*gib - 1, false, false, ErrLimitTooSmall},
		{"skipped beats unlimited", Options{SkipMlockall: true}, 0, true, true, ErrSkipped},
	} {
		want := c.want
		if sanitizerBuild && want != ErrSkipped {
			want = ErrSanitizer
		}
		if got := mlockallAllowed(c.o, c.soft, c.unlimited, c.capIPCLock); !errors.Is(got, want) || (want == nil) != (got == nil) {
			t.Errorf("%s: got %v, want %v", c.name, got, want)
		}
	}
}

func TestErrClassDropsPaths(t *testing.T) {
	pe := &fs.PathError{Op: "open", Path: "/secret/place", Err: syscall.EACCES}
	if got := errClass(pe); got != syscall.EACCES {
		t.Fatalf("errClass(PathError{EACCES}) = %v, want EACCES", got)
	}
	wrapped := fmt.Errorf("reading /secret/place: %w", errors.New("short"))
	got := errClass(wrapped)
	if got != ErrUnreadable || strings.Contains(got.Error(), "/secret") {
		t.Fatalf("errClass(non-errno) = %v, want ErrUnreadable", got)
	}
	if errClass(nil) != nil {
		t.Fatal("errClass(nil) must be nil")
	}
}

func TestReportAllOrder(t *testing.T) {
	r := Report{Dumpable: Protection{Name: "dumpable"}, Core: Protection{Name: "core"}, Mlockall: Protection{Name: "mlockall"}}
	var names []string
	for _, p := range r.All() {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "dumpable,core,mlockall" {
		t.Fatalf("All() = %s", got)
	}
}
