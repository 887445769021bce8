package gguf

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadMetadata: whatever the bytes, ReadMetadata returns a value or an
// ErrFormat error, without panicking and without large allocations (the
// fuzzer's memory limit catches those).
func FuzzReadMetadata(f *testing.F) {
	var buf bytes.Buffer
	if err := TinyLlama(&buf, 1, TinyOptions{}); err != nil {
		f.Fatal(err)
	}
	model := buf.Bytes()
	f.Add(model[:4096])
	f.Add(model[:200])
	buf.Reset()
	if err := Write(&buf, allTypes(), nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadMetadata(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if m.Version != 2 && m.Version != 3 {
			t.Fatalf("accepted version %d", m.Version)
		}
	})
}
