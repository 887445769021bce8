package engine

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/inference-relay/relay/internal/engine/child/ipc"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/sandbox"
)

// errChildGone is what in-flight requests get when the child dies.
var errChildGone = provider.Errorf(logic.ErrUpstream, "the embedded engine stopped; the next request restarts it")

// conn is one running child and the socket to it. Frames are routed by
// request id to inboxes; a frame for an id nobody waits for (a request
// already closed) is dropped and wiped.
type conn struct {
	child *sandbox.Child
	sock  *os.File
	pid   int // as the child reported it
	// report is what the child's Enter applied, checked against the
	// kernel at start.
	report sandbox.Report

	wmu sync.Mutex

	mu     sync.Mutex
	boxes  map[uint32]*inbox
	nextID uint32
	dead   chan struct{}
}

func (c *conn) send(t ipc.Type, id uint32, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := ipc.WriteFrame(c.sock, t, id, payload); err != nil {
		return errChildGone
	}
	return nil
}

// open reserves a request id and its inbox.
func (c *conn) open() (uint32, *inbox) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	if c.nextID == 0 { // 0 is the child's own (fatal) id
		c.nextID++
	}
	in := newInbox()
	select {
	case <-c.dead:
		in.fail(errChildGone)
	default:
		c.boxes[c.nextID] = in
	}
	return c.nextID, in
}

func (c *conn) close(id uint32) {
	c.mu.Lock()
	in := c.boxes[id]
	delete(c.boxes, id)
	c.mu.Unlock()
	if in != nil {
		in.fail(io.EOF)
	}
}

func (c *conn) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// read routes frames until the socket fails, then fails every inbox.
func (c *conn) read() {
	for {
		f, err := ipc.ReadFrame(c.sock)
		if err != nil {
			break
		}
		c.mu.Lock()
		in := c.boxes[f.ID]
		c.mu.Unlock()
		if in == nil {
			f.Wipe()
			continue
		}
		in.put(f)
	}
	c.mu.Lock()
	close(c.dead)
	boxes := c.boxes
	c.boxes = map[uint32]*inbox{}
	c.mu.Unlock()
	for _, in := range boxes {
		in.fail(errChildGone)
	}
	c.sock.Close()
}

// kill stops the child at once (its memory, KV caches included, goes
// with it) and waits for it to be gone.
func (c *conn) kill() {
	_ = c.child.Stop(0)
	c.sock.Close()
	<-c.dead
}

// inbox queues the frames of one request: never blocking the reader, so
// one slow client cannot stall the others.
type inbox struct {
	mu     sync.Mutex
	frames []ipc.Frame
	err    error
	notify chan struct{}
}

func newInbox() *inbox { return &inbox{notify: make(chan struct{}, 1)} }

func (in *inbox) put(f ipc.Frame) {
	in.mu.Lock()
	if in.err != nil {
		in.mu.Unlock()
		f.Wipe()
		return
	}
	in.frames = append(in.frames, f)
	in.mu.Unlock()
	in.wake()
}

func (in *inbox) fail(err error) {
	in.mu.Lock()
	if in.err == nil {
		in.err = err
	}
	in.mu.Unlock()
	in.wake()
}

func (in *inbox) wake() {
	select {
	case in.notify <- struct{}{}:
	default:
	}
}

// next returns the next frame, the inbox's error once it is empty, or
// ctx's error.
func (in *inbox) next(ctx context.Context) (ipc.Frame, error) {
	for {
		in.mu.Lock()
		if len(in.frames) > 0 {
			f := in.frames[0]
			in.frames[0] = ipc.Frame{}
			in.frames = in.frames[1:]
			in.mu.Unlock()
			return f, nil
		}
		err := in.err
		in.mu.Unlock()
		if err != nil {
			return ipc.Frame{}, err
		}
		select {
		case <-in.notify:
		case <-ctx.Done():
			return ipc.Frame{}, ctx.Err()
		}
	}
}

// drop wipes whatever is still queued.
func (in *inbox) drop() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := range in.frames {
		in.frames[i].Wipe()
	}
	in.frames = nil
}

// roundTrip sends one control frame and waits for its single answer.
func (c *conn) roundTrip(ctx context.Context, t ipc.Type, payload []byte) (ipc.Frame, error) {
	id, in := c.open()
	defer c.close(id)
	if err := c.send(t, id, payload); err != nil {
		return ipc.Frame{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	f, err := in.next(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return ipc.Frame{}, provider.AsError(err)
		}
		return ipc.Frame{}, err
	}
	if f.Type == ipc.TError {
		e, derr := ipc.DecodeError(f.Payload)
		if derr != nil {
			return ipc.Frame{}, errChildGone
		}
		return ipc.Frame{}, fromIPC(e)
	}
	return f, nil
}
