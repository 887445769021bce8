package content

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const canary = "CANARY-content-7f3a"

func TestTextRedactsEverywhere(t *testing.T) {
	tx := FromString(canary)
	req := &Request{System: []Text{tx}, Messages: []Message{{Role: RoleUser, Parts: []Part{{Kind: PartText, Text: tx}}}}}
	d := Delta{Kind: DeltaText, Text: tx}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
		outs = append(outs, fmt.Sprintf(verb, tx), fmt.Sprintf(verb, req), fmt.Sprintf(verb, d), fmt.Sprintf(verb, req.Messages[0]))
	}
	//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
	outs = append(outs, tx.String(), tx.GoString(), fmt.Sprint(tx), fmt.Sprintln(req))
	j, _ := json.Marshal(map[string]any{"t": tx, "ts": []Text{tx}})
	outs = append(outs, string(j))
	mt, _ := tx.MarshalText()
	outs = append(outs, string(mt))
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
	log.Info("x", "t", tx, "req", req, "delta", d, "msg", req.Messages[0])
	outs = append(outs, buf.String())
	for _, o := range outs {
		if strings.Contains(o, canary) || strings.Contains(o, fmt.Sprintf("%x", canary)) {
			t.Fatalf("content leaked through a formatting path: %q", o)
		}
	}
	if !strings.Contains(buf.String(), Redacted) {
		t.Fatal("slog output lacks the redaction marker")
	}
}

func TestWipeZeroes(t *testing.T) {
	b := []byte(canary)
	tx := Of(b)
	tx.Wipe()
	if !bytes.Equal(b, make([]byte, len(canary))) || tx.Len() != 0 {
		t.Fatalf("after Wipe: %q, len %d", b, tx.Len())
	}
	parts := [][]byte{[]byte("sys"), []byte("user"), []byte("args"), []byte("schema"), []byte("stop")}
	r := &Request{
		System:   []Text{Of(parts[0])},
		Messages: []Message{{Role: RoleUser, Parts: []Part{{Kind: PartText, Text: Of(parts[1])}, {Kind: PartToolCall, Args: Of(parts[2])}}}},
		Tools:    []Tool{{Schema: Of(parts[3])}},
		Stop:     []Text{Of(parts[4])},
	}
	if r.Size() != 3+4+4+6 {
		t.Fatalf("Size = %d", r.Size())
	}
	r.Wipe()
	for _, p := range parts {
		if !bytes.Equal(p, make([]byte, len(p))) {
			t.Fatalf("request wipe left %q", p)
		}
	}
}

func TestWipeDoesNotReachBeyondItsSlice(t *testing.T) {
	buf := []byte("keepWIPEkeep")
	tx := Of(buf[4:8])
	tx.Wipe()
	if string(buf[:4]) != "keep" || string(buf[8:]) != "keep" {
		t.Fatalf("wipe touched neighbouring bytes: %q", buf)
	}
}

func TestCollector(t *testing.T) {
	var c Collector
	for _, d := range []Delta{
		{Kind: DeltaThinking, Index: 0, Text: FromString("hmm")},
		{Kind: DeltaSignature, Index: 0, Text: FromString("sig")},
		{Kind: DeltaText, Index: 1, Text: FromString("Hel")},
		{Kind: DeltaText, Index: 1, Text: FromString("lo")},
		{Kind: DeltaToolCall, Index: 2, ToolID: FromString("call_1"), ToolName: FromString("f")},
		{Kind: DeltaToolArgs, Index: 2, Text: FromString(`{"a":`)},
		{Kind: DeltaToolArgs, Index: 2, Text: FromString(`1}`)},
	} {
		c.Add(d)
	}
	m := c.Message()
	if m.Role != RoleAssistant || len(m.Parts) != 3 {
		t.Fatalf("message %d parts", len(m.Parts))
	}
	if p := m.Parts[0]; p.Kind != PartThinking || string(p.Text.Bytes()) != "hmm" || string(p.Signature.Bytes()) != "sig" {
		t.Errorf("thinking part wrong")
	}
	if p := m.Parts[1]; p.Kind != PartText || string(p.Text.Bytes()) != "Hello" {
		t.Errorf("text part %q", p.Text.Bytes())
	}
	if p := m.Parts[2]; p.Kind != PartToolCall || string(p.ToolID.Bytes()) != "call_1" || string(p.ToolName.Bytes()) != "f" || string(p.Args.Bytes()) != `{"a":1}` {
		t.Errorf("tool part wrong")
	}
}
