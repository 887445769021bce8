package enginebench

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

const (
	roleChunk  = `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}` + "\n\n"
	textChunk  = `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"ab"}}]}` + "\n\n"
	finish     = `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}` + "\n\n"
	usageChunk = `data: {"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}` + "\n\n"
	done       = "data: [DONE]\n\n"
)

func TestReadStreamCountsUsageAndText(t *testing.T) {
	in := roleChunk + textChunk + textChunk + finish + usageChunk + done
	st, err := ReadStream(strings.NewReader(in), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.PromptTokens != 7 || st.CompletionTokens != 3 || st.ContentChunks != 2 || st.FirstContent <= 0 {
		t.Fatalf("got %+v; want 7 prompt, 3 completion tokens, 2 text chunks, a first-text time", st)
	}
}

// The first-token time is taken at the first chunk with text: a role-only
// chunk that arrives earlier does not count.
func TestReadStreamTimesFirstTextNotRole(t *testing.T) {
	pr, pw := io.Pipe()
	const gap = 30 * time.Millisecond
	go func() {
		io.WriteString(pw, roleChunk)
		time.Sleep(gap)
		io.WriteString(pw, textChunk+finish+usageChunk+done)
		pw.Close()
	}()
	st, err := ReadStream(pr, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.FirstContent < gap {
		t.Fatalf("first text at %v, before the text chunk was written (%v in)", st.FirstContent, gap)
	}
}

func TestReadStreamFailures(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     error
	}{
		{"cut short", roleChunk + textChunk, ErrNoDone},
		{"no usage", textChunk + finish + done, ErrNoUsage},
		{"error event", textChunk + `data: {"error":{"message":"upstream failed","type":"server_error"}}` + "\n\n", ErrFailed},
		{"not JSON", "data: {nope\n\n" + done, ErrBadChunk},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadStream(strings.NewReader(c.in), time.Now())
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	in := ms(9, 1, 5)
	if got := Median(in); got != 5*time.Millisecond {
		t.Errorf("odd: %v", got)
	}
	if in[0] != 9*time.Millisecond {
		t.Error("Median reordered its input")
	}
	if got := Median(ms(4, 1, 3, 2)); got != 2500*time.Microsecond {
		t.Errorf("even: %v", got)
	}
	if got := Median(nil); got != 0 {
		t.Errorf("empty: %v", got)
	}
}
