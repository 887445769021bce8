package engine

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/ardanlabs/jinja"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/gguf"
)

// The conversation is rendered with the model's own chat template (the
// GGUF's tokenizer.chat_template, Jinja), run by github.com/ardanlabs/jinja
// in this process: the tools, the calls in the history and their results
// go where the model was trained to see them.
//
// The template never sees content. Every message text, tool name, id,
// description, and every string and number inside a schema or a call's
// arguments reaches it as a placeholder; what it renders is then split at
// the placeholders, so the template's own text is tokenized with special
// tokens recognised and each content with none (a user who types
// "<|im_end|>" gets those characters, not the control token). A
// placeholder is \x1f, its index, \x1f; a template that writes it through
// tojson writes \u001f instead, and the content it stands for is then put
// in JSON-escaped. No Go string ever holds content, so every copy made
// here is wiped. Only the JSON Schema keywords (type, properties, ...)
// and true/false/null are literal values.
//
// Without a template in the GGUF the engine uses fallbackTemplate (ChatML,
// with tools in the Hermes format). A template the Jinja engine cannot
// compile falls back to llama.cpp's built-in rendering of the known
// formats, without tools (a request with tools is refused).

// fallbackTemplate is the template of a model whose GGUF has none:
// ChatML, with tools shown and called as Hermes / Qwen 2.5 do.
const fallbackTemplate = gguf.ChatMLToolsTemplate

// chatTemplate is a model's chat template, compiled once.
type chatTemplate struct {
	src        string
	jinja      *jinja.Template // nil: it does not compile; llama.cpp renders it, without tools
	family     Family
	showsTools bool
	bos, eos   string // the vocabulary's own texts: not content
}

func newChatTemplate(src, bos, eos string) *chatTemplate {
	if src == "" {
		src = fallbackTemplate
	}
	t := &chatTemplate{src: src, family: detectFamily(src), showsTools: templateShowsTools(src), bos: bos, eos: eos}
	if j, err := jinja.Compile(src); err == nil {
		t.jinja = j
	}
	return t
}

// holdKind says how a placeholder's bytes are to be put back.
type holdKind uint8

const (
	holdText   holdKind = iota // raw content
	holdString                 // the inside of a JSON string, still escaped
	holdNumber                 // a JSON number
)

type held struct {
	b    []byte
	kind holdKind
}

// binder registers the content a template's values stand for.
type binder struct {
	held []held
}

func (b *binder) put(p []byte, k holdKind) string {
	b.held = append(b.held, held{p, k})
	return string(mark) + strconv.Itoa(len(b.held)-1) + string(mark)
}

// text is the value of a content text: a placeholder, or "" when empty
// (templates test content for emptiness).
func (b *binder) text(p []byte) jinja.Value {
	if len(p) == 0 {
		return jinja.NewString("")
	}
	return jinja.NewString(b.put(p, holdText))
}

// key is an object key of a JSON document: a keyword stays literal.
func (b *binder) key(raw []byte) string {
	if k, ok := keywords[string(raw)]; ok {
		return k
	}
	return b.put(raw, holdString)
}

// jsonString is a string value of a JSON document.
func (b *binder) jsonString(raw []byte) string { return b.key(raw) }

// segment is a run of the rendered prompt: template text, tokenized with
// special tokens recognised, or content, tokenized with none.
type segment struct {
	text    string
	content []byte
	isText  bool // text, not content
}

// rendered is a template's output cut at its placeholders. owned are the
// buffers made while cutting (escaped or unescaped copies of content),
// wiped by wipe.
type rendered struct {
	segs  []segment
	owned [][]byte
}

func (r *rendered) wipe() {
	for _, b := range r.owned {
		clear(b)
	}
	r.owned = nil
	r.segs = nil
}

// errTemplate is the only thing said of a template that fails: its own
// message might quote what it was given.
var errTemplate = paramError("the model's chat template could not render this conversation")

