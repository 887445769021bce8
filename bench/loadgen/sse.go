package loadgen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// maxLine bounds one SSE line; a longer one is an error rather than an
// unbounded buffer.
const maxLine = 1 << 20

// errLongLine reports an SSE line over maxLine.
var errLongLine = errors.New("loadgen: SSE line too long")

// FirstContent reads SSE lines from r until one is a data line carrying
// generated content (see CarriesContent) and reports true, leaving the
// rest of the stream unread in r. It reports false with a nil error when
// the stream ends without any.
func FirstContent(r *bufio.Reader) (bool, error) {
	for {
		line, err := readLine(r)
		if len(line) > 0 {
			if data, ok := bytes.CutPrefix(line, []byte("data:")); ok && CarriesContent(bytes.TrimSpace(data)) {
				return true, nil
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// readLine returns the next line without its line ending.
func readLine(r *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		frag, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, frag...)
			if len(long) > maxLine {
				return nil, errLongLine
			}
			continue
		}
		line := frag
		if long != nil {
			line = append(long, frag...)
		}
		if len(line) > maxLine {
			return nil, errLongLine
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

// chunk is the part of a streamed event that says whether it carries
// content, in either API's shape.
type chunk struct {
	// OpenAI chat.completion.chunk.
	Choices []struct {
		Delta struct {
			Content   *string           `json:"content"`
			ToolCalls []json.RawMessage `json:"tool_calls"`
		} `json:"delta"`
	} `json:"choices"`
	// Anthropic content_block_delta.
	Type  string `json:"type"`
	Delta struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
	} `json:"delta"`
}

// CarriesContent reports whether an SSE data payload carries generated
// content: an OpenAI chunk with non-empty delta content or a tool call,
// or an Anthropic content_block_delta with non-empty text or JSON. The
// role-only opening chunk, usage-only chunks, errors and "[DONE]" do not.
func CarriesContent(data []byte) bool {
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	var c chunk
	if json.Unmarshal(data, &c) != nil {
		return false
	}
	for _, ch := range c.Choices {
		if ch.Delta.Content != nil && *ch.Delta.Content != "" || len(ch.Delta.ToolCalls) > 0 {
			return true
		}
	}
	return c.Type == "content_block_delta" && (c.Delta.Text != "" || c.Delta.PartialJSON != "")
}
