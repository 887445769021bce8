package anthropic

import (
	"encoding/json"
	"strings"
)

// request is the part of a Messages API body the stand-in reads. It is
// lenient: fields it does not use are ignored.
type request struct {
	Model         string                  `json:"model"`
	MaxTokens     *int                    `json:"max_tokens"`
	Messages      []message               `json:"messages"`
	System        json.RawMessage         `json:"system"`
	Tools         []struct{ Name string } `json:"tools"`
	StopSequences []string                `json:"stop_sequences"`
	Stream        bool                    `json:"stream"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// block is a content block; Content is a tool_result's content.
type block struct {
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	Content json.RawMessage `json:"content"`
}

// check returns what the API would refuse, or "".
func (r *request) check(needMaxTokens bool) string {
	switch {
	case r.Model == "":
		return "model: Field required"
	case needMaxTokens && r.MaxTokens == nil:
		return "max_tokens: Field required"
	case r.MaxTokens != nil && *r.MaxTokens < 1:
		return "max_tokens: must be at least 1"
	case len(r.Messages) == 0:
		return "messages: at least one message is required"
	}
	for _, m := range r.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return "messages: unexpected role"
		}
		if _, err := blocks(m.Content); err != nil {
			return "messages: invalid content"
		}
	}
	return ""
}

// blocks reads content given as a string or as an array of blocks.
func blocks(raw json.RawMessage) ([]block, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []block{{Type: "text", Text: s}}, nil
	}
	var bs []block
	err := json.Unmarshal(raw, &bs)
	return bs, err
}

// texts returns the text of every text block in content, and of the text
// inside tool results.
func texts(raw json.RawMessage) []string {
	bs, _ := blocks(raw)
	var out []string
	for _, b := range bs {
		switch b.Type {
		case "text":
			out = append(out, b.Text)
		case "tool_result":
			if len(b.Content) > 0 {
				out = append(out, texts(b.Content)...)
			}
		}
	}
	return out
}

// inputTokens counts the words of every message text and the system
// prompt, at least 1.
func (r *request) inputTokens() int {
	n := 0
	for _, t := range texts(r.System) {
		n += len(strings.Fields(t))
	}
	for _, m := range r.Messages {
		for _, t := range texts(m.Content) {
			n += len(strings.Fields(t))
		}
	}
	return max(n, 1)
}

// reply is what the stand-in answers.
type reply struct {
	words   []string // one text_delta each
	tool    string   // name of the tool to call, "" for a text reply
	input   string   // the tool input JSON
	id      string   // the tool_use id
	stop    string
	stopSeq *string
	in, out int
}

// plan works out the deterministic reply to r.
func (r *request) plan() reply {
	var last []block
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			last, _ = blocks(r.Messages[i].Content)
			break
		}
	}
	var said, results []string
	for _, b := range last {
		switch b.Type {
		case "text":
			said = append(said, b.Text)
		case "tool_result":
			results = append(results, strings.Join(texts(b.Content), " "))
		}
	}
	rep := reply{stop: "end_turn", in: r.inputTokens()}
	if len(results) == 0 && len(r.Tools) > 0 {
		q := strings.Join(said, " ")
		in, _ := json.Marshal(map[string]string{"query": q})
		rep.tool, rep.input, rep.id, rep.stop = r.Tools[0].Name, string(in), toolID(q), "tool_use"
		rep.out = len(fragments(rep.input))
		return rep
	}
	text := "echo: " + strings.Join(said, " ")
	if len(results) > 0 {
		text = "tool said: " + strings.Join(results, " ")
	}
	cut := -1
	for _, seq := range r.StopSequences {
		if i := strings.Index(text, seq); seq != "" && i >= 0 && (cut < 0 || i < cut) {
			cut, rep.stopSeq = i, &seq
		}
	}
	if cut >= 0 {
		text, rep.stop = text[:cut], "stop_sequence"
	}
	rep.words = words(text)
	if r.MaxTokens != nil && len(rep.words) > *r.MaxTokens {
		rep.words, rep.stop, rep.stopSeq = rep.words[:*r.MaxTokens], "max_tokens", nil
	}
	rep.out = len(rep.words)
	return rep
}

// words splits s at spaces, each word after the first keeping the space
// before it, so that the words concatenate back to s.
func words(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, " ")
	for i := 1; i < len(parts); i++ {
		parts[i] = " " + parts[i]
	}
	if parts[0] == "" {
		parts = parts[1:]
	}
	return parts
}

// fragments splits a {"query": ...} input into the partial_json pieces the
// stream sends: the API streams tool input in several pieces.
func fragments(input string) []string {
	key, rest, ok := strings.Cut(input, ":")
	if !ok || len(rest) < 2 {
		return []string{input}
	}
	return []string{key + ":", rest[:len(rest)-1], rest[len(rest)-1:]}
}
