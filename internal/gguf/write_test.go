package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// The exact bytes of a small file, worked out by hand from the GGUF spec.
func TestWriteGolden(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf,
		[]KV{{"a", uint16(0x0102)}, {"b", []int8{-1, 2}}},
		[]Tensor{{"t", []uint64{2}, []float32{1, -2}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"47475546" + "03000000" + // magic, version 3
		"0100000000000000" + "0200000000000000" + // 1 tensor, 2 KVs
		"0100000000000000" + "61" + "02000000" + "0201" + // "a": uint16 0x0102
		"0100000000000000" + "62" + "09000000" + "01000000" + "0200000000000000" + "ff02" + // "b": [int8]{-1, 2}
		"0100000000000000" + "74" + "01000000" + "0200000000000000" + "00000000" + "0000000000000000" + // tensor "t": 1 dim {2}, F32, offset 0
		strings.Repeat("00", 128-99) + // pad the 99-byte header to 128
		"0000803f" + "000000c0" + // 1.0, -2.0
		strings.Repeat("00", 24) // pad the data to 32
	if got := hex.EncodeToString(buf.Bytes()); got != want {
		t.Fatalf("bytes\n got %s\nwant %s", got, want)
	}
}

// allTypes holds one key of every type, then the keys ReadMetadata keeps:
// it finds them only if it skipped every other value exactly.
func allTypes() []KV {
	return []KV{
		{"u8", uint8(1)}, {"i8", int8(-1)}, {"u16", uint16(2)}, {"i16", int16(-2)},
		{"u32", uint32(3)}, {"i32", int32(-3)}, {"f32", float32(1.5)}, {"bool", true},
		{"str", "text"}, {"u64", uint64(4)}, {"i64", int64(-4)}, {"f64", float64(2.5)},
		{"a.u8", []uint8{1, 2}}, {"a.i8", []int8{-1}}, {"a.u16", []uint16{1}}, {"a.i16", []int16{1}},
		{"a.u32", []uint32{1, 2, 3}}, {"a.i32", []int32{-1}}, {"a.f32", []float32{1}}, {"a.bool", []bool{true, false}},
		{"a.str", []string{"x", "", "yz"}}, {"a.u64", []uint64{1}}, {"a.i64", []int64{-1}}, {"a.f64", []float64{1}},
		{"general.architecture", "arch"},
		{"general.name", "name"},
		{"general.description", "desc"},
		{"arch.context_length", uint32(4096)},
		{"other.context_length", uint32(7)},
		{"tokenizer.chat_template", "{{ x }}"},
	}
}

func TestReadBackEveryType(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, allTypes(), []Tensor{{"w", []uint64{3, 2}, make([]float32, 6)}}); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMetadata(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := Metadata{Version: 3, TensorCount: 1, KVCount: uint64(len(allTypes())), Architecture: "arch",
		Name: "name", Description: "desc", ContextLength: 4096, ChatTemplate: "{{ x }}"}
	if *m != want {
		t.Fatalf("read %+v\nwant %+v", *m, want)
	}
}

func TestTensorDataIsAligned(t *testing.T) {
	var buf bytes.Buffer
	tensors := []Tensor{
		{"a", []uint64{3}, []float32{1, 2, 3}},
		{"b", []uint64{5}, []float32{4, 5, 6, 7, 8}},
	}
	if err := Write(&buf, []KV{{"k", "v"}}, tensors); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// Header: 24 bytes, the KV (8+1+4+8+1 = 22), then each tensor info
	// (8+1 name, 4 dims count, 8 dim, 4 type, 8 offset = 33).
	info := 24 + 22
	offB := binary.LittleEndian.Uint64(b[info+33+25:])
	if offB != 32 {
		t.Fatalf("second tensor at offset %d, want 32 (12 bytes rounded up)", offB)
	}
	data := alignUp(uint64(info + 2*33))
	if got := binary.LittleEndian.Uint32(b[data+offB:]); got != 0x40800000 { // 4.0
		t.Fatalf("second tensor's first value %#x", got)
	}
	if len(b)%Alignment != 0 {
		t.Fatalf("file length %d not aligned", len(b))
	}
}

func TestWriteRefuses(t *testing.T) {
	f32 := []float32{1, 2}
	cases := map[string]struct {
		kvs     []KV
		tensors []Tensor
	}{
		"duplicate key":    {[]KV{{"a", uint8(1)}, {"a", uint8(2)}}, nil},
		"empty key":        {[]KV{{"", uint8(1)}}, nil},
		"unsupported type": {[]KV{{"a", 1}}, nil},
		"nested array":     {[]KV{{"a", [][]string{{"x"}}}}, nil},
		"other alignment":  {[]KV{{"general.alignment", uint32(64)}}, nil},
		"shape mismatch":   {nil, []Tensor{{"t", []uint64{3}, f32}}},
		"zero dimension":   {nil, []Tensor{{"t", []uint64{0}, nil}}},
		"five dimensions":  {nil, []Tensor{{"t", []uint64{1, 1, 1, 1, 2}, f32}}},
		"duplicate tensor": {nil, []Tensor{{"t", []uint64{2}, f32}, {"t", []uint64{2}, f32}}},
		"long name":        {nil, []Tensor{{strings.Repeat("n", 64), []uint64{2}, f32}}},
	}
	for name, c := range cases {
		var buf bytes.Buffer
		if err := Write(&buf, c.kvs, c.tensors); err == nil {
			t.Errorf("%s: accepted", name)
		} else if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes before refusing", name, buf.Len())
		}
	}
}

func TestReadMetadataRefuses(t *testing.T) {
	var good bytes.Buffer
	if err := Write(&good, allTypes(), nil); err != nil {
		t.Fatal(err)
	}
	b := good.Bytes()
	withVersion := func(v byte) []byte { c := bytes.Clone(b); c[4] = v; return c }
	cases := map[string][]byte{
		"empty":       nil,
		"not gguf":    []byte("GGML\x03\x00\x00\x00"),
		"version 1":   withVersion(1),
		"version 9":   withVersion(9),
		"truncated":   b[:len(b)-40], // past the padding, into the last value
		"huge string": append(bytes.Clone(b[:24]), "\x01\x00\x00\x00\x00\x00\x00\x00a\x08\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7f"...),
		"bad type":    append(bytes.Clone(b[:24]), "\x01\x00\x00\x00\x00\x00\x00\x00a\x63\x00\x00\x00"...),
		"nested":      append(bytes.Clone(b[:24]), "\x01\x00\x00\x00\x00\x00\x00\x00a\x09\x00\x00\x00\x09\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"...),
	}
	for name, in := range cases {
		if _, err := ReadMetadata(bytes.NewReader(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", name, err)
		}
	}
}
