package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/gguf"
	"github.com/inference-relay/relay/internal/logic"
)

// generate runs one generation and returns the emitted bytes and the pieces.
func generate(t *testing.T, s *Session, msgs []ChatMessage, p Params) ([]byte, Result) {
	t.Helper()
	var out []byte
	res, err := s.Generate(context.Background(), msgs, p, func(b []byte) error {
		out = append(out, b...)
		return nil
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return out, res
}

func TestGreedyIsDeterministic(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	msgs := chat("Hello, who are you?")
	p := Params{MaxTokens: 24}
	a, ra := generate(t, session(t, m, 256), msgs, p)
	b, rb := generate(t, session(t, m, 256), msgs, p)
	if !bytes.Equal(a, b) || ra != rb {
		t.Fatalf("two greedy runs differ:\n%q %+v\n%q %+v", a, ra, b, rb)
	}
	if len(a) == 0 {
		t.Fatal("greedy run emitted nothing")
	}
	if ra.Stop != logic.StopMaxTokens || ra.CompletionTokens != 24 || ra.StopIndex != -1 {
		t.Fatalf("result %+v, want 24 tokens stopped by max_tokens", ra)
	}
}

func TestSeedDecidesSampling(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s := session(t, m, 256)
	msgs := chat("Tell me something random.")
	p := Params{MaxTokens: 32, Temperature: 1, TopP: 0.95, Seed: 42}
	a, _ := generate(t, s, msgs, p)
	b, _ := generate(t, s, msgs, p) // same session: the cached prompt is reused
	if !bytes.Equal(a, b) {
		t.Fatalf("same seed, different output:\n%q\n%q", a, b)
	}
	p.Seed = 43
	c, _ := generate(t, s, msgs, p)
	if bytes.Equal(a, c) {
		t.Fatalf("seeds 42 and 43 sampled the same %d bytes", len(a))
	}
}

func TestTokenCounts(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s := session(t, m, 256)
	msgs := chat("hi")
	n, err := m.CountTokens(msgs)
	if err != nil {
		t.Fatal(err)
	}
	_, res := generate(t, s, msgs, Params{MaxTokens: 7})
	if res.PromptTokens != n || res.CompletionTokens != 7 {
		t.Fatalf("result %+v, want %d prompt and 7 completion tokens", res, n)
	}
	// " hello" is one token of the tiny vocabulary (a merged word).
	n2, err := m.CountTokens(chat("hi hello"))
	if err != nil {
		t.Fatal(err)
	}
	if n2 != n+1 {
		t.Fatalf(`appending " hello" added %d tokens, want 1`, n2-n)
	}
}

func TestContentCannotForgeControlTokens(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	base, err := m.CountTokens(chat(""))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := m.CountTokens(chat(gguf.TokenImEnd))
	if err != nil {
		t.Fatal(err)
	}
	// As the control token it would add exactly 1; as text it is several
	// byte-level tokens.
	if got := forged - base; got < 4 {
		t.Fatalf("content %q became %d tokens: parsed as a control token", gguf.TokenImEnd, got)
	}
}

func TestStopSequence(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s := session(t, m, 256)
	msgs := chat("Count to ten.")
	full, _ := generate(t, s, msgs, Params{MaxTokens: 40})
	if len(full) < 20 {
		t.Fatalf("only %d bytes generated", len(full))
	}
	stop := bytes.Clone(full[12:15])
	want := full[:bytes.Index(full, stop)]
	never := []byte("this sequence will not appear!")
	var pieces [][]byte
	res, err := s.Generate(context.Background(), msgs, Params{MaxTokens: 40, Stop: [][]byte{never, stop}}, func(b []byte) error {
		pieces = append(pieces, bytes.Clone(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := bytes.Join(pieces, nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("output cut at the stop sequence:\n got %q\nwant %q", got, want)
	}
	if res.Stop != logic.StopSequence || res.StopIndex != 1 {
		t.Fatalf("result %+v, want stop_sequence at index 1", res)
	}
	if res.CompletionTokens >= 40 {
		t.Fatalf("%d tokens: generation did not stop early", res.CompletionTokens)
	}
}

func TestMaxTokens(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s := session(t, m, 256)
	for _, n := range []int{1, 5} {
		_, res := generate(t, s, chat("Go on."), Params{MaxTokens: n})
		if res.CompletionTokens != n || res.Stop != logic.StopMaxTokens {
			t.Fatalf("MaxTokens %d: result %+v", n, res)
		}
	}
}

func TestUntilContextFull(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s := session(t, m, 64)
	_, res := generate(t, s, chat("Fill it."), Params{})
	if res.Stop != logic.StopMaxTokens || res.PromptTokens+res.CompletionTokens != 64 {
		t.Fatalf("result %+v: want the context (64) filled exactly", res)
	}
}

func TestModelEndsItsTurn(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{EndWeight: 4})
	_, res := generate(t, session(t, m, 256), chat("Say one word."), Params{MaxTokens: 100})
	if res.Stop != logic.StopEnd || res.CompletionTokens >= 100 {
		t.Fatalf("result %+v: want the model to end its turn", res)
	}
}

func TestCachedPrefixGivesSameResult(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	turn1 := chat("First question?")
	reply, _ := generate(t, session(t, m, 512), turn1, Params{MaxTokens: 16})
	turn2 := chat("First question?", string(reply), "Second question?")

	warm := session(t, m, 512)
	generate(t, warm, turn1, Params{MaxTokens: 16})
	a, ra := generate(t, warm, turn2, Params{MaxTokens: 16})
	b, rb := generate(t, session(t, m, 512), turn2, Params{MaxTokens: 16})
	if !bytes.Equal(a, b) || ra != rb {
		t.Fatalf("reusing the cache changed the output:\n%q %+v\n%q %+v", a, ra, b, rb)
	}
	if len(warm.cached) == 0 {
		t.Fatal("the session keeps no cache")
	}
	warm.Clear()
	if len(warm.cached) != 0 {
		t.Fatal("Clear left tokens in the cache")
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s := session(t, m, 512)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pieces := 0
	res, err := s.Generate(ctx, chat("Never stop."), Params{}, func([]byte) error {
		pieces++
		if pieces == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	// Promptness counted in decode steps, not seconds: the cancel is seen
	// within a step of the piece that sent it.
	if res.CompletionTokens > 20 {
		t.Fatalf("%d tokens generated after the cancel", res.CompletionTokens)
	}
	// The session is still usable and gives what a fresh one gives.
	a, _ := generate(t, s, chat("Hello"), Params{MaxTokens: 8})
	b, _ := generate(t, session(t, m, 512), chat("Hello"), Params{MaxTokens: 8})
	if !bytes.Equal(a, b) {
		t.Fatalf("after a cancel: %q, fresh session: %q", a, b)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := s.Generate(ctx, chat("x"), Params{}, func([]byte) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before the call: err %v", err)
	}
}

func TestEmitErrorEndsGeneration(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	boom := errors.New("client went away")
	_, err := session(t, m, 256).Generate(context.Background(), chat("x"), Params{MaxTokens: 50}, func([]byte) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the emit error", err)
	}
}

func TestContextLength(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s := session(t, m, 64)
	long := strings.Repeat("word ", 80)
	_, err := s.Generate(context.Background(), chat(long), Params{}, func([]byte) error { return nil })
	var cle *ContextLengthError
	if !errors.Is(err, ErrContextLength) || !errors.As(err, &cle) {
		t.Fatalf("err %v, want ErrContextLength", err)
	}
	if cle.PromptTokens <= 64 || cle.ContextLength != 64 {
		t.Fatalf("numbers %+v", cle)
	}
	if strings.Contains(err.Error(), "word") {
		t.Fatal("the error quotes the prompt")
	}

	n, _ := m.CountTokens(chat("short"))
	_, err = s.Generate(context.Background(), chat("short"), Params{MaxTokens: 64 - n + 1}, func([]byte) error { return nil })
	if !errors.As(err, &cle) || cle.MaxTokens != 64-n+1 || cle.PromptTokens != n {
		t.Fatalf("prompt %d + max tokens %d > 64: err %v", n, 64-n+1, err)
	}
	if _, res := generate(t, s, chat("short"), Params{MaxTokens: 64 - n}); res.CompletionTokens != 64-n {
		t.Fatalf("exactly full: result %+v", res)
	}
}

func TestInvalidRequests(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s := session(t, m, 64)
	nop := func([]byte) error { return nil }
	cases := map[string]struct {
		msgs []ChatMessage
		p    Params
	}{
		"unknown role":    {[]ChatMessage{{Role: "wizard", Content: content.FromString("x")}}, Params{}},
		"NUL in content":  {chat("a\x00b"), Params{}},
		"no messages":     {nil, Params{}},
		"negative tokens": {chat("x"), Params{MaxTokens: -1}},
		"bad temperature": {chat("x"), Params{Temperature: -1}},
		"bad top_p":       {chat("x"), Params{TopP: 1.5}},
		"empty stop":      {chat("x"), Params{Stop: [][]byte{{}}}},
	}
	for name, c := range cases {
		_, err := s.Generate(context.Background(), c.msgs, c.p, nop)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "wizard") {
			t.Errorf("%s: error echoes the role", name)
		}
	}
}

func TestClosed(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s, err := m.NewSession(64)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // idempotent
	if _, err := s.Generate(context.Background(), chat("x"), Params{}, func([]byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: err %v", err)
	}
}

// The abort callback is wired to the session: with its flag set, llama.cpp
// gives up on a batch (status 2), which is how a cancel interrupts a long
// prompt; with the flag cleared, the same batch decodes.
func TestAbortFlagInterruptsDecode(t *testing.T) {
	m := tinyModel(t, gguf.TinyOptions{})
	s := session(t, m, 256)
	toks, err := m.prompt(chat(strings.Repeat("many words here ", 10)), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.abort.Store(true)
	err = s.decode(context.Background(), toks)
	s.abort.Store(false)
	if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "status 2") {
		t.Fatalf("decode with the abort flag set: %v", err)
	}
	if len(s.cached) != 0 {
		t.Fatal("an aborted batch left tokens in the cache")
	}
	if err := s.decode(context.Background(), toks); err != nil {
		t.Fatalf("decode after clearing the flag: %v", err)
	}
}
