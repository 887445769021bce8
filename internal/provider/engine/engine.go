// Package engine is the relay's backend for the embedded engine: it runs
// `relay engine` (package internal/engine/child) as a sandboxed child and
// serves requests through it.
//
// What it promises:
//
//   - The child is the relay's own binary, pinned by its SHA-256 taken at
//     New (a binary replaced on disk later is refused at the next start),
//     started through internal/sandbox with NoNetwork, an empty environment
//     and a private directory, confined (Spec.Filesystem: the child's
//     sandbox.Enter drops capabilities and applies Landlock and seccomp
//     before anything else runs). Before it serves, the child's own report
//     of its confinement (in its hello) is checked against what the kernel
//     shows (sandbox.MeasureChild): a child that is not confined as
//     required is stopped and the start fails, naming what is missing; a
//     confinement step the kernel refused is named too. It talks to the
//     relay only over a socket pair handed down as descriptor 3: never a
//     TCP port.
//
//   - max_tokens the engine cannot take (above an int32, or above the
//     configured context length) is refused as an invalid request before
//     anything is sent.
//
//   - The child opens only the model files the relay verified: each
//     verified descriptor (weights.Model.File) is handed down and opened by
//     the child as /proc/self/fd/N, so a file renamed over the path after
//     verification is not served. (A model given without File is opened by
//     path at New, after its verification: that leaves the gap between the
//     check and the open.)
//
//   - Content goes to the child only over the socket; argv carries the
//     library directory and nothing else.
//
//   - The child is started at New, so refused libraries or a refused
//     binary fail New with a clear error. If it dies later, in-flight
//     streams fail with an upstream error and the next request starts a
//     new one. Restart kills it (its memory, every KV cache with it) and
//     starts a fresh one: lockdown.
//
//   - Canceling a request's context (or closing its stream early) sends a
//     cancel frame: the child stops within one decode step and clears the
//     pooled context.
//
//   - Tools, calls and results travel to the child as what they are
//     (ipc.Generate's Tools, ToolChoice, and each turn's ToolCalls and
//     ToolCallID), and the child renders them with the model's own chat
//     template; a call the model makes comes back as TToolCall and
//     TToolArgs frames and reaches the client as a tool-call block (its id
//     made here, "call_" and 24 random hex digits) whose arguments stream
//     as they are generated. Tool results become "tool" turns, in order,
//     before the user's text of the same message. A schema the engine
//     cannot constrain is a 400 naming the tool's position and the keyword.
//
// Limits: images are refused; TopK is ignored; thinking is not fed back.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/inference-relay/relay/internal/engine/child/ipc"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/sandbox"
	"github.com/inference-relay/relay/internal/weights"
)

// Config configures the embedded engine.
type Config struct {
	// Binary is the relay binary to run as `Binary engine`; "" means this
	// process's own executable.
	Binary string
	// LibDir holds the llama.cpp libraries (engine.LibDir); the child
	// verifies them before loading.
	LibDir string
	// Models are the verified models to serve (weights.Verified). The
	// Provider takes ownership of their Files and closes them in Close.
	Models []weights.Model
	// Threads per decode (0: one per CPU); ContextLength per context (0:
	// the model's training context, at most 4096).
	Threads       int
	ContextLength int
	// Supervisor starts the child; required.
	Supervisor *sandbox.Supervisor
	// StartTimeout bounds a child's start-up, library checks included
	// (default 60s).
	StartTimeout time.Duration
}

// Provider serves requests through the engine child.
type Provider struct {
	cfg    Config
	sha    string
	models map[string]modelFile
	names  []string

	mu     sync.Mutex // guards cur and serialises starts
	cur    *conn
	closed bool
}

type modelFile struct {
	file *os.File
	fd   int // the descriptor number in the child
}

