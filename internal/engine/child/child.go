// Package child is the engine child process's side of the embedded engine:
// what `relay engine` runs. The relay starts it through internal/sandbox
// (no network, minimal environment, private directory) and talks to it over
// one end of a socket pair handed down as a descriptor, using package ipc.
//
// What it promises:
//
//   - Its program's main has called sandbox.Enter before anything else, so
//     it runs without capabilities, under Landlock and seccomp; it measures
//     that confinement (sandbox.Confined) and sends it in its hello, for
//     the relay to check against the kernel.
//   - Before reading any request it hardens itself (sandbox.HardenChild:
//     non-dumpable, no core, no_new_privs) and loads only the verified
//     llama.cpp libraries (engine.Load). If either fails it says so in one
//     error frame (id 0) and exits: no request is ever served by an
//     unverified library.
//   - Content arrives only over the socket, and leaves only over it. The
//     child writes nothing to stdout or stderr and logs nothing.
//   - Each relay session gets its own llama.cpp context (its KV cache);
//     ending the session clears and frees it. Requests without a session
//     use pooled contexts, cleared before they go back to the pool, so no
//     stateless request ever sees another's tokens.
//   - A frame it cannot serve (a payload that does not decode, a number
//     out of range, an unknown type) is answered with an error frame for
//     that request id, and it keeps serving the others; only a broken
//     frame stream (bad length, truncated frame) ends it.
//   - A cancel frame stops its generation within one decode step; when the
//     relay closes the socket every generation is cancelled and Run returns.
package child

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/engine"
	"github.com/inference-relay/relay/internal/engine/child/ipc"
	"github.com/inference-relay/relay/internal/sandbox"
)

// Options configure the child.
type Options struct {
	// LibDir is the directory of llama.cpp libraries (engine.LibDir).
	LibDir string
	// AllowProbe enables the ipc.TProbe frame, which asks the child to
	// dial an address, with a "file:" prefix to read a file, or with a
	// "probe:KIND=ARG" prefix to run sandbox.Probe (ptrace, signals,
	// sockets, namespaces...): tests use it to show what the child cannot
	// reach from inside its exact confinement. It is off in `relay engine`.
	AllowProbe bool
	// CheckOnly makes the child report its confinement in its hello and
	// then wait for the relay to close the socket, loading nothing: what
	// relay doctor starts to see whether the engine can be confined here.
	CheckOnly bool
}

// maxPooled caps the idle pooled contexts kept per model; more are freed.
const maxPooled = 2

// defaultContext is the context length used when neither the request nor
// the model's training context says smaller: real models train on 128k
// tokens, and a context that size would take gigabytes of KV cache.
const defaultContext = ipc.DefaultContext

// Run serves the relay on sock until the relay closes it. It returns nil
// then, or the error that stopped it (which it has also sent as a frame).
func Run(sock *os.File, o Options) error {
	s := &server{
		o:        o,
		w:        sock,
		models:   map[string]*engine.Model{},
		sessions: map[sessionKey]*engine.Session{},
		pool:     map[string][]*engine.Session{},
		reqs:     map[uint32]context.CancelFunc{},
	}
	// What sandbox.Enter left, measured before HardenChild sets
	// no_new_privs itself; the relay checks it against the kernel.
	conf := sandbox.Confined()
	if err := sandbox.HardenChild(); err != nil {
		s.fatal(ipc.CodeInternal, err)
		return err
	}
	if o.CheckOnly {
		hello := ipc.Hello{Pid: os.Getpid(), Confinement: sandbox.EncodeReport(conf)}
		if err := s.send(ipc.THello, 0, hello.Encode()); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, sock)
		return err
	}
	if err := engine.Load(o.LibDir); err != nil {
		s.fatal(ipc.CodeLibs, err)
		return err
	}
	hello := ipc.Hello{Pid: os.Getpid(), Confinement: sandbox.EncodeReport(conf)}
	if err := s.send(ipc.THello, 0, hello.Encode()); err != nil {
		return err
	}
	err := s.serve(sock)
	s.shutdown()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

type sessionKey struct{ model, session string }

type server struct {
	o   Options
	wmu sync.Mutex
	w   io.Writer

	mu       sync.Mutex
	models   map[string]*engine.Model // by the path they were opened from
	sessions map[sessionKey]*engine.Session
	pool     map[string][]*engine.Session
	reqs     map[uint32]context.CancelFunc
	busy     int
	cleared  uint64
	wg       sync.WaitGroup
}

func (s *server) send(t ipc.Type, id uint32, payload []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return ipc.WriteFrame(s.w, t, id, payload)
}

func (s *server) fatal(code ipc.Code, err error) {
	_ = s.send(ipc.TError, 0, (&ipc.Error{Code: code, Msg: err.Error()}).Encode())
}

// serve reads frames until the stream ends or its framing breaks. A frame
// that is well framed but cannot be served (a payload that does not
// decode, a number out of range, an unknown type) is answered with an
// error frame for its request id, and serving goes on: one bad request
// never takes down the others in flight.
func (s *server) serve(r io.Reader) error {
	for {
		f, err := ipc.ReadFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.fatal(ipc.CodeInvalid, err)
			}
			return err
		}
		rerr, werr := s.handle(f)
		f.Wipe()
		if werr != nil {
			return werr // the socket is gone
		}
		if rerr != nil {
			if werr := s.send(ipc.TError, f.ID, (&ipc.Error{Code: ipc.CodeInvalid, Msg: rerr.Error()}).Encode()); werr != nil {
				return werr
			}
		}
	}
}

