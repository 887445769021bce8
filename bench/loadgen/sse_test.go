package loadgen

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func TestCarriesContent(t *testing.T) {
	cases := []struct {
		data string
		want bool
	}{
		{`{"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}]}`, false},
		{`{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`, false},
		{`{"choices":[{"index":0,"delta":{"content":null},"finish_reason":null}]}`, false},
		{`{"choices":[{"index":0,"delta":{"content":"echo:"},"finish_reason":null}]}`, true},
		{`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]}`, true},
		{`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, false},
		{`{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}}`, false},
		{`{"error":{"message":"boom","type":"server_error"}}`, false},
		{`[DONE]`, false},
		{``, false},
		{`{not json`, false},
		{`{"type":"message_start","message":{"id":"m"}}`, false},
		{`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`, false},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`, true},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}`, true},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}`, false},
	}
	for _, c := range cases {
		if got := CarriesContent([]byte(c.data)); got != c.want {
			t.Errorf("CarriesContent(%s) = %v, want %v", c.data, got, c.want)
		}
	}
}

func TestFirstContentStopsAtTheFirstContentLine(t *testing.T) {
	stream := "event: chunk\r\n" +
		`data: {"choices":[{"delta":{"role":"assistant","content":""}}]}` + "\n\n" +
		": keep-alive comment\n\n" +
		`data:{"choices":[{"delta":{"content":"first"}}]}` + "\n\n" +
		`data: {"choices":[{"delta":{"content":" second"}}]}` + "\n\n" +
		"data: [DONE]\n\n"
	br := bufio.NewReader(strings.NewReader(stream))
	found, err := FirstContent(br)
	if err != nil || !found {
		t.Fatalf("FirstContent = %v, %v; want true, nil", found, err)
	}
	rest, _ := io.ReadAll(br)
	if !strings.HasPrefix(string(rest), "\n"+`data: {"choices":[{"delta":{"content":" second"}}]}`) {
		t.Errorf("FirstContent read past the first content line; the rest is %q", rest)
	}
}

func TestFirstContentWithoutContent(t *testing.T) {
	stream := `data: {"choices":[{"delta":{"role":"assistant","content":""}}]}` + "\n\n" +
		`data: {"choices":[{"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		"data: [DONE]" // no final newline: the last line still counts
	found, err := FirstContent(bufio.NewReader(strings.NewReader(stream)))
	if found || err != nil {
		t.Errorf("FirstContent = %v, %v; want false, nil", found, err)
	}
	found, err = FirstContent(bufio.NewReader(strings.NewReader(`data: {"choices":[{"delta":{"content":"x"}}]}`)))
	if !found || err != nil {
		t.Errorf("unterminated content line: FirstContent = %v, %v; want true, nil", found, err)
	}
}

func TestFirstContentBoundsLineLength(t *testing.T) {
	long := "data: " + strings.Repeat("x", maxLine+10) + "\n"
	_, err := FirstContent(bufio.NewReader(strings.NewReader(long)))
	if err != errLongLine {
		t.Errorf("FirstContent on a %d-byte line: err = %v, want errLongLine", len(long), err)
	}
}
