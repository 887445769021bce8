package openai

import (
	"encoding/json"
	"errors"
	"math"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
)

// Errors EncodeUpstream returns; none carries content.
var (
	errBadSchema = errors.New("openai: a tool schema is not a JSON object")
	errBadNumber = errors.New("openai: a sampling parameter is not a finite number")
	errNoModel   = errors.New("openai: the target has no model")
)

// EncodeUpstream builds the body of a streamed Chat Completions request for
// an OpenAI-compatible server. The caller owns the returned bytes, which
// hold content: wipe them once sent.
func EncodeUpstream(t logic.Target, p logic.Params, r *content.Request) ([]byte, error) {
	return encodeUpstream(t, p, r, true)
}

// EncodeUpstreamUnary is EncodeUpstream for a reply in one piece (no
// stream): what the relay asks for when its client did not stream, which
// saves parsing a stream of chunks only to reassemble them.
func EncodeUpstreamUnary(t logic.Target, p logic.Params, r *content.Request) ([]byte, error) {
	return encodeUpstream(t, p, r, false)
}

func encodeUpstream(t logic.Target, p logic.Params, r *content.Request, stream bool) ([]byte, error) {
	if t.Model == "" {
		return nil, errNoModel
	}
	j := &jbuf{b: make([]byte, 0, r.Size()+512)}
	j.raw(`{"model":`)
	j.str(t.Model)
	j.raw(`,"messages":[`)
	first := true
	if len(r.System) > 0 {
		first = false
		j.raw(`{"role":"system","content":"`)
		for i, s := range r.System {
			if i > 0 {
				j.raw(`\n\n`)
			}
			j.b = appendEscaped(j.b, s.Bytes())
		}
		j.raw(`"}`)
	}
	for _, m := range r.Messages {
		switch m.Role {
		case content.RoleAssistant:
			appendAssistant(j, m, &first)
		case content.RoleSystem:
			// In place: Chat Completions takes system messages anywhere.
			j.comma(&first)
			j.raw(`{"role":"system","content":"`)
			n := 0
			for _, p := range m.Parts {
				if p.Kind == content.PartText {
					if n > 0 {
						j.raw(`\n\n`) // as the system prompt's blocks are joined
					}
					j.b = appendEscaped(j.b, p.Text.Bytes())
					n++
				}
			}
			j.raw(`"}`)
		default:
			appendUser(j, m, &first)
		}
	}
	if stream {
		j.raw(`],"stream":true,"stream_options":{"include_usage":true}`)
	} else {
		j.raw(`],"stream":false`)
	}
	if err := appendParams(j, p, r); err != nil {
		clear(j.b)
		return nil, err
	}
	if err := appendTools(j, r); err != nil {
		clear(j.b)
		return nil, err
	}
	j.raw("}")
	return j.b, nil
}

// appendAssistant appends an assistant turn: text joined, tool calls, and
// no thinking (Chat Completions servers take no reasoning back).
func appendAssistant(j *jbuf, m content.Message, first *bool) {
	j.comma(first)
	j.raw(`{"role":"assistant","content":`)
	var text, calls int
	for _, p := range m.Parts {
		switch p.Kind {
		case content.PartText:
			text++
		case content.PartToolCall:
			calls++
		}
	}
	if text == 0 && calls > 0 {
		j.raw("null")
	} else {
		appendJoined(j, m.Parts, content.PartText)
	}
	if calls > 0 {
		j.raw(`,"tool_calls":[`)
		n := 0
		for _, p := range m.Parts {
			if p.Kind == content.PartToolCall {
				if n > 0 {
					j.raw(",")
				}
				n++
				appendToolCall(j, p)
			}
		}
		j.raw("]")
	}
	j.raw("}")
}

