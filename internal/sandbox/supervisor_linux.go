package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Supervisor starts children and keeps track of them. One serves the whole
// relay process.
//
// Every child is forked by one goroutine locked to its OS thread (the
// spawner). Pdeathsig is tied to the thread that forked, not the process:
// forking from whatever thread a caller's goroutine happens to run on would
// let Go retire that thread later and SIGKILL a healthy child. The spawner
// never unlocks, so its thread lives until Close, or until the process dies,
// which is exactly when the children should go.
type Supervisor struct {
	reqs     chan spawnReq
	quit     chan struct{}
	quitOnce sync.Once

	mu       sync.Mutex
	closed   bool
	children map[*Child]struct{}
}

type spawnReq struct {
	path  string
	argv  []string
	attr  *os.ProcAttr
	reply chan spawnResult // buffered: the spawner never waits on a caller
}

type spawnResult struct {
	proc *os.Process
	err  error
}

// NewSupervisor starts the spawner goroutine and returns the Supervisor.
func NewSupervisor() *Supervisor {
	s := &Supervisor{
		reqs:     make(chan spawnReq),
		quit:     make(chan struct{}),
		children: map[*Child]struct{}{},
	}
	go s.spawner()
	return s
}

func (s *Supervisor) spawner() {
	// Never unlocked: when this goroutine returns (Close), the runtime
	// terminates the thread, and Pdeathsig kills anything it forked.
	runtime.LockOSThread()
	for {
		select {
		case r := <-s.reqs:
			markInheritedCloexec()
			p, err := os.StartProcess(r.path, r.argv, r.attr)
			r.reply <- spawnResult{p, err}
		case <-s.quit:
			return
		}
	}
}

// spawn hands one start to the spawner goroutine. Once the request is
// taken it waits for the answer whatever ctx does: a process that was
// started must be accounted for.
func (s *Supervisor) spawn(ctx context.Context, path string, argv []string, attr *os.ProcAttr) (*os.Process, error) {
	req := spawnReq{path: path, argv: argv, attr: attr, reply: make(chan spawnResult, 1)}
	select {
	case s.reqs <- req:
	case <-s.quit:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := <-req.reply
	return res.proc, res.err
}

// register adds c to the registry unless the Supervisor is closed.
func (s *Supervisor) register(c *Child) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.children[c] = struct{}{}
	return true
}

func (s *Supervisor) forget(c *Child) {
	s.mu.Lock()
	delete(s.children, c)
	s.mu.Unlock()
}

func (s *Supervisor) snapshot() []*Child {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Child, 0, len(s.children))
	for c := range s.children {
		out = append(out, c)
	}
	return out
}

// Children lists the children still running, oldest first.
func (s *Supervisor) Children() []Info {
	cs := s.snapshot()
	out := make([]Info, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.info)
	}
	slices.SortFunc(out, func(a, b Info) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return a.Pid - b.Pid
	})
	return out
}

// StopAll stops every running child and its process group, all at once,
// each with the same grace, and returns when all are gone (or have outlived
// SIGKILL's bounded wait). For shutdown and lockdown. A Start still in
// progress when StopAll takes its list is not stopped; Close has no such
// gap.
func (s *Supervisor) StopAll(grace time.Duration) {
	var wg sync.WaitGroup
	for _, c := range s.snapshot() {
		wg.Go(func() { _ = c.Stop(grace) })
	}
	wg.Wait()
}

// Close stops every child as StopAll does, makes later Starts fail with
// ErrClosed, and ends the spawner goroutine and its thread.
func (s *Supervisor) Close(grace time.Duration) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.StopAll(grace)
	s.quitOnce.Do(func() { close(s.quit) })
}

func (s *Supervisor) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Start starts the program spec describes and returns once it is running
// (execve has succeeded). Cancelling ctx later stops the child: SIGTERM to
// its group, a short grace, then SIGKILL.
func (s *Supervisor) Start(ctx context.Context, spec Spec) (*Child, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, ErrClosed
	}
	l := &launch{spec: &spec}
	defer l.closeChildSide()
	c, err := l.run(ctx, s)
	if err != nil {
		l.abort()
		if errors.Is(err, ErrClosed) || errors.Is(err, ErrHashMismatch) {
			return nil, err // already say what happened
		}
		return nil, fmt.Errorf("sandbox: start %s: %w", spec.Name, err)
	}
	if !s.register(c) {
		// Close ran while we were starting: this child must not outlive it.
		_ = c.Stop(0)
		return nil, ErrClosed
	}
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				_ = c.Stop(cancelGrace)
			case <-c.done:
			}
		}()
	}
	return c, nil
}

// afterHash, when set (by tests only), runs between hashing a pinned
// program and starting it: the window a file swap would aim for.
var afterHash func()

var errNoNamespace = errors.New("cannot create the network namespace NoNetwork asks for")

// attrs builds the SysProcAttr: own process group, SIGKILL on the spawner
// thread's death, and the namespaces asked for. A new user namespace gets
// its id maps from writeIDMaps once the child has executed.
func attrs(netNS, userNS bool) *syscall.SysProcAttr {
	sys := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if netNS {
		sys.Cloneflags |= syscall.CLONE_NEWNET
	}
	if userNS {
		sys.Cloneflags |= syscall.CLONE_NEWUSER
	}
	return sys
}