// render runs the template over msgs and tools. Generic-format tools are
// described in a system message when the template would not show them.
func (t *chatTemplate) render(msgs []ChatMessage, tools []Tool) (*rendered, error) {
	if t.jinja == nil {
		return nil, errTemplate
	}
	r := &rendered{}
	msgs, extra := t.prepare(msgs, tools)
	r.owned = append(r.owned, extra...)
	b := &binder{}
	turns := make([]jinja.Value, 0, len(msgs))
	var calls []ToolCall // the calls so far, whose names a result's may omit
	for _, m := range msgs {
		v := jinja.NewDict()
		d := v.AsDict()
		d.Set("role", jinja.NewString(m.Role))
		d.Set("content", b.text(m.Content.Bytes()))
		if len(m.ToolCalls) > 0 {
			list := make([]jinja.Value, len(m.ToolCalls))
			for i, c := range m.ToolCalls {
				fn := jinja.NewDict()
				fn.AsDict().Set("name", b.text(c.Name.Bytes()))
				args, err := b.jsonValue(c.Args.Bytes())
				if err != nil || !args.IsDict() {
					args = b.text(c.Args.Bytes())
				}
				fn.AsDict().Set("arguments", args)
				call := jinja.NewDict()
				call.AsDict().Set("id", b.text(c.ID.Bytes()))
				call.AsDict().Set("type", jinja.NewString("function"))
				call.AsDict().Set("function", fn)
				list[i] = call
			}
			calls = append(calls, m.ToolCalls...)
			d.Set("tool_calls", jinja.NewList(list))
		}
		if m.Role == "tool" {
			d.Set("tool_call_id", b.text(m.ToolCallID.Bytes()))
			name := m.Name.Bytes()
			for _, c := range calls {
				if len(name) == 0 && bytes.Equal(c.ID.Bytes(), m.ToolCallID.Bytes()) {
					name = c.Name.Bytes()
				}
			}
			d.Set("name", b.text(name))
		}
		turns = append(turns, v)
	}
	data := map[string]jinja.Value{
		"messages":              jinja.NewList(turns),
		"add_generation_prompt": jinja.NewBool(true),
		"bos_token":             jinja.NewString(t.bos),
		"eos_token":             jinja.NewString(t.eos),
	}
	if len(tools) > 0 {
		ts := make([]jinja.Value, len(tools))
		for i, tool := range tools {
			params, err := b.jsonValue(tool.Schema.Bytes())
			if err != nil {
				r.wipe()
				return nil, paramError("a tool's schema is not valid JSON")
			}
			fn := jinja.NewDict()
			fn.AsDict().Set("name", b.text(tool.Name.Bytes()))
			fn.AsDict().Set("description", b.text(tool.Description.Bytes()))
			fn.AsDict().Set("parameters", params)
			tv := jinja.NewDict()
			tv.AsDict().Set("type", jinja.NewString("function"))
			tv.AsDict().Set("function", fn)
			ts[i] = tv
		}
		data["tools"] = jinja.NewList(ts)
	}
	out, err := t.jinja.RenderValues(data)
	if err != nil {
		r.wipe()
		return nil, errTemplate
	}
	if err := r.split(out, b.held); err != nil {
		r.wipe()
		return nil, err
	}
	return r, nil
}

// split cuts out at the placeholders of held, raw (\x1fN\x1f) or as a
// template's tojson writes them (\u001fN\u001f).
func (r *rendered) split(out string, hs []held) error {
	const esc = `\u001f`
	for out != "" {
		i := strings.IndexByte(out, mark)
		j := strings.Index(out, esc)
		if i < 0 && j < 0 {
			r.segs = append(r.segs, segment{text: out, isText: true})
			return nil
		}
		escaped := j >= 0 && (i < 0 || j < i)
		at, open := i, 1
		if escaped {
			at, open = j, len(esc)
		}
		head := out[:at]
		rest := out[at+open:]
		end := strings.IndexByte(rest, mark)
		if escaped {
			end = strings.Index(rest, esc)
		}
		idx, err := strconv.Atoi(rest[:max(end, 0)])
		if end < 0 || err != nil || idx < 0 || idx >= len(hs) {
			return paramError("the chat template produced an unexpected control byte")
		}
		tail := rest[end+open:]
		h := hs[idx]
		var c []byte
		switch {
		case h.kind == holdNumber:
			c = h.b
			// tojson wrote the placeholder as a string: the quotes go.
			if escaped && strings.HasSuffix(head, `"`) && strings.HasPrefix(tail, `"`) {
				head, tail = head[:len(head)-1], tail[1:]
			}
		case escaped && h.kind == holdText:
			c = escapeJSON(nil, h.b)
			r.owned = append(r.owned, c)
		case !escaped && h.kind == holdString:
			c = unescapeJSON(h.b)
			r.owned = append(r.owned, c)
		default:
			c = h.b
		}
		if !escaped && bytes.IndexByte(c, 0) >= 0 {
			// llama.cpp takes C strings: a NUL would end the content early.
			return paramError("message content contains a NUL byte")
		}
		if head != "" {
			r.segs = append(r.segs, segment{text: head, isText: true})
		}
		if len(c) > 0 {
			r.segs = append(r.segs, segment{content: c})
		}
		out = tail
	}
	return nil
}