var (
	_ provider.Provider     = (*Provider)(nil)
	_ provider.ModelLister  = (*Provider)(nil)
	_ provider.TokenCounter = (*Provider)(nil)
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("engine provider: closed")

// New hashes the binary, starts the child and waits until it has loaded
// its libraries.
func New(c Config) (*Provider, error) {
	if c.Supervisor == nil {
		return nil, errors.New("engine provider: a sandbox supervisor is required")
	}
	if c.LibDir == "" {
		return nil, errors.New("engine provider: a library directory is required")
	}
	if c.Threads < 0 || c.ContextLength < 0 {
		return nil, errors.New("engine provider: threads and context length must not be negative")
	}
	c, sum, err := resolveBinary(c)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: c, sha: sum, models: map[string]modelFile{}}
	for i, m := range c.Models {
		if _, dup := p.models[m.Name]; dup || m.Name == "" {
			p.closeFiles()
			return nil, fmt.Errorf("engine provider: model %d: missing or repeated name", i+1)
		}
		file := m.File
		if file == nil {
			if file, err = os.Open(m.Path); err != nil {
				p.closeFiles()
				return nil, fmt.Errorf("engine provider: model %d: %w", i+1, err)
			}
		}
		// Descriptor 3 is the socket; models follow in order.
		p.models[m.Name] = modelFile{file: file, fd: 4 + i}
		p.names = append(p.names, m.Name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur, err = p.start(); err != nil {
		p.closeFiles()
		return nil, err
	}
	return p, nil
}

// resolveBinary fills in c's defaults and resolves and hashes its binary.
func resolveBinary(c Config) (Config, string, error) {
	if c.StartTimeout == 0 {
		c.StartTimeout = time.Minute
	}
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, "", fmt.Errorf("engine provider: %w", err)
		}
		c.Binary = exe
	}
	bin, err := filepath.EvalSymlinks(c.Binary)
	if err == nil {
		bin, err = filepath.Abs(bin)
	}
	if err != nil {
		return c, "", fmt.Errorf("engine provider: binary: %w", err)
	}
	c.Binary = bin
	sum, f, err := sandbox.HashFile(bin)
	if err != nil {
		return c, "", fmt.Errorf("engine provider: binary: %w", err)
	}
	f.Close()
	return c, sum, nil
}

// CheckConfinement starts the engine child exactly as the provider does
// (same binary, Spec and checks) but with nothing to load, and returns its
// confinement as it reported it and as the kernel shows it; then stops
// it. An error names what failed: the namespace, the confinement step, or
// a check against the kernel. c.Models is ignored. For relay doctor.
func CheckConfinement(c Config) (sandbox.Report, sandbox.Confinement, error) {
	if c.Supervisor == nil {
		return sandbox.Report{}, sandbox.Confinement{}, errors.New("engine provider: a sandbox supervisor is required")
	}
	c.Models = nil
	c, sum, err := resolveBinary(c)
	if err != nil {
		return sandbox.Report{}, sandbox.Confinement{}, err
	}
	p := &Provider{cfg: c, sha: sum, models: map[string]modelFile{}}
	conn, err := p.startArgs("--check-confinement")
	if err != nil {
		return sandbox.Report{}, sandbox.Confinement{}, err
	}
	defer conn.kill()
	return conn.report, sandbox.MeasureChild(conn.child.Pid()), nil
}

// start starts a child and waits for its hello. Called with p.mu held.
func (p *Provider) start() (*conn, error) { return p.startArgs() }

