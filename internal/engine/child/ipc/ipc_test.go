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
		Messages: []Message{{Role: "system", Content: []byte("sys")}, {Role: "user", Content: []byte("a\x00b")},
			{Role: "assistant", ToolCalls: []ToolCall{{ID: []byte("c1"), Name: []byte("f"), Args: []byte(`{"a":1}`)}}},
			{Role: "tool", Content: []byte("42"), ToolCallID: []byte("c1")}},
		Stop:       [][]byte{[]byte("END"), []byte("\n\n")},
		Tools:      []Tool{{Name: []byte("f"), Description: []byte("d"), Schema: []byte(`{"type":"object"}`)}},
		ToolChoice: ToolNamed, ToolName: []byte("f"), SingleCall: true,
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
	if !bytes.Equal(got.Messages[2].ToolCalls[0].Args, make([]byte, 7)) || !bytes.Equal(got.Tools[0].Schema, make([]byte, 17)) {
		t.Fatal("Wipe left a call's arguments or a schema")
	}
}

// A generate frame past the tools' bounds, or with a tool choice or flag
// out of range, does not decode.
func TestGenerateToolBounds(t *testing.T) {
	tools := make([]Tool, MaxTools+1)
	for _, g := range []Generate{
		{Tools: tools},
		{Messages: []Message{{Role: "assistant", ToolCalls: make([]ToolCall, MaxToolCalls+1)}}},
	} {
		if _, err := DecodeGenerate(g.Encode()); !errors.Is(err, ErrProtocol) {
			t.Errorf("over the bounds: %v", err)
		}
	}
	ok := (&Generate{Tools: tools[:MaxTools], ToolChoice: ToolRequired}).Encode()
	if _, err := DecodeGenerate(ok); err != nil {
		t.Fatalf("at the bounds: %v", err)
	}
	for _, bad := range [][]byte{
		append(ok[:len(ok)-3:len(ok)-3], byte(ToolNamed)+1, 0, 0), // tool choice
		append(ok[:len(ok)-1:len(ok)-1], 2),                       // single-call flag
	} {
		if _, err := DecodeGenerate(bad); !errors.Is(err, ErrProtocol) {
			t.Errorf("out of range: %v", err)
		}
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
	f.Add((&Generate{Messages: []Message{{Role: "assistant", ToolCalls: []ToolCall{{ID: []byte("i"), Name: []byte("n"), Args: []byte("{}")}}}},
		Tools: []Tool{{Name: []byte("n"), Schema: []byte("{}")}}, ToolChoice: ToolNamed, ToolName: []byte("n")}).Encode())
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
