package engine

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

// run feeds pieces through a streamer and returns what it emitted (each
// emission separately) and the stop index.
func run(stops []string, pieces ...string) ([]string, int) {
	var out []string
	s := &streamer{emit: func(b []byte) error { out = append(out, string(b)); return nil }}
	for _, st := range stops {
		s.stops = append(s.stops, []byte(st))
	}
	for _, p := range pieces {
		if idx, _ := s.write([]byte(p)); idx >= 0 {
			return out, idx
		}
	}
	s.flush()
	return out, -1
}

func join(s []string) string {
	var b bytes.Buffer
	for _, x := range s {
		b.WriteString(x)
	}
	return b.String()
}

func TestStreamerStops(t *testing.T) {
	cases := []struct {
		name   string
		stops  []string
		pieces []string
		want   string
		idx    int
	}{
		{"no stops", nil, []string{"ab", "cd"}, "abcd", -1},
		{"inside one piece", []string{"STOP"}, []string{"abSTOPcd"}, "ab", 0},
		{"across pieces", []string{"STOP"}, []string{"ab", "ST", "O", "Pcd"}, "ab", 0},
		{"false start then real", []string{"STOP"}, []string{"STO", "xSTOP"}, "STOx", 0},
		{"partial prefix at end is text", []string{"STOP"}, []string{"abST"}, "abST", -1},
		{"earliest of several", []string{"cd", "bc"}, []string{"abcd"}, "a", 1},
		{"tie goes to the first listed", []string{"bcd", "bc"}, []string{"abcde"}, "a", 0},
		{"stop at the very start", []string{"x"}, []string{"xyz"}, "", 0},
		{"overlapping prefix", []string{"aab"}, []string{"a", "a", "a", "b"}, "a", 0},
	}
	for _, c := range cases {
		out, idx := run(c.stops, c.pieces...)
		if join(out) != c.want || idx != c.idx {
			t.Errorf("%s: emitted %q (stop %d), want %q (stop %d)", c.name, out, idx, c.want, c.idx)
		}
	}
}

func TestStreamerEmitsEarlyAndHoldsOnlyWhatItMust(t *testing.T) {
	out, _ := run([]string{"STOP"}, "hello ", "wor", "ld S", "T", "x")
	// "hello " and "wor" go out at once; "ld S" waits for its "S".
	want := []string{"hello ", "wor", "ld ", "STx"}
	if len(out) != len(want) {
		t.Fatalf("emissions %q, want %q", out, want)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("emissions %q, want %q", out, want)
		}
	}
}

func TestStreamerNeverSplitsARune(t *testing.T) {
	text := "héllo wörld ✓ 🎉 done"
	b := []byte(text)
	var pieces []string
	for i := range b { // one byte at a time: the worst case
		pieces = append(pieces, string(b[i:i+1]))
	}
	out, _ := run(nil, pieces...)
	if join(out) != text {
		t.Fatalf("emitted %q", join(out))
	}
	for _, o := range out {
		if !utf8.ValidString(o) {
			t.Fatalf("emission %q splits a character", o)
		}
	}
	// Invalid bytes are not held back forever.
	out, _ = run(nil, "a\xff", "b")
	if len(out) != 2 || out[0] != "a\xff" {
		t.Fatalf("invalid byte held: %q", out)
	}
}

func TestPartialRune(t *testing.T) {
	cases := map[string]int{
		"":             0,
		"abc":          0,
		"a\xc3":        1,
		"a\xc3\xa9":    0,
		"\xe2\x9c":     2,
		"\xe2\x9c\x93": 0,
		"\xf0\x9f\x8e": 3,
		"\x80\x80\x80": 0, // continuation bytes with no lead
		"\xff":         0,
		"\xe0\x80":     0, // overlong: invalid however it continues
	}
	for in, want := range cases {
		if got := partialRune([]byte(in)); got != want {
			t.Errorf("partialRune(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestStreamerPassesEmitErrors(t *testing.T) {
	boom := errors.New("boom")
	s := &streamer{emit: func([]byte) error { return boom }}
	if _, err := s.write([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

func TestSplitPlaceholders(t *testing.T) {
	rendered := "<|im_start|>system\n" + placeholder(0) + "<|im_end|>\n<|im_start|>user\n" + placeholder(1) + "<|im_end|>\n"
	segs, err := split(rendered, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []builtinSegment{
		{"<|im_start|>system\n", -1}, {"", 0},
		{"<|im_end|>\n<|im_start|>user\n", -1}, {"", 1},
		{"<|im_end|>\n", -1},
	}
	if len(segs) != len(want) {
		t.Fatalf("segments %+v", segs)
	}
	for i := range want {
		if segs[i] != want[i] {
			t.Fatalf("segment %d = %+v, want %+v", i, segs[i], want[i])
		}
	}
	for _, bad := range []string{"a\x1f5\x1f", "a\x1fx\x1f", "a\x1f0", "\x1f-1\x1f"} {
		if _, err := split(bad, 2); !errors.Is(err, ErrInvalid) {
			t.Errorf("split(%q) accepted", bad)
		}
	}
}
