package anthropic

import (
	"bytes"
	"io"
	"testing"
)

func TestWipingReader(t *testing.T) {
	buf := []byte("a secret prompt")
	r := &wipingReader{b: buf}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "a secret prompt" {
		t.Fatalf("read %q %v", got, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Errorf("buffer not zeroed: %q", buf)
	}
	if n, err := r.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Errorf("read after close: %d %v", n, err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}
