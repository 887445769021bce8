package leaktest

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestLeftSeesEachKind: a goroutine, a file and a child started after the
// snapshot are each reported, and nothing is once they are released.
func TestLeftSeesEachKind(t *testing.T) {
	before := Snapshot()
	if before.procErr != nil {
		t.Skipf("no /proc: %v", before.procErr)
	}
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	done := make(chan struct{})
	go func() {
		<-block
		close(done)
	}()
	child := exec.Command("sleep", "600")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	left := strings.Join(Snapshot().Left(before), "\n")
	for _, want := range []string{"1 goroutine(s) more", "open file descriptor", "child process", "sleep 600"} {
		if !strings.Contains(left, want) {
			t.Errorf("left %q does not report %q", left, want)
		}
	}
	f.Close()
	close(block)
	<-done
	child.Process.Kill()
	child.Wait()
	runtime.Gosched()
	Check(t, before)
}
