package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// cancelGrace is the grace a child gets when its Start context ends.
	cancelGrace = time.Second
	// drainWait bounds how long output pipes may stay open after the child
	// exited (something that left the group can hold them).
	drainWait = 2 * time.Second
	// killWait bounds how long Stop waits after SIGKILL; it covers drainWait.
	killWait = 5 * time.Second
)

// Child is one running (or finished) child process.
type Child struct {
	sup    *Supervisor
	proc   *os.Process
	info   Info
	stderr *ring

	// mu orders signals against reaping: while exited is false the leader
	// has not been reaped, so its pid (the group id) cannot have been
	// reused, and kill(-pid) reaches only this child's group.
	mu     sync.Mutex
	exited bool

	stdin     *os.File // parent's end of the stdin pipe, or nil
	stdinOnce sync.Once
	outs      []*os.File // parent's ends of the output pipes
	copying   sync.WaitGroup
	stdoutErr error // first error writing to Spec.Stdout; read after copying.Wait
	dir       string

	done chan struct{}
	err  error
}

// Pid is the child's process id, which is also its process group id.
func (c *Child) Pid() int { return c.info.Pid }

// Info describes the child as Children does.
func (c *Child) Info() Info { return c.info }

// Stderr returns a copy of the last Spec.StderrCap bytes the child (and its
// group) wrote to stderr. It is the child's output: treat it as untrusted
// and never log it raw.
func (c *Child) Stderr() []byte { return c.stderr.Bytes() }

// Wait blocks until the child has exited, its group has been killed, its
// output has been drained and its private directory removed. It returns nil
// for exit status 0, an *ExitError otherwise, or an error about the output
// (ErrPipesHeld, or the error writing to Spec.Stdout). Any number of
// goroutines may call it.
func (c *Child) Wait() error {
	<-c.done
	return c.err
}

// Stop sends SIGTERM to the child's process group, waits up to grace, then
// sends SIGKILL to the group, and returns once the child is gone (nil) or
// has outlived a bounded wait after SIGKILL. With grace <= 0 it sends
// SIGKILL at once. Stopping a child that already exited returns nil.
func (c *Child) Stop(grace time.Duration) error {
	if grace > 0 {
		if err := c.signal(unix.SIGTERM); err != nil {
			return err
		}
		if c.waitFor(grace) {
			return nil
		}
	}
	if err := c.signal(unix.SIGKILL); err != nil {
		return err
	}
	if c.waitFor(killWait) {
		return nil
	}
	return errors.New("sandbox: child did not exit after SIGKILL")
}

func (c *Child) signal(sig unix.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited {
		return nil
	}
	if err := unix.Kill(-c.info.Pid, sig); err != nil && err != unix.ESRCH {
		return fmt.Errorf("sandbox: signal group: %w", err)
	}
	return nil
}

func (c *Child) waitFor(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
		return true
	case <-t.C:
		return false
	}
}

// watch waits for the child to exit, kills what it left in its group,
// reaps it, drains its output and cleans up, then publishes the result.
func (c *Child) watch() {
	pid := c.info.Pid
	var si unix.Siginfo
	var err error
	for {
		// WNOWAIT: see the exit but leave the zombie, so the group id
		// stays ours while we kill the rest of the group.
		err = unix.Waitid(unix.P_PID, pid, &si, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	c.mu.Lock()
	if err == nil {
		_ = unix.Kill(-pid, unix.SIGKILL)
	}
	c.exited = true
	c.mu.Unlock()

	state, werr := c.proc.Wait()
	c.closeStdin()
	held := c.drain()
	c.removeDir()
	c.sup.forget(c)

	switch {
	case werr != nil:
		c.err = fmt.Errorf("sandbox: wait: %w", werr)
	case !state.Success():
		c.err = &ExitError{state}
	case c.stdoutErr != nil:
		c.err = fmt.Errorf("sandbox: writing child stdout: %w", c.stdoutErr)
	case held:
		c.err = ErrPipesHeld
	}
	close(c.done)
}

// feed copies Spec.Stdin into the child. It is not waited for: a Reader
// that never returns must not hold up Wait. Closing the pipe once the child
// is gone ends a Write blocked on it.
func (c *Child) feed(src io.Reader, w *os.File) {
	_, _ = io.Copy(w, src)
	c.closeStdin()
}

func (c *Child) closeStdin() {
	if c.stdin != nil {
		c.stdinOnce.Do(func() { c.stdin.Close() })
	}
}

// copyOut drains r into w until the write ends close. After a write error
// it keeps reading and discards, so the child never blocks on a full pipe.
func (c *Child) copyOut(w io.Writer, r *os.File, errp *error) {
	defer c.copying.Done()
	defer r.Close()
	buf := make([]byte, 32<<10)
	var werr error
	for {
		n, err := r.Read(buf)
		if n > 0 && werr == nil {
			if _, werr = w.Write(buf[:n]); werr != nil && errp != nil {
				*errp = werr
			}
		}
		if err != nil {
			return
		}
	}
}

// drain waits for the output copies; past drainWait it closes the pipes
// under them (a process that escaped the group may still hold the write
// ends) and reports that it had to.
func (c *Child) drain() (held bool) {
	done := make(chan struct{})
	go func() {
		c.copying.Wait()
		close(done)
	}()
	t := time.NewTimer(drainWait)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-t.C:
		for _, r := range c.outs {
			r.Close()
		}
		<-done
		return true
	}
}

// removeDir removes the private working directory. A killed grandchild can
// still be finishing a write when the first attempt runs, hence the retries.
func (c *Child) removeDir() {
	if c.dir == "" {
		return
	}
	for i := 0; i < 5; i++ {
		if os.RemoveAll(c.dir) == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