// prepare adapts the conversation to a generic-format template that does
// not show tools: a system message describes them and the format of a
// call, calls in the history become that format's text, and results
// become user turns. It returns the buffers it made, to be wiped.
func (t *chatTemplate) prepare(msgs []ChatMessage, tools []Tool) ([]ChatMessage, [][]byte) {
	if t.showsTools || t.family != FamilyGeneric {
		return msgs, nil
	}
	hasCalls := false
	for _, m := range msgs {
		if len(m.ToolCalls) > 0 || m.Role == "tool" {
			hasCalls = true
		}
	}
	if len(tools) == 0 && !hasCalls {
		return msgs, nil
	}
	var owned [][]byte
	out := make([]ChatMessage, 0, len(msgs)+1)
	if len(tools) > 0 {
		var sys []byte
		if len(msgs) > 0 && msgs[0].Role == "system" {
			sys = append(sys, msgs[0].Content.Bytes()...)
			sys = append(sys, "\n\n"...)
			msgs = msgs[1:]
		}
		sys = genericToolPrompt(sys, tools)
		owned = append(owned, sys)
		out = append(out, ChatMessage{Role: "system", Content: content.Of(sys)})
	}
	for _, m := range msgs {
		switch {
		case len(m.ToolCalls) > 0:
			var b []byte
			b = append(b, m.Content.Bytes()...)
			for _, c := range m.ToolCalls {
				if len(b) > 0 {
					b = append(b, '\n')
				}
				b = append(b, `{"tool_call": {"name": "`...)
				b = escapeJSON(b, c.Name.Bytes())
				b = append(b, `", "arguments": `...)
				b = append(b, c.Args.Bytes()...)
				b = append(b, "}}"...)
			}
			owned = append(owned, b)
			out = append(out, ChatMessage{Role: "assistant", Content: content.Of(b)})
		case m.Role == "tool":
			var b []byte
			b = append(b, `{"tool_response": {"tool_call_id": "`...)
			b = escapeJSON(b, m.ToolCallID.Bytes())
			b = append(b, `", "content": "`...)
			b = escapeJSON(b, m.Content.Bytes())
			b = append(b, `"}}`...)
			owned = append(owned, b)
			out = append(out, ChatMessage{Role: "user", Content: content.Of(b)})
		default:
			out = append(out, m)
		}
	}
	return out, owned
}

// genericToolPrompt appends the description of tools and of the generic
// call format to sys.
func genericToolPrompt(sys []byte, tools []Tool) []byte {
	sys = append(sys, "You can call these tools:\n"...)
	for _, t := range tools {
		sys = append(sys, `{"name": "`...)
		sys = escapeJSON(sys, t.Name.Bytes())
		sys = append(sys, `", "description": "`...)
		sys = escapeJSON(sys, t.Description.Bytes())
		sys = append(sys, `", "parameters": `...)
		sys = append(sys, bytes.TrimSpace(t.Schema.Bytes())...)
		sys = append(sys, "}\n"...)
	}
	sys = append(sys, "\nTo call a tool, reply with only this JSON object and nothing else:\n"+
		`{"tool_call": {"name": <tool name>, "arguments": <arguments object>}}`+
		"\nOtherwise, answer normally."...)
	return sys
}
