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
}

var roles = map[string]bool{"system": true, "user": true, "assistant": true, "tool": true}

// The chat template is applied to placeholders, not to the content: the
// rendered text is then split at the placeholders, so the template's own
// text is tokenized with special tokens recognised and each content with
// none. A user who types "<|im_end|>" gets those characters as text, not
// the control token that ends a turn.
//
// A placeholder is \x1f, the message index, \x1f: no template adds the
// unit separator, and templates that trim or otherwise touch content leave
// it intact. Since content never enters the template, content that
// contains the same bytes cannot be mistaken for a placeholder.
const mark = '\x1f'

func placeholder(i int) string { return string(mark) + strconv.Itoa(i) + string(mark) }

// segment is a run of the prompt: template text, or message content.
type segment struct {
	text    string
	message int // index into msgs, or -1 for template text
}

// prompt renders msgs with the model's chat template, with the generation
// prompt for the assistant's turn, and tokenizes the result.
func (m *Model) prompt(msgs []ChatMessage) ([]llama.Token, error) {
	if len(msgs) == 0 {
		return nil, paramError("no messages")
	}
	chat := make([]llama.ChatMessage, len(msgs))
	for i, msg := range msgs {
		if !roles[msg.Role] {
			return nil, paramError("unknown role")
		}
		// llama.cpp takes C strings: a NUL would end the content early,
		// and the binding cannot pass it at all.
		if bytes.IndexByte(msg.Content.Bytes(), 0) >= 0 {
			return nil, paramError("message content contains a NUL byte")
		}
		chat[i] = llama.NewChatMessage(msg.Role, placeholder(i))
	}
	rendered, err := applyTemplate(m.template, chat)
	if err != nil {
		return nil, err
	}
	segs, err := split(rendered, len(msgs))
	if err != nil {
		return nil, err
	}
	var toks []llama.Token
	for i, s := range segs {
		first := i == 0 // the model's BOS, when it wants one, goes first only
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
func split(rendered string, n int) ([]segment, error) {
	var segs []segment
	for rendered != "" {
		i := strings.IndexByte(rendered, mark)
		if i < 0 {
			segs = append(segs, segment{text: rendered, message: -1})
			break
		}
		if i > 0 {
			segs = append(segs, segment{text: rendered[:i], message: -1})
		}
		rest := rendered[i+1:]
		j := strings.IndexByte(rest, mark)
		idx, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil || idx < 0 || idx >= n {
			return nil, paramError("the chat template produced an unexpected control byte")
		}
		segs = append(segs, segment{message: idx})
		rendered = rest[j+1:]
	}
	return segs, nil
}
