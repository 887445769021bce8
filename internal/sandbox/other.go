//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

var errUnsupported = fmt.Errorf("sandbox: contained child processes need Linux: %w", errors.ErrUnsupported)

// Supervisor starts and tracks children. On this system it starts none.
type Supervisor struct{}

// NewSupervisor returns a Supervisor whose Start always fails here.
func NewSupervisor() *Supervisor { return &Supervisor{} }

// Start fails: this package supports Linux only.
func (s *Supervisor) Start(ctx context.Context, spec Spec) (*Child, error) {
	return nil, errUnsupported
}

// StopAll has nothing to stop here.
func (s *Supervisor) StopAll(grace time.Duration) {}

// Close has nothing to release here.
func (s *Supervisor) Close(grace time.Duration) {}

// Children is always empty here.
func (s *Supervisor) Children() []Info { return nil }

// Child is never created on this system.
type Child struct{}

func (c *Child) Wait() error                    { return errUnsupported }
func (c *Child) Pid() int                       { return 0 }
func (c *Child) Info() Info                     { return Info{} }
func (c *Child) Stderr() []byte                 { return nil }
func (c *Child) Stop(grace time.Duration) error { return errUnsupported }

// HardenChild fails: the protections it sets are Linux's.
func HardenChild() error { return errUnsupported }

// SocketPair fails here.
func SocketPair() (parent, child *os.File, err error) { return nil, nil, errUnsupported }

// Enter does nothing here: nothing is started confined.
func Enter() {}

// Confined reports nothing applied here.
func Confined() Report { return Report{} }

// MeasureChild has nothing to measure here.
func MeasureChild(pid int) Confinement {
	return Confinement{Pid: pid, Errors: []string{"unsupported on this system"}, MeasuredAt: time.Now().UTC()}
}

// Probe has nothing to try here.
func Probe(kind, arg string) string { return "ENOSYS" }
