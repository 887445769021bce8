package gguf

// The special tokens of the tiny model's vocabulary, in the ChatML style
// that llama.cpp's template code recognises.
const (
	TokenEndOfText = "<|endoftext|>"
	TokenImStart   = "<|im_start|>"
	TokenImEnd     = "<|im_end|>"
)

// ChatMLToolsTemplate is ChatML with tools shown and called in the Hermes
// / Qwen 2.5 format (<tool_call>{"name": ..., "arguments": ...}</tool_call>,
// results in <tool_response>); without tools it renders plain ChatML, which
// llama.cpp's built-in formatting also recognises by its markers. The tiny
// model carries it, and the engine falls back to it for a model without a
// template.
const ChatMLToolsTemplate = `{%- if tools %}{{- '<|im_start|>system\n' }}{%- if messages[0].role == 'system' %}{{- messages[0].content + '\n\n' }}{%- endif %}` +
	`{{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}` +
	`{%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}` +
	`{{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}` +
	`{%- elif messages[0].role == 'system' %}{{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}{%- endif %}` +
	`{%- for message in messages %}` +
	`{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}` +
	`{%- elif message.role == 'assistant' %}{{- '<|im_start|>assistant' }}{%- if message.content %}{{- '\n' + message.content }}{%- endif %}` +
	`{%- for tool_call in message.tool_calls %}{{- '\n<tool_call>\n{"name": "' + tool_call.function.name + '", "arguments": ' }}{{- tool_call.function.arguments | tojson }}{{- '}\n</tool_call>' }}{%- endfor %}` +
	`{{- '<|im_end|>\n' }}` +
	`{%- elif message.role == 'tool' %}{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}` +
	`{{- '\n<tool_response>\n' + message.content + '\n</tool_response>' }}` +
	`{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\n' }}{%- endif %}` +
	`{%- endif %}{%- endfor %}` +
	`{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`

// TinyChatTemplate is the tiny model's tokenizer.chat_template, so the
// engine's tool calling runs on it.
const TinyChatTemplate = ChatMLToolsTemplate

// TinyPlainChatTemplate is plain ChatML, which shows no tools: a model
// with it (TinyOptions.ChatTemplate) gets the engine's generic tool format.
const TinyPlainChatTemplate = "{% for message in messages %}" +
	"{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
	"{% endfor %}" +
	"{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// Token types of tokenizer.ggml.token_type.
const (
	tokenNormal  int32 = 1
	tokenControl int32 = 3
)

// mergeWords seeds the merges: each word becomes one token, built left to
// right, so common text tokenizes into fewer, longer pieces and the
// vocabulary has the multi-byte tokens real ones have. A leading space is
// part of the word, as in GPT-2's vocabulary.
var mergeWords = []string{
	" the", " and", " of", " to", " in", " is", " it", " that", " for", " you",
	" with", " on", " as", " are", " this", " be", " at", " or", " from", " by",
	" hello", "Hello", " world", " relay", " model", " token", " test", " random",
	" weights", " stop", " stream", " answer", " question", " please", " thanks",
	"ing", "ed", "er", "es", "ly", "tion", "ment", "\n\n", "  ", "    ",
}

// vocabulary is a byte-level BPE tokenizer in GPT-2's encoding: every byte
// is a token (written as GPT-2's printable stand-in character), merged
// tokens follow, then the control tokens.
type vocabulary struct {
	tokens []string
	types  []int32
	merges []string
	ids    map[string]int
}

func (v *vocabulary) add(tok string, typ int32) int {
	id := len(v.tokens)
	v.tokens = append(v.tokens, tok)
	v.types = append(v.types, typ)
	v.ids[tok] = id
	return id
}

// byteRunes is GPT-2's bytes_to_unicode: printable bytes stand for
// themselves, the others map to code points from U+0100 up, so every token
// is printable text with no spaces (a merge is "left right").
func byteRunes() [256]rune {
	var m [256]rune
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n := 0
	for b := 0; b < 256; b++ {
		if printable(b) {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

func newVocabulary() *vocabulary {
	v := &vocabulary{ids: map[string]int{}}
	br := byteRunes()
	for b := 0; b < 256; b++ {
		v.add(string(br[b]), tokenNormal)
	}
	for _, w := range mergeWords {
		var syms []string
		for _, b := range []byte(w) {
			syms = append(syms, string(br[b]))
		}
		cur := syms[0]
		for _, s := range syms[1:] {
			merged := cur + s
			if _, ok := v.ids[merged]; !ok {
				v.merges = append(v.merges, cur+" "+s)
				v.add(merged, tokenNormal)
			}
			cur = merged
		}
	}
	for _, s := range []string{TokenEndOfText, TokenImStart, TokenImEnd} {
		v.add(s, tokenControl)
	}
	return v
}
