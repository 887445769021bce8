// Package sse reads and writes Server-Sent Events as the OpenAI and
// Anthropic streaming APIs use them.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
)

// MaxEventBytes caps one event's data; a longer event is an error, not an
// unbounded allocation.
const MaxEventBytes = 4 << 20

// ErrTooLong is returned when an event exceeds MaxEventBytes.
var ErrTooLong = errors.New("sse: event too long")

// Event is one dispatched event. Data lines are joined with "\n".
type Event struct {
	Name string
	Data []byte
}

// Reader reads events from a stream.
type Reader struct {
	s    *bufio.Reader
	data []byte
	name []byte
}

// NewReader reads events from r. The buffer starts small (most events are
// a few hundred bytes); longer lines are assembled across reads.
func NewReader(r io.Reader) *Reader { return &Reader{s: bufio.NewReaderSize(r, 4<<10)} }

// Next returns the next event with data. Comments, retry and id fields are
// skipped. At end of input it returns io.EOF, or io.ErrUnexpectedEOF when an
// event was cut off. The returned Data is valid until the next call.
func (r *Reader) Next() (Event, error) {
	r.data = r.data[:0]
	r.name = r.name[:0]
	hasData := false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && (hasData || len(r.name) > 0) {
				if hasData {
					// A final event without its blank line: dispatch it, as
					// browsers do not, but as lenient servers expect.
					return Event{Name: string(r.name), Data: r.data}, nil
				}
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if hasData {
				return Event{Name: string(r.name), Data: r.data}, nil
			}
			r.name = r.name[:0]
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			if len(r.data)+len(value) > MaxEventBytes {
				return Event{}, ErrTooLong
			}
			r.data = append(r.data, value...)
			hasData = true
		case "event":
			r.name = append(r.name[:0], value...)
		}
	}
}

// readLine returns one line without its terminator (\n, \r\n or \r).
func (r *Reader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.s.ReadSlice('\n')
		if len(line)+len(chunk) > MaxEventBytes+64 {
			return nil, ErrTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return trimEOL(line), nil
			}
			return nil, err
		}
		return trimEOL(line), nil
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// Writer writes events to an HTTP response and flushes each one at once.
type Writer struct {
	w   io.Writer
	rc  *http.ResponseController
	buf []byte
	err error
}

// NewWriter sets the SSE headers on w (status 200) and returns a Writer.
func NewWriter(w http.ResponseWriter) *Writer {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &Writer{w: w, rc: http.NewResponseController(w)}
}

// Event writes one event (name may be empty) with data on one line, and
// flushes. data must not contain a newline (JSON from encoding/json never
// does). After the first failure every call returns that error.
func (w *Writer) Event(name string, data []byte) error {
	if w.err != nil {
		return w.err
	}
	w.buf = w.buf[:0]
	if name != "" {
		w.buf = append(w.buf, "event: "...)
		w.buf = append(w.buf, name...)
		w.buf = append(w.buf, '\n')
	}
	w.buf = append(w.buf, "data: "...)
	w.buf = append(w.buf, data...)
	w.buf = append(w.buf, "\n\n"...)
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = err
		return err
	}
	clear(w.buf)
	if err := w.rc.Flush(); err != nil {
		w.err = err
	}
	return w.err
}

// Err returns the first write error, if any.
func (w *Writer) Err() error { return w.err }
