package relay

import "errors"

// cleanup is the stack of releases of what New has built so far: each step
// that succeeds pushes the release of what it built, and a later step's
// failure, or Close, runs them all, last built first. Nothing New builds is
// released anywhere else, so no error path can forget one.
type cleanup struct {
	fns []func() error
}

// push adds the release of what a step just built.
func (c *cleanup) push(f func() error) { c.fns = append(c.fns, f) }

// pushFunc is push for a release that cannot fail.
func (c *cleanup) pushFunc(f func()) { c.push(func() error { f(); return nil }) }

// run releases everything pushed, last first, and empties the stack: a
// second run releases nothing twice. It returns every release's error.
func (c *cleanup) run() error {
	var errs []error
	for i := len(c.fns) - 1; i >= 0; i-- {
		errs = append(errs, c.fns[i]())
	}
	c.fns = nil
	return errors.Join(errs...)
}
