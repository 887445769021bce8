package openai

import (
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
)

// Model is one entry of GET /v1/models.
type Model struct {
	ID      string
	OwnedBy string
	Created int64
}

// EncodeModels renders {"object":"list","data":[...]}.
func EncodeModels(models []Model) []byte {
	var j jbuf
	j.raw(`{"object":"list","data":[`)
	for i, m := range models {
		if i > 0 {
			j.raw(",")
		}
		j.raw(`{"id":`)
		j.str(m.ID)
		j.raw(`,"object":"model","created":`)
		j.num(m.Created)
		j.raw(`,"owned_by":`)
		j.str(m.OwnedBy)
		j.raw("}")
	}
	j.raw("]}")
	return j.b
}

// finishReason maps a stop reason to OpenAI's finish_reason.
func finishReason(s logic.StopReason) string {
	switch s {
	case logic.StopMaxTokens:
		return "length"
	case logic.StopToolUse:
		return "tool_calls"
	case logic.StopRefusal:
		return "content_filter"
	default: // StopEnd, StopSequence, and a backend that did not say
		return "stop"
	}
}

// appendUsage appends the usage object. Input is reported as prompt_tokens
// as is: the OpenAI shape counts cached tokens inside it.
func appendUsage(j *jbuf, u logic.Usage) {
	j.raw(`{"prompt_tokens":`)
	j.num(int64(u.Input))
	j.raw(`,"completion_tokens":`)
	j.num(int64(u.Output))
	j.raw(`,"total_tokens":`)
	j.num(int64(u.Input + u.Output))
	if u.CacheRead > 0 {
		j.raw(`,"prompt_tokens_details":{"cached_tokens":`)
		j.num(int64(u.CacheRead))
		j.raw("}")
	}
	j.raw("}")
}

// EncodeResponse renders a non-streamed chat.completion object. The caller
// owns the returned bytes, which hold content: wipe them once written.
func EncodeResponse(id, model string, created int64, msg content.Message, st logic.Status) ([]byte, error) {
	var j jbuf
	j.raw(`{"id":`)
	j.str(id)
	j.raw(`,"object":"chat.completion","created":`)
	j.num(created)
	j.raw(`,"model":`)
	j.str(model)
	j.raw(`,"choices":[{"index":0,"message":{"role":"assistant","content":`)
	appendMessageBody(&j, msg)
	j.raw(`},"logprobs":null,"finish_reason":`)
	j.str(finishReason(st.Stop))
	j.raw(`}],"usage":`)
	appendUsage(&j, st.Usage)
	j.raw("}")
	return j.b, nil
}

// appendMessageBody appends the value of "content" and the fields after
// it: text parts joined, thinking as reasoning_content, tool calls.
func appendMessageBody(j *jbuf, msg content.Message) {
	var textLen, thinkLen, calls int
	for _, p := range msg.Parts {
		switch p.Kind {
		case content.PartText:
			textLen += p.Text.Len()
		case content.PartThinking:
			thinkLen += p.Text.Len()
		case content.PartToolCall:
			calls++
		}
	}
	if textLen == 0 && calls > 0 {
		j.raw("null") // what the API sends beside tool calls
	} else {
		appendJoined(j, msg.Parts, content.PartText)
	}
	if thinkLen > 0 {
		j.raw(`,"reasoning_content":`)
		appendJoined(j, msg.Parts, content.PartThinking)
	}
	if calls > 0 {
		j.raw(`,"tool_calls":[`)
		n := 0
		for _, p := range msg.Parts {
			if p.Kind != content.PartToolCall {
				continue
			}
			if n > 0 {
				j.raw(",")
			}
			n++
			appendToolCall(j, p)
		}
		j.raw("]")
	}
	j.raw(`,"refusal":null`)
}

// appendToolCall appends {"id","type":"function","function":{"name","arguments"}}.
func appendToolCall(j *jbuf, p content.Part) {
	j.raw(`{"id":`)
	j.text(p.ToolID.Bytes())
	j.raw(`,"type":"function","function":{"name":`)
	j.text(p.ToolName.Bytes())
	j.raw(`,"arguments":`)
	args := p.Args.Bytes()
	if len(args) == 0 {
		args = []byte("{}")
	}
	j.text(args)
	j.raw("}}")
}

// appendJoined appends, as one JSON string, the Text of every part of kind
// concatenated.
func appendJoined(j *jbuf, parts []content.Part, kind content.PartKind) {
	j.raw(`"`)
	for _, p := range parts {
		if p.Kind == kind {
			j.b = appendEscaped(j.b, p.Text.Bytes())
		}
	}
	j.raw(`"`)
}