// startArgs is start with extra arguments for the child.
func (p *Provider) startArgs(extraArgs ...string) (*conn, error) {
	parent, childEnd, err := sandbox.SocketPair()
	if err != nil {
		return nil, err
	}
	extra := make([]*os.File, 1+len(p.names))
	extra[0] = childEnd
	for _, name := range p.names {
		m := p.models[name]
		extra[m.fd-3] = m.file
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.StartTimeout)
	defer cancel()
	ch, err := p.cfg.Supervisor.Start(context.Background(), sandbox.Spec{
		Path:       p.cfg.Binary,
		SHA256:     p.sha,
		Args:       append([]string{"engine", "--lib-dir", p.cfg.LibDir}, extraArgs...),
		ExtraFiles: extra,
		NoNetwork:  true,
		Filesystem: childFS(p.cfg.LibDir),
		Name:       "engine",
	})
	childEnd.Close()
	if err != nil {
		parent.Close()
		return nil, fmt.Errorf("engine provider: starting the engine: %w", err)
	}
	c := &conn{child: ch, sock: parent, boxes: map[uint32]*inbox{}, dead: make(chan struct{})}
	// The hello (or the child's fatal error) is the first frame; read it
	// before handing the socket to the router.
	type first struct {
		f   ipc.Frame
		err error
	}
	got := make(chan first, 1)
	go func() {
		f, err := ipc.ReadFrame(parent)
		got <- first{f, err}
	}()
	var hello first
	select {
	case hello = <-got:
	case <-ctx.Done():
		_ = ch.Stop(0)
		parent.Close()
		return nil, errors.New("engine provider: the engine did not start in time")
	}
	if hello.err == nil && hello.f.Type == ipc.THello {
		h, err := ipc.DecodeHello(hello.f.Payload)
		if err == nil {
			// Measured, not declared: what the child says it applied must
			// show in the kernel's view of it, or it does not serve.
			rep, rerr := sandbox.ParseReport(h.Confinement)
			if rerr == nil {
				rerr = sandbox.MeasureChild(ch.Pid()).Check(rep, true)
			}
			if rerr != nil {
				_ = ch.Stop(0)
				parent.Close()
				return nil, fmt.Errorf("engine provider: the engine child is not confined as required: %v", rerr)
			}
			c.pid = h.Pid
			c.report = rep
			go c.read()
			return c, nil
		}
	}
	_ = ch.Stop(0)
	parent.Close()
	if hello.err == nil && hello.f.Type == ipc.TError {
		if e, err := ipc.DecodeError(hello.f.Payload); err == nil {
			// The child's own text: it names libraries and files only.
			if e.Code == ipc.CodeLibs {
				return nil, fmt.Errorf("engine provider: the engine refused to start (%w): %s", ErrLibraries, e.Msg)
			}
			return nil, fmt.Errorf("engine provider: the engine refused to start: %s", e.Msg)
		}
	}
	return nil, exitedEarly(ch)
}

// ErrLibraries is wrapped by a start error caused by the llama.cpp
// libraries (missing, or refused by their checks): the one case where
// installing them (scripts/setup-llama) is the fix.
var ErrLibraries = errors.New("its llama.cpp libraries were refused")

// exitedEarly explains a child that exited before its hello: when its
// confinement failed, which step and what to do.
func exitedEarly(ch *sandbox.Child) error {
	var ee *sandbox.ExitError
	if errors.As(ch.Wait(), &ee) && ee.ExitCode() == sandbox.ExitEnterFailed {
		if step, errno, ok := sandbox.EnterFailure(ch.Stderr()); ok {
			return fmt.Errorf("engine provider: the engine child could not confine itself: step %q failed with %s; "+
				"the kernel, or a container's security policy, refuses it (the engine never runs unconfined: "+
				"run the relay where user namespaces, Landlock and seccomp are allowed; 'relay doctor' shows what is missing)", step, errno)
		}
		return errors.New("engine provider: the engine child could not confine itself ('relay doctor' shows what is missing)")
	}
	return errors.New("engine provider: the engine exited before it was ready")
}

// conn returns the running child, starting a new one if the last died.
func (p *Provider) conn() (*conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if p.cur != nil && p.cur.alive() {
		return p.cur, nil
	}
	c, err := p.start()
	if err != nil {
		return nil, provider.Errorf(logic.ErrUnavailable, "the embedded engine could not be started")
	}
	p.cur = c
	return c, nil
}

// Models lists the models served, in configuration order.
func (p *Provider) Models(context.Context) ([]string, error) { return slices.Clone(p.names), nil }

