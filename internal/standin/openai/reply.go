package openai

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf8"
)

// reply is the deterministic answer to a request.
type reply struct {
	reasoning string   // streamed as reasoning_content before the text (model "reasoner")
	chunks    []string // text pieces, one word each, streamed one per chunk
	tool      *toolReply
	finish    string
	prompt    int // prompt_tokens
}

type toolReply struct {
	id, name  string
	fragments []string // the arguments, streamed in pieces
}

// completionTokens counts what was emitted: words, or argument fragments.
func (r *reply) completionTokens() int {
	if r.tool != nil {
		return len(r.tool.fragments)
	}
	return len(r.chunks)
}

func (r *reply) text() string { return strings.Join(r.chunks, "") }

func buildReply(req *request) *reply {
	rep := &reply{finish: "stop", prompt: promptTokens(req)}
	last := req.Messages[len(req.Messages)-1]
	if last.Role == "tool" {
		rep.words("tool said: "+last.text(), req)
		return rep
	}
	userText := lastUserText(req)
	// The magic model tool-call calls a tool on every user turn, also one
	// that system messages follow (as Claude Code sends them).
	if req.Model == "tool-call" {
		last = lastTurn(req)
	}
	if last.Role == "user" && req.toolsAllowed() {
		args := `{"query":` + quote(userText) + `}`
		rep.tool = &toolReply{
			id:        toolCallID(userText),
			name:      req.Tools[0].Function.Name,
			fragments: split3(args),
		}
		rep.finish = "tool_calls"
		return rep
	}
	if req.Model == "reasoner" {
		// The magic model reasoner thinks aloud first, as reasoning
		// models behind llama.cpp, vLLM and Ollama report it.
		rep.reasoning = "reasoning about: " + userText
	}
	rep.words("echo: "+userText, req)
	return rep
}

// lastTurn is the last message that is not a system or developer message.
func lastTurn(req *request) message {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if r := req.Messages[i].Role; r != "system" && r != "developer" {
			return req.Messages[i]
		}
	}
	return req.Messages[len(req.Messages)-1]
}

// words cuts text at the first stop sequence, splits it into words (each
// with its leading space) and applies the token cap.
func (rep *reply) words(text string, req *request) {
	cut := -1
	for _, s := range req.stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		text = text[:cut]
	}
	if text != "" {
		for i, w := range strings.Split(text, " ") {
			if i > 0 {
				w = " " + w
			}
			rep.chunks = append(rep.chunks, w)
		}
	}
	if max := req.maxTokens(); max >= 0 && len(rep.chunks) > max {
		rep.chunks = rep.chunks[:max]
		rep.finish = "length"
	}
}

func lastUserText(req *request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			return req.Messages[i].text()
		}
	}
	return ""
}

// promptTokens counts space-separated words over every message's text.
func promptTokens(req *request) int {
	n := 0
	for _, m := range req.Messages {
		n += len(strings.Fields(m.text()))
	}
	return max(n, 1)
}

// toolCallID derives "call_" + 8 hex digits from the text, so the same
// request always gets the same id.
func toolCallID(s string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return fmt.Sprintf("call_%08x", h.Sum32())
}

// split3 splits s into three pieces on rune boundaries, so that each
// streamed fragment is valid UTF-8 on its own.
func split3(s string) []string {
	cut := func(i int) int {
		for i < len(s) && !utf8.RuneStart(s[i]) {
			i++
		}
		return i
	}
	a, b := cut(len(s)/3), cut(2*len(s)/3)
	var out []string
	for _, p := range []string{s[:a], s[a:b], s[b:]} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
