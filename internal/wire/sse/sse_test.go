package sse

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string) ([]Event, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var out []Event
	for {
		ev, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, Event{Name: ev.Name, Data: bytes.Clone(ev.Data)})
	}
}

func TestReader(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []Event
		err  error
	}{
		{"openai chunks", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []Event{{Data: []byte(`{"a":1}`)}, {Data: []byte("[DONE]")}}, io.EOF},
		{"anthropic named", "event: ping\ndata: {}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", []Event{{Name: "ping", Data: []byte("{}")}, {Name: "message_stop", Data: []byte(`{"type":"message_stop"}`)}}, io.EOF},
		{"crlf and comments", ": keepalive\r\nretry: 10\r\nid: 7\r\ndata:x\r\n\r\n", []Event{{Data: []byte("x")}}, io.EOF},
		{"multi-line data", "data: a\ndata: b\n\n", []Event{{Data: []byte("a\nb")}}, io.EOF},
		{"name without data is skipped", "event: x\n\ndata: y\n\n", []Event{{Data: []byte("y")}}, io.EOF},
		{"last event without blank line", "data: tail", []Event{{Data: []byte("tail")}}, io.EOF},
		{"cut after a name", "event: x\n", nil, io.ErrUnexpectedEOF},
		{"lone CR line endings are not split", "data: a\rb\n\n", []Event{{Data: []byte("a\rb")}}, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %q, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i].Name != tc.want[i].Name || !bytes.Equal(got[i].Data, tc.want[i].Data) {
					t.Errorf("event %d = %q/%q, want %q/%q", i, got[i].Name, got[i].Data, tc.want[i].Name, tc.want[i].Data)
				}
			}
		})
	}
}

func TestReaderCapsEvents(t *testing.T) {
	long := "data: " + strings.Repeat("x", MaxEventBytes+10) + "\n\n"
	if _, err := readAll(t, long); !errors.Is(err, ErrTooLong) {
		t.Fatalf("one huge line: err = %v", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("y", 1<<20)+"\n", 5) + "\n"
	if _, err := readAll(t, many); !errors.Is(err, ErrTooLong) {
		t.Fatalf("many data lines: err = %v", err)
	}
}

func TestWriterFlushesEachEvent(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec)
	if rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
	}
	if err := w.Event("message_start", []byte(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Fatal("event not flushed")
	}
	if err := w.Event("", []byte("[DONE]")); err != nil {
		t.Fatal(err)
	}
	want := "event: message_start\ndata: {\"x\":1}\n\ndata: [DONE]\n\n"
	if rec.Body.String() != want {
		t.Fatalf("body %q, want %q", rec.Body.String(), want)
	}
	// What the writer writes, the reader reads back.
	got, err := readAll(t, rec.Body.String())
	if err != io.EOF || len(got) != 2 || got[0].Name != "message_start" || string(got[1].Data) != "[DONE]" {
		t.Fatalf("read back %q, %v", got, err)
	}
}

type failWriter struct{ *httptest.ResponseRecorder }

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("gone") }

func TestWriterErrorIsSticky(t *testing.T) {
	w := NewWriter(failWriter{httptest.NewRecorder()})
	if err := w.Event("a", []byte("1")); err == nil {
		t.Fatal("write error lost")
	}
	if err := w.Event("b", []byte("2")); err == nil || w.Err() == nil {
		t.Fatal("error not sticky")
	}
}

// FuzzReader: arbitrary bytes never panic or loop, and every event's data
// is bounded.
func FuzzReader(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("event: message_start\ndata: {}\r\n\r\n: c\nevent: x\n"))
	f.Add([]byte("data\ndata:\ndata: \n\n\r\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		for i := 0; ; i++ {
			if i > len(in)+1 {
				t.Fatal("more events than input bytes")
			}
			ev, err := r.Next()
			if err != nil {
				return
			}
			if len(ev.Data) > MaxEventBytes {
				t.Fatal("event over the cap")
			}
		}
	})
}