// EndSession clears and frees the context of relay session id in the
// child. A session the child never saw is no error.
func (p *Provider) EndSession(ctx context.Context, id string) error {
	p.mu.Lock()
	c := p.cur
	p.mu.Unlock()
	if c == nil || !c.alive() {
		return nil // a dead child's memory went with it
	}
	_, err := c.roundTrip(ctx, ipc.TEndSession, ipc.EncodeString(id))
	return err
}

// Restart kills the child, and with it everything in its memory, and
// starts a new one.
func (p *Provider) Restart() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.cur != nil {
		p.cur.kill()
		p.cur = nil
	}
	c, err := p.start()
	if err != nil {
		return err
	}
	p.cur = c
	return nil
}

// Stats asks the child about its contexts.
func (p *Provider) Stats(ctx context.Context) (ipc.Stats, error) {
	c, err := p.conn()
	if err != nil {
		return ipc.Stats{}, err
	}
	f, err := c.roundTrip(ctx, ipc.TStats, nil)
	if err != nil {
		return ipc.Stats{}, err
	}
	return ipc.DecodeStats(f.Payload)
}

// Confinement is the running child's confinement: what it reported at its
// start (its Enter and self-test) and what the kernel shows now. ok is
// false when no child runs.
func (p *Provider) Confinement() (rep sandbox.Report, measured sandbox.Confinement, ok bool) {
	p.mu.Lock()
	c := p.cur
	p.mu.Unlock()
	if c == nil || !c.alive() {
		return sandbox.Report{}, sandbox.Confinement{}, false
	}
	return c.report, sandbox.MeasureChild(c.child.Pid()), true
}

// Pid is the running child's process id, 0 when none runs.
func (p *Provider) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || !p.cur.alive() {
		return 0
	}
	return p.cur.child.Pid()
}

// Close kills the child and closes the model files.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.cur != nil {
		p.cur.kill()
		p.cur = nil
	}
	p.closeFiles()
	return nil
}

func (p *Provider) closeFiles() {
	for _, m := range p.models {
		m.file.Close()
	}
}

func (m modelFile) path() string { return "/proc/self/fd/" + strconv.Itoa(m.fd) }

// fromIPC turns a child's error into what the relay presents.
func fromIPC(e *ipc.Error) *provider.Error {
	switch e.Code {
	case ipc.CodeContextLength:
		msg := fmt.Sprintf("the prompt is %d tokens", e.PromptTokens)
		if e.MaxTokens > 0 {
			msg += fmt.Sprintf(" and %d completion tokens were requested", e.MaxTokens)
		}
		msg += fmt.Sprintf(", which does not fit this model's context of %d tokens", e.ContextLength)
		return provider.Errorf(logic.ErrInvalidRequest, msg)
	case ipc.CodeInvalid:
		return provider.Errorf(logic.ErrInvalidRequest, e.Msg)
	case ipc.CodeCanceled:
		return provider.Errorf(logic.ErrCanceled, "request canceled")
	case ipc.CodeModel:
		return provider.Errorf(logic.ErrUnavailable, "the embedded engine could not load the model")
	default:
		return provider.Errorf(logic.ErrUpstream, "the embedded engine failed")
	}
}

// childFS is all the engine child may open: its libraries (it hashes and
// copies them into sealed memory files), the system's shared libraries and
// dynamic loader, /proc (its own descriptors, through which it maps the
// sealed copies and opens the model files it was handed) and the CPU
// topology llama.cpp reads; it writes only in its private working
// directory (the loader's symlinks). The model files themselves arrive as
// open descriptors and stay readable; nothing else on the filesystem is.
func childFS(libDir string) *sandbox.FSRules {
	return &sandbox.FSRules{
		Read: []string{libDir, "/proc", "/sys/devices/system/cpu", "/sys/fs/cgroup", "/etc/ld.so.cache", "/dev/null", "/dev/urandom"},
		Exec: []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib"},
	}
}
