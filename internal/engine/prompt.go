package engine

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/hybridgroup/yzma/pkg/llama"

	"github.com/inference-relay/relay/internal/content"
)

// ChatMessage is one turn of the conversation to complete.
type ChatMessage struct {
	// Role is "system", "user", "assistant" or "tool".
	Role    string
	Content content.Text
	// ToolCalls are the calls an assistant turn made.
	ToolCalls []ToolCall
	// ToolCallID and Name say which call a tool turn answers (Name may be
	// empty: it is looked up among the earlier calls).
	ToolCallID content.Text
	Name       content.Text
}

var roles = map[string]bool{"system": true, "user": true, "assistant": true, "tool": true}

// A placeholder's delimiter (see template.go): no template adds the unit
// separator, and templates that trim or otherwise touch content leave it
// intact. Since content never enters the template, content that contains
// the same bytes cannot be mistaken for a placeholder.
const mark = '\x1f'

func placeholder(i int) string { return string(mark) + strconv.Itoa(i) + string(mark) }

// prompt renders msgs and tools with the model's chat template, with the
// generation prompt for the assistant's turn, and tokenizes the result:
// the template's text with special tokens recognised, content with none.
func (m *Model) prompt(msgs []ChatMessage, tools []Tool) ([]llama.Token, error) {
	if len(msgs) == 0 {
		return nil, paramError("no messages")
	}
	calls := false
	for _, msg := range msgs {
		if !roles[msg.Role] {
			return nil, paramError("unknown role")
		}
		calls = calls || len(msg.ToolCalls) > 0
	}
	if m.tmpl.jinja == nil {
		if len(tools) > 0 || calls {
			return nil, paramError("the model's chat template cannot be rendered with tools")
		}
		return m.promptBuiltin(msgs)
	}
	r, err := m.tmpl.render(msgs, tools)
	if err != nil {
		return nil, err
	}
	defer r.wipe()
	var toks []llama.Token
	for i, s := range r.segs {
		first := i == 0 // the model's BOS, when it wants one, goes first only
		if s.isText {
			// A template that writes the BOS itself: the vocabulary's
			// add-BOS would double it.
			add := first && !(m.tmpl.bos != "" && strings.HasPrefix(s.text, m.tmpl.bos))
			toks = append(toks, llama.Tokenize(m.vocab, s.text, add, true)...)
			continue
		}
		// The binding takes Go strings; this one goes straight to
		// llama_tokenize and is never printed.
		text := string(s.content)
		toks = append(toks, llama.Tokenize(m.vocab, text, first, false)...)
	}
	return toks, nil
}

// segment-based rendering by llama.cpp's built-in formats, for a template
// the Jinja engine cannot compile (no tools).
type builtinSegment struct {
	text    string
	message int // index into msgs, or -1 for template text
}

func (m *Model) promptBuiltin(msgs []ChatMessage) ([]llama.Token, error) {
	chat := make([]llama.ChatMessage, len(msgs))
	for i, msg := range msgs {
		// llama.cpp takes C strings: a NUL would end the content early,
		// and the binding cannot pass it at all.
		if bytes.IndexByte(msg.Content.Bytes(), 0) >= 0 {
			return nil, paramError("message content contains a NUL byte")
		}
		chat[i] = llama.NewChatMessage(msg.Role, placeholder(i))
	}
	tmpl := m.tmpl.src
	if m.tmpl.src == fallbackTemplate {
		tmpl = "chatml"
	}
	rendered, err := applyTemplate(tmpl, chat)
	if err != nil {
		return nil, err
	}
	segs, err := split(rendered, len(msgs))
	if err != nil {
		return nil, err
	}
	var toks []llama.Token
	for i, s := range segs {
		first := i == 0
		if s.message < 0 {
			toks = append(toks, llama.Tokenize(m.vocab, s.text, first, true)...)
			continue
		}
		//contentvet:ok the binding takes Go strings; this one goes straight to llama_tokenize and is never printed
		text := string(msgs[s.message].Content.Bytes())
		toks = append(toks, llama.Tokenize(m.vocab, text, first, false)...)
	}
	return toks, nil
}

// applyTemplate runs llama_chat_apply_template, growing the buffer once if
// the first guess was short.
func applyTemplate(tmpl string, chat []llama.ChatMessage) (string, error) {
	buf := make([]byte, 1024)
	for range 2 {
		n := llama.ChatApplyTemplate(tmpl, chat, true, buf)
		if n < 0 {
			return "", paramError("the model's chat template is not one llama.cpp supports")
		}
		if int(n) <= len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, n)
	}
	return "", paramError("the chat template's output did not settle")
}

// split cuts rendered at the placeholders of n messages. A template may
// drop a message (some fold or omit system turns) but may not invent one.
func split(rendered string, n int) ([]builtinSegment, error) {
	var segs []builtinSegment
	for rendered != "" {
		i := strings.IndexByte(rendered, mark)
		if i < 0 {
			segs = append(segs, builtinSegment{text: rendered, message: -1})
			break
		}
		if i > 0 {
			segs = append(segs, builtinSegment{text: rendered[:i], message: -1})
		}
		rest := rendered[i+1:]
		j := strings.IndexByte(rest, mark)
		idx, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil || idx < 0 || idx >= n {
			return nil, paramError("the chat template produced an unexpected control byte")
		}
		segs = append(segs, builtinSegment{message: idx})
		rendered = rest[j+1:]
	}
	return segs, nil
}
