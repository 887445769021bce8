package session

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"unsafe"

	"github.com/inference-relay/relay/internal/content"
)

func TestCodecRoundTripEveryKind(t *testing.T) {
	for i, m := range everyKind() {
		buf := make([]byte, encodedSize(&m))
		encode(buf, &m)
		got, err := decode(buf)
		if err != nil {
			t.Fatalf("message %d: decode: %v", i, err)
		}
		if !sameMessage(got, m) {
			t.Fatalf("message %d: round trip differs", i)
		}
		// decode zeroed the framing: wiping the content leaves nothing.
		got.Wipe()
		if !allZero(buf) {
			t.Fatalf("message %d: buffer not zero after Wipe of the decoded message", i)
		}
	}
}

// A decoded Text must not let an append spill into its neighbour.
func TestDecodedTextsCannotOverwriteNeighbours(t *testing.T) {
	m := content.Message{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartToolCall, ToolID: text("id"), ToolName: text("name")}}}
	buf := make([]byte, encodedSize(&m))
	encode(buf, &m)
	got, err := decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	_ = got.Parts[0].ToolID.AppendBytes([]byte("XXXXXXXX"))
	if string(got.Parts[0].ToolName.Bytes()) != "name" {
		t.Fatal("appending to one decoded field overwrote the next")
	}
}

// textFields must cover every content field of Part; Kind and IsError are
// the only others. A new Part field fails here until the codec knows it.
func TestTextFieldsCoverPart(t *testing.T) {
	var p content.Part
	listed := map[uintptr]bool{}
	for _, f := range textFields(&p) {
		listed[uintptr(unsafe.Pointer(f))] = true
	}
	if len(listed) != 8 {
		t.Fatalf("textFields lists %d distinct fields, want 8", len(listed))
	}
	rt := reflect.TypeFor[content.Part]()
	textType := reflect.TypeFor[content.Text]()
	base := uintptr(unsafe.Pointer(&p))
	for i := range rt.NumField() {
		f := rt.Field(i)
		switch {
		case f.Type == textType:
			if !listed[base+f.Offset] {
				t.Errorf("Part.%s is not encoded", f.Name)
			}
		case f.Name == "Kind" || f.Name == "IsError":
		default:
			t.Errorf("Part.%s is unknown to the codec", f.Name)
		}
	}
}

func TestDecodeRejectsBadFraming(t *testing.T) {
	m := everyKind()[1]
	good := make([]byte, encodedSize(&m))
	encode(good, &m)
	cases := map[string][]byte{
		"empty":         {},
		"bad version":   append([]byte{9}, good[1:]...),
		"truncated":     bytes.Clone(good[:len(good)-1]),
		"trailing":      append(bytes.Clone(good), 0),
		"bad flags":     func() []byte { b := bytes.Clone(good); b[4] = 0x80; return b }(),
		"huge count":    {codecVersion, 1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"length beyond": {codecVersion, 1, 1, 1, 0, 0x7f, 0, 0, 0, 0, 0, 0, 0},
	}
	for name, b := range cases {
		if _, err := decode(b); !errors.Is(err, errFraming) {
			t.Errorf("%s: err %v, want errFraming", name, err)
		}
		if !allZero(b) {
			t.Errorf("%s: buffer not zeroed after a failed decode", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range everyKind() {
		b := make([]byte, encodedSize(&m))
		encode(b, &m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(bytes.Clone(b))
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		again := make([]byte, encodedSize(&m))
		encode(again, &m)
		m2, err := decode(again)
		if err != nil || !sameMessage(m, m2) {
			t.Fatalf("re-encoding a decoded message changed it (%v)", err)
		}
	})
}