// appendUser appends a user turn. Tool results become tool messages, in
// order, ahead of whatever else the turn says: they must directly follow
// the assistant message that made the calls.
func appendUser(j *jbuf, m content.Message, first *bool) {
	var rest int
	for _, p := range m.Parts {
		switch p.Kind {
		case content.PartToolResult:
			j.comma(first)
			j.raw(`{"role":"tool","tool_call_id":`)
			j.text(p.ToolID.Bytes())
			j.raw(`,"content":`)
			j.text(p.Text.Bytes())
			j.raw("}")
		case content.PartText, content.PartImage:
			rest++
		}
	}
	if rest == 0 {
		if len(m.Parts) == 0 {
			// An empty turn still takes its place in the conversation.
			j.comma(first)
			j.raw(`{"role":"user","content":""}`)
		}
		return
	}
	j.comma(first)
	j.raw(`{"role":"user","content":`)
	if rest == 1 {
		for _, p := range m.Parts {
			if p.Kind == content.PartText {
				j.text(p.Text.Bytes())
				j.raw("}")
				return
			}
		}
	}
	j.raw("[")
	n := true
	for _, p := range m.Parts {
		switch p.Kind {
		case content.PartText:
			j.comma(&n)
			j.raw(`{"type":"text","text":`)
			j.text(p.Text.Bytes())
			j.raw("}")
		case content.PartImage:
			j.comma(&n)
			j.raw(`{"type":"image_url","image_url":{"url":"`)
			if p.URL.IsEmpty() {
				j.raw("data:")
				j.b = appendEscaped(j.b, p.MediaType.Bytes())
				j.raw(";base64,")
				j.b = appendEscaped(j.b, p.Data.Bytes())
			} else {
				j.b = appendEscaped(j.b, p.URL.Bytes())
			}
			j.raw(`"}}`)
		}
	}
	j.raw("]}")
}

func appendParams(j *jbuf, p logic.Params, r *content.Request) error {
	if p.MaxTokens > 0 {
		j.raw(`,"max_tokens":`)
		j.num(int64(p.MaxTokens))
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"temperature", p.Temperature}, {"top_p", p.TopP}} {
		if f.v == nil {
			continue
		}
		if math.IsNaN(*f.v) || math.IsInf(*f.v, 0) {
			return errBadNumber
		}
		j.raw(`,"` + f.name + `":`)
		j.float(*f.v)
	}
	if p.Seed != nil {
		j.raw(`,"seed":`)
		j.num(*p.Seed)
	}
	if len(r.Stop) > 0 {
		j.raw(`,"stop":[`)
		for i, s := range r.Stop {
			if i > 0 {
				j.raw(",")
			}
			j.text(s.Bytes())
		}
		j.raw("]")
	}
	return nil
}

// appendTools appends tools, tool_choice and parallel_tool_calls. The last
// two are sent only with tools: the API rejects them otherwise.
func appendTools(j *jbuf, r *content.Request) error {
	if len(r.Tools) == 0 {
		return nil
	}
	j.raw(`,"tools":[`)
	for i, t := range r.Tools {
		if i > 0 {
			j.raw(",")
		}
		j.raw(`{"type":"function","function":{"name":`)
		j.text(t.Name.Bytes())
		if !t.Description.IsEmpty() {
			j.raw(`,"description":`)
			j.text(t.Description.Bytes())
		}
		j.raw(`,"parameters":`)
		schema := t.Schema.Bytes()
		if len(wire.TrimSpace(schema)) == 0 {
			schema = []byte(emptySchema)
		}
		// The schema goes in raw, so it must be one JSON object.
		if wire.FirstByte(schema) != '{' || !json.Valid(schema) {
			return errBadSchema
		}
		j.rawBytes(schema)
		j.raw("}}")
	}
	j.raw("]")
	switch tc := r.ToolChoice; tc.Mode {
	case content.ToolChoiceNone:
		j.raw(`,"tool_choice":"none"`)
	case content.ToolChoiceAny:
		j.raw(`,"tool_choice":"required"`)
	case content.ToolChoiceTool:
		j.raw(`,"tool_choice":{"type":"function","function":{"name":`)
		j.text(tc.Name.Bytes())
		j.raw("}}")
	}
	if r.ToolChoice.DisableParallel {
		j.raw(`,"parallel_tool_calls":false`)
	}
	return nil
}
