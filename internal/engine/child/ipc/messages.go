package ipc

import "github.com/inference-relay/relay/internal/logic"

// Message is one chat turn. Content is raw bytes: content, to be wiped.
type Message struct {
	Role    string // "system", "user", "assistant", "tool"
	Content []byte
	// ToolCalls are an assistant turn's calls.
	ToolCalls []ToolCall
	// ToolCallID says which call a "tool" turn answers.
	ToolCallID []byte
}

// ToolCall is a call in an assistant turn: Args is a JSON object.
type ToolCall struct {
	ID, Name, Args []byte
}

// Tool is a function the model may call; Schema is the JSON Schema of its
// arguments.
type Tool struct {
	Name, Description, Schema []byte
}

// ToolMode is Generate.ToolChoice.
type ToolMode uint8

const (
	ToolAuto     ToolMode = iota // the model decides
	ToolNone                     // no calls
	ToolRequired                 // at least one call
	ToolNamed                    // a call to Generate.ToolName
)

// Bounds a generate frame's tools must keep; beyond them it does not
// decode (and the child answers with an error frame).
const (
	MaxTools     = 128
	MaxToolCalls = 1024 // per message
)

// DefaultContext is the context length the child uses when Generate sets
// none and the model trained on more: the relay can refuse a max_tokens
// that cannot fit before sending it.
const DefaultContext = 4096

// Generate asks the child for one completion.
type Generate struct {
	// ModelPath is what the child opens: /proc/self/fd/N of a descriptor
	// the relay verified and handed down.
	ModelPath string
	// Threads and ContextLength size the model's contexts (0: defaults).
	Threads       int
	ContextLength int
	// Session names the relay session whose context (KV cache) this
	// request uses; "" uses a pooled context cleared after the request.
	Session     string
	MaxTokens   int
	Temperature float64
	TopP        float64
	Seed        uint32
	Messages    []Message
	Stop        [][]byte
	// Tools and how the model may call them. SingleCall allows one call
	// per reply.
	Tools      []Tool
	ToolChoice ToolMode
	ToolName   []byte
	SingleCall bool
}

// Wipe zeroes the content g holds.
func (g *Generate) Wipe() {
	for _, m := range g.Messages {
		clear(m.Content)
		clear(m.ToolCallID)
		for _, c := range m.ToolCalls {
			clear(c.ID)
			clear(c.Name)
			clear(c.Args)
		}
	}
	for _, s := range g.Stop {
		clear(s)
	}
	for _, t := range g.Tools {
		clear(t.Name)
		clear(t.Description)
		clear(t.Schema)
	}
	clear(g.ToolName)
}

// Encode renders g as a payload; the caller wipes it after sending.
func (g *Generate) Encode() []byte {
	var e enc
	e.str(g.ModelPath)
	e.int(g.Threads)
	e.int(g.ContextLength)
	e.str(g.Session)
	e.int(g.MaxTokens)
	e.f64(g.Temperature)
	e.f64(g.TopP)
	e.uvarint(uint64(g.Seed))
	e.uvarint(uint64(len(g.Messages)))
	for _, m := range g.Messages {
		e.str(m.Role)
		e.bytes(m.Content)
		e.uvarint(uint64(len(m.ToolCalls)))
		for _, c := range m.ToolCalls {
			e.bytes(c.ID)
			e.bytes(c.Name)
			e.bytes(c.Args)
		}
		e.bytes(m.ToolCallID)
	}
	e.uvarint(uint64(len(g.Stop)))
	for _, s := range g.Stop {
		e.bytes(s)
	}
	e.uvarint(uint64(len(g.Tools)))
	for _, t := range g.Tools {
		e.bytes(t.Name)
		e.bytes(t.Description)
		e.bytes(t.Schema)
	}
	e.uvarint(uint64(g.ToolChoice))
	e.bytes(g.ToolName)
	single := uint64(0)
	if g.SingleCall {
		single = 1
	}
	e.uvarint(single)
	return e.b
}

// DecodeGenerate parses a TGenerate payload.
func DecodeGenerate(p []byte) (Generate, error) {
	d := dec{b: p}
	g := Generate{
		ModelPath:     d.str(),
		Threads:       d.int(),
		ContextLength: d.int(),
		Session:       d.str(),
		MaxTokens:     d.int(),
		Temperature:   d.f64(),
		TopP:          d.f64(),
	}
	seed := d.uvarint()
	if seed > 1<<32-1 {
		d.bad = true
	}
	g.Seed = uint32(seed)
	n := d.count()
	for i := 0; i < n && !d.bad; i++ {
		m := Message{Role: d.str(), Content: d.bytes()}
		calls := d.count()
		if calls > MaxToolCalls {
			d.bad = true
		}
		for j := 0; j < calls && !d.bad; j++ {
			m.ToolCalls = append(m.ToolCalls, ToolCall{ID: d.bytes(), Name: d.bytes(), Args: d.bytes()})
		}
		m.ToolCallID = d.bytes()
		g.Messages = append(g.Messages, m)
	}
	n = d.count()
	for i := 0; i < n && !d.bad; i++ {
		g.Stop = append(g.Stop, d.bytes())
	}
	n = d.count()
	if n > MaxTools {
		d.bad = true
	}
	for i := 0; i < n && !d.bad; i++ {
		g.Tools = append(g.Tools, Tool{Name: d.bytes(), Description: d.bytes(), Schema: d.bytes()})
	}
	mode := d.uvarint()
	if mode > uint64(ToolNamed) {
		d.bad = true
	}
	g.ToolChoice = ToolMode(mode)
	g.ToolName = d.bytes()
	single := d.uvarint()
	if single > 1 {
		d.bad = true
	}
	g.SingleCall = single == 1
	if err := d.done("generate"); err != nil {
		g.Wipe()
		return Generate{}, err
	}
	return g, nil
}

