// Package ipc is the framed protocol between the relay and its engine child
// (`relay engine`), spoken over one end of a sandbox.SocketPair. It imports
// nothing of the engine, so the relay side does not link llama.cpp.
//
// What it promises:
//
//   - A frame is a 4-byte big-endian length, then a 1-byte type, a 4-byte
//     request id and a binary payload. Lengths are capped ([MaxFrame]); a
//     larger or malformed frame is a protocol error that ends the
//     connection, never a panic or an unbounded allocation.
//   - Content (messages, tools, calls, stop sequences, generated pieces,
//     a call's name and arguments) travels only in
//     payloads, as raw bytes: never in argv, the environment, or any
//     error's text. Payload buffers that held content are zeroed once
//     decoded ([Frame.Wipe]).
//   - Errors carry a [Code] and numbers the relay can present; their
//     message is the engine's own text, which never quotes content.
package ipc

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
)

// MaxFrame caps a frame's length (type, id and payload). Requests carry
// whole conversations, so it is generous; anything above is refused.
const MaxFrame = 64 << 20

// Type is a frame's kind.
type Type uint8

// Parent to child.
const (
	TGenerate   Type = 1 + iota // Generate: start a generation
	TCancel                     // no payload: cancel the request with this id
	TEndSession                 // EndSession: clear and free a session's context
	TStats                      // no payload: ask for Stats
	TProbe                      // Probe (tests): try to dial an address
	TCount                      // Generate: count its prompt's tokens; answered with a Result (PromptTokens) or an Error
)

// Child to parent.
const (
	THello    Type = 32 + iota // Hello: the child is ready
	TPiece                     // raw completion bytes
	TResult                    // Result: the generation finished
	TError                     // Error: the request (or, with id 0, the child) failed
	TAck                       // no payload: EndSession done
	TStatsR                    // Stats
	TProbeR                    // Error-shaped payload: the probe's outcome (Code OK = connected)
	TToolCall                  // raw bytes: the name of a tool call that opens (its arguments follow)
	TToolArgs                  // raw bytes: a fragment of the open call's JSON arguments
)

// Frame is one decoded frame. Payload belongs to the frame.
type Frame struct {
	Type    Type
	ID      uint32
	Payload []byte
}

// Wipe zeroes the payload: pieces and requests are content.
func (f *Frame) Wipe() { clear(f.Payload) }

// ErrProtocol is wrapped by every malformed-frame error.
var ErrProtocol = errors.New("engine ipc: protocol error")

// WriteFrame writes one frame in a single Write call, so frames written
// under one lock never interleave.
func WriteFrame(w io.Writer, t Type, id uint32, payload []byte) error {
	n := 5 + len(payload)
	if n > MaxFrame {
		return errors.New("engine ipc: frame too large")
	}
	buf := make([]byte, 4+n)
	binary.BigEndian.PutUint32(buf, uint32(n))
	buf[4] = byte(t)
	binary.BigEndian.PutUint32(buf[5:], id)
	copy(buf[9:], payload)
	_, err := w.Write(buf)
	clear(buf)
	return err
}

// ReadFrame reads one frame. io.EOF means the peer closed between frames.
func ReadFrame(r io.Reader) (Frame, error) {
	var hdr [9]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 5 || n > MaxFrame {
		return Frame{}, errors.Join(ErrProtocol, errors.New("bad frame length"))
	}
	if _, err := io.ReadFull(r, hdr[4:]); err != nil {
		return Frame{}, noEOF(err)
	}
	f := Frame{Type: Type(hdr[4]), ID: binary.BigEndian.Uint32(hdr[5:])}
	f.Payload = make([]byte, n-5)
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return Frame{}, noEOF(err)
	}
	return f, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// enc appends fields to a payload.
type enc struct{ b []byte }

func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) int(v int)        { e.b = binary.AppendVarint(e.b, int64(v)) }
func (e *enc) f64(v float64)    { e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *enc) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *enc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }

// dec reads fields; the first failure sticks and every later read is zero.
type dec struct {
	b   []byte
	bad bool
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int {
	v, n := binary.Varint(d.b)
	if n <= 0 || v > math.MaxInt32 || v < math.MinInt32 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *dec) f64() float64 {
	if len(d.b) < 8 {
		d.bad = true
		return 0
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

// bytes returns a copy, so the frame's payload can be wiped independently.
func (d *dec) bytes() []byte {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	p := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return p
}

func (d *dec) str() string { return string(d.bytes()) }

// count reads a list length, refusing one the remaining bytes cannot hold
// (each element takes at least one byte).
func (d *dec) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad = true
		return 0
	}
	return int(n)
}

func (d *dec) done(what string) error {
	if d.bad || len(d.b) != 0 {
		return errors.Join(ErrProtocol, errors.New("malformed "+what))
	}
	return nil
}