// handle serves one frame. rerr is the request's own failure, answered
// with an error frame; werr is a failure to write to the relay.
func (s *server) handle(f ipc.Frame) (rerr, werr error) {
	switch f.Type {
	case ipc.TGenerate:
		g, err := ipc.DecodeGenerate(f.Payload)
		if err != nil {
			return errors.New("engine child: malformed generate request"), nil
		}
		if err := checkGenerate(&g); err != nil {
			g.Wipe()
			return err, nil
		}
		s.start(f.ID, g)
	case ipc.TCount:
		g, err := ipc.DecodeGenerate(f.Payload)
		if err != nil {
			return errors.New("engine child: malformed count request"), nil
		}
		if err := checkGenerate(&g); err != nil {
			g.Wipe()
			return err, nil
		}
		s.count(f.ID, g)
	case ipc.TCancel:
		s.mu.Lock()
		cancel := s.reqs[f.ID]
		s.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	case ipc.TEndSession:
		name, err := ipc.DecodeString(f.Payload)
		if err != nil {
			return errors.New("engine child: malformed end-session request"), nil
		}
		s.endSession(name)
		return nil, s.send(ipc.TAck, f.ID, nil)
	case ipc.TStats:
		return nil, s.send(ipc.TStatsR, f.ID, s.stats().Encode())
	case ipc.TProbe:
		if !s.o.AllowProbe {
			return errors.New("engine child: probe frames are disabled"), nil
		}
		addr, err := ipc.DecodeString(f.Payload)
		if err != nil {
			return errors.New("engine child: malformed probe"), nil
		}
		if path, ok := strings.CutPrefix(addr, "file:"); ok {
			return nil, s.send(ipc.TProbeR, f.ID, probeFile(path).Encode())
		}
		if p, ok := strings.CutPrefix(addr, "probe:"); ok {
			kind, arg, _ := strings.Cut(p, "=")
			res := &ipc.Error{Code: ipc.CodeOK}
			if r := sandbox.Probe(kind, arg); r != "ok" {
				res = &ipc.Error{Code: ipc.CodeInternal, Msg: r}
			}
			return nil, s.send(ipc.TProbeR, f.ID, res.Encode())
		}
		return nil, s.send(ipc.TProbeR, f.ID, probe(addr).Encode())
	default:
		return errors.New("engine child: unknown frame type"), nil
	}
	return nil, nil
}

// Bounds on what a generate request may ask of the engine.
const (
	maxThreads = 1024
	maxContext = 1 << 20
)

// checkGenerate refuses numbers the engine must not be handed and a model
// path that is not one of the descriptors the relay handed down.
func checkGenerate(g *ipc.Generate) error {
	fd, ok := strings.CutPrefix(g.ModelPath, "/proc/self/fd/")
	if !ok || fd == "" || len(fd) > 6 || strings.Trim(fd, "0123456789") != "" {
		return errors.New("engine child: the model path is not a handed-down descriptor")
	}
	switch {
	case g.Threads < 0 || g.Threads > maxThreads:
		return errors.New("engine child: threads out of range")
	case g.ContextLength < 0 || g.ContextLength > maxContext:
		return errors.New("engine child: context length out of range")
	case g.MaxTokens < 0:
		return errors.New("engine child: max_tokens out of range")
	}
	return nil
}

// probe dials addr over TCP and reports whether it connected. It dials
// through egress, like every connection of the relay; with no policy, so
// that only the child's network namespace decides.
func probe(addr string) *ipc.Error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := egress.New(nil).DialContext(ctx, "tcp", addr)
	if err != nil {
		return &ipc.Error{Code: ipc.CodeInternal, Msg: err.Error()}
	}
	c.Close()
	return &ipc.Error{Code: ipc.CodeOK}
}

// probeFile reads path and reports whether it could.
func probeFile(path string) *ipc.Error {
	if _, err := os.ReadFile(path); err != nil {
		return &ipc.Error{Code: ipc.CodeInternal, Msg: "not readable"}
	}
	return &ipc.Error{Code: ipc.CodeOK}
}

func (s *server) stats() ipc.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := ipc.Stats{Models: len(s.models), Sessions: len(s.sessions), Busy: s.busy, Cleared: s.cleared}
	for _, p := range s.pool {
		st.Pooled += len(p)
	}
	return st
}

func (s *server) endSession(name string) {
	s.mu.Lock()
	var ended []*engine.Session
	for k, sess := range s.sessions {
		if k.session == name {
			ended = append(ended, sess)
			delete(s.sessions, k)
		}
	}
	s.cleared += uint64(len(ended))
	s.mu.Unlock()
	// Close waits for a generation under way on that context, then clears
	// the cache and frees the context.
	for _, sess := range ended {
		sess.Close()
	}
}

// shutdown cancels every generation, waits for them, and frees everything.
func (s *server) shutdown() {
	s.mu.Lock()
	for _, cancel := range s.reqs {
		cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.models {
		m.Close() // closes its sessions, pooled ones included, clearing each
	}
	clear(s.models)
	clear(s.sessions)
	clear(s.pool)
}
