package ipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/logic"
)

func TestGenerateRoundTrip(t *testing.T) {
	g := Generate{
		ModelPath: "/proc/self/fd/4", Threads: 2, ContextLength: 512, Session: "s",
		MaxTokens: 9, Temperature: 0.7, TopP: 0.9, Seed: 1<<32 - 1,
		Messages: []Message{{Role: "system", Content: []byte("sys")}, {Role: "user", Content: []byte("a\x00b")}},
		Stop:     [][]byte{[]byte("END"), []byte("\n\n")},
	}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, TGenerate, 7, g.Encode()); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFrame(&buf)
	if err != nil || f.Type != TGenerate || f.ID != 7 {
		t.Fatalf("frame %v %v", f.Type, err)
	}
	got, err := DecodeGenerate(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(g, got); diff != "" {
		t.Fatal(diff)
	}
	got.Wipe()
	if !bytes.Equal(got.Messages[1].Content, make([]byte, 3)) {
		t.Fatal("Wipe left content")
	}
	if g.Messages[1].Content[0] != 'a' {
		t.Fatal("decoding aliased the payload")
	}
}

func TestSmallMessagesRoundTrip(t *testing.T) {
	r := Result{PromptTokens: 3, CompletionTokens: 4, Stop: logic.StopSequence, StopIndex: 1}
	if got, err := DecodeResult(r.Encode()); err != nil || got != r {
		t.Fatalf("result %+v %v", got, err)
	}
	e := &Error{Code: CodeContextLength, Msg: "m", PromptTokens: 1, MaxTokens: 2, ContextLength: 3}
	if got, err := DecodeError(e.Encode()); err != nil || *got != *e {
		t.Fatalf("error %+v %v", got, err)
	}
	s := Stats{Models: 1, Sessions: 2, Pooled: 3, Busy: 4, Cleared: 5}
	if got, err := DecodeStats(s.Encode()); err != nil || got != s {
		t.Fatalf("stats %+v %v", got, err)
	}
	if got, err := DecodeString(EncodeString("x")); err != nil || got != "x" {
		t.Fatalf("string %q %v", got, err)
	}
}

func TestFramesRefused(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], MaxFrame+1)
	if _, err := ReadFrame(bytes.NewReader(hdr[:])); !errors.Is(err, ErrProtocol) {
		t.Fatalf("oversized frame: %v", err)
	}
	binary.BigEndian.PutUint32(hdr[:], 100)
	if _, err := ReadFrame(bytes.NewReader(append(hdr[:], 1, 2, 3))); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated frame: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(nil)); err != io.EOF {
		t.Fatalf("clean end: %v", err)
	}
	p := (&Generate{Messages: []Message{{Role: "user", Content: []byte("x")}}}).Encode()
	if _, err := DecodeGenerate(p[:len(p)-1]); !errors.Is(err, ErrProtocol) {
		t.Fatalf("truncated payload: %v", err)
	}
	if _, err := DecodeGenerate(append(p, 0)); !errors.Is(err, ErrProtocol) {
		t.Fatalf("trailing bytes: %v", err)
	}
}

func FuzzDecodeGenerate(f *testing.F) {
	f.Add((&Generate{Messages: []Message{{Role: "user", Content: []byte("x")}}, Stop: [][]byte{[]byte("s")}}).Encode())
	f.Fuzz(func(t *testing.T, p []byte) {
		g, err := DecodeGenerate(p)
		if err != nil {
			return
		}
		// What decodes survives a re-encode unchanged.
		again, err := DecodeGenerate(g.Encode())
		if err != nil || !bytes.Equal(again.Encode(), g.Encode()) {
			t.Fatalf("re-encode: %v", err)
		}
	})
}