// Result ends a generation.
type Result struct {
	PromptTokens     int
	CompletionTokens int
	Stop             logic.StopReason
	StopIndex        int // index into Generate.Stop, or -1
}

// Encode renders r as a payload.
func (r Result) Encode() []byte {
	var e enc
	e.int(r.PromptTokens)
	e.int(r.CompletionTokens)
	e.int(int(r.Stop))
	e.int(r.StopIndex)
	return e.b
}

// DecodeResult parses a TResult payload.
func DecodeResult(p []byte) (Result, error) {
	d := dec{b: p}
	r := Result{PromptTokens: d.int(), CompletionTokens: d.int(), Stop: logic.StopReason(d.int()), StopIndex: d.int()}
	return r, d.done("result")
}

// Code classifies an Error.
type Code uint8

const (
	CodeOK            Code = iota
	CodeInternal           // the engine failed
	CodeInvalid            // the request was malformed or out of range
	CodeContextLength      // the prompt does not fit; the numbers are set
	CodeCanceled           // the request was canceled
	CodeModel              // the model could not be loaded
	CodeLibs               // the libraries were refused (child start-up)
)

// Error is a failed request, or with request id 0 a failed child. Msg is
// the engine's own text: it names files, roles and counts, never content.
type Error struct {
	Code          Code
	Msg           string
	PromptTokens  int
	MaxTokens     int
	ContextLength int
}

func (e *Error) Error() string { return e.Msg }

// Encode renders e as a payload.
func (e *Error) Encode() []byte {
	var en enc
	en.int(int(e.Code))
	en.str(e.Msg)
	en.int(e.PromptTokens)
	en.int(e.MaxTokens)
	en.int(e.ContextLength)
	return en.b
}

// DecodeError parses a TError or TProbeR payload.
func DecodeError(p []byte) (*Error, error) {
	d := dec{b: p}
	e := &Error{Code: Code(d.int()), Msg: d.str(), PromptTokens: d.int(), MaxTokens: d.int(), ContextLength: d.int()}
	return e, d.done("error")
}

// Hello is the child's first frame: it has hardened itself and loaded the
// verified libraries.
type Hello struct {
	Pid int // the child's pid as it sees itself
	// Confinement is what the child's sandbox.Enter applied and its
	// self-test found (a sandbox.Report, JSON): the child's claim, which
	// the relay checks against the kernel.
	Confinement string
}

// Encode renders h as a payload.
func (h Hello) Encode() []byte {
	var e enc
	e.int(h.Pid)
	e.str(h.Confinement)
	return e.b
}

// DecodeHello parses a THello payload.
func DecodeHello(p []byte) (Hello, error) {
	d := dec{b: p}
	h := Hello{Pid: d.int(), Confinement: d.str()}
	return h, d.done("hello")
}

// Stats describe the child's contexts, for tests and diagnostics.
type Stats struct {
	Models   int    // models open
	Sessions int    // contexts owned by relay sessions
	Pooled   int    // idle pooled contexts (all cleared)
	Busy     int    // requests generating now
	Cleared  uint64 // contexts cleared since start (pool returns, ended sessions, cancels)
}

// Encode renders s as a payload.
func (s Stats) Encode() []byte {
	var e enc
	e.int(s.Models)
	e.int(s.Sessions)
	e.int(s.Pooled)
	e.int(s.Busy)
	e.uvarint(s.Cleared)
	return e.b
}

// DecodeStats parses a TStatsR payload.
func DecodeStats(p []byte) (Stats, error) {
	d := dec{b: p}
	s := Stats{Models: d.int(), Sessions: d.int(), Pooled: d.int(), Busy: d.int(), Cleared: d.uvarint()}
	return s, d.done("stats")
}

// EncodeString and DecodeString carry one string: the session of a
// TEndSession, the target of a TProbe.
func EncodeString(s string) []byte {
	var e enc
	e.str(s)
	return e.b
}

// DecodeString parses a payload made by EncodeString.
func DecodeString(p []byte) (string, error) {
	d := dec{b: p}
	s := d.str()
	return s, d.done("string")
}
