package anthropic

import (
	"bytes"
	"errors"
	"math"
	"strconv"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
)

// DefaultMaxTokens is sent when the client set no cap: the Messages API
// requires one and OpenAI clients often leave it out.
const DefaultMaxTokens = 4096

var errRole = errors.New("anthropic: message with an unknown role")

// EncodeUpstream builds a streaming POST /v1/messages body for target t.
// It adapts requests that came through either front to what the API
// accepts: consecutive same-role messages are merged (the API requires
// turns to alternate), tool results go first in a user turn, empty text and
// unsigned thinking are left out, temperature is clamped to [0, 1], and
// parameters without an Anthropic equivalent (seed) are dropped.
func EncodeUpstream(t logic.Target, p logic.Params, r *content.Request) ([]byte, error) {
	b := make([]byte, 0, 512+r.Size()+r.Size()/8)
	b = append(b, `{"model":`...)
	b = appendStr(b, t.Model)
	b = append(b, `,"max_tokens":`...)
	if p.MaxTokens > 0 {
		b = appendInt(b, p.MaxTokens)
	} else {
		b = appendInt(b, DefaultMaxTokens)
	}
	b = append(b, `,"stream":true`...)
	b, err := appendPrompt(b, r)
	if err != nil {
		return nil, err
	}
	if v := p.Temperature; v != nil && !math.IsNaN(*v) {
		b = append(b, `,"temperature":`...)
		b = appendFloat(b, min(max(*v, 0), 1))
	}
	if v := p.TopP; v != nil && !math.IsNaN(*v) {
		b = append(b, `,"top_p":`...)
		b = appendFloat(b, min(max(*v, 0), 1))
	}
	if v := p.TopK; v != nil && *v >= 0 {
		b = append(b, `,"top_k":`...)
		b = appendInt(b, *v)
	}
	if len(r.Stop) > 0 {
		b = append(b, `,"stop_sequences":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s.Bytes())
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// EncodeUpstreamCountTokens builds a POST /v1/messages/count_tokens body,
// which takes the prompt without sampling parameters.
func EncodeUpstreamCountTokens(t logic.Target, r *content.Request) ([]byte, error) {
	b := make([]byte, 0, 256+r.Size()+r.Size()/8)
	b = append(b, `{"model":`...)
	b = appendStr(b, t.Model)
	b, err := appendPrompt(b, r)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendFloat(b []byte, f float64) []byte { return strconv.AppendFloat(b, f, 'g', -1, 64) }

// appendPrompt appends system, messages, tools and tool_choice, each after
// a comma.
func appendPrompt(b []byte, r *content.Request) ([]byte, error) {
	// System messages inside the conversation go to the top-level system
	// field, after the system prompt, in order: the one place the
	// published API takes system text. Their position is lost; see
	// content.Request.SystemTexts.
	if sys := nonEmpty(r.SystemTexts()); len(sys) > 0 {
		b = append(b, `,"system":[`...)
		for i, s := range sys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"text","text":`...)
			b = appendString(b, s.Bytes())
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b, err := appendMessages(b, r.Messages)
	if err != nil {
		return nil, err
	}
	if len(r.Tools) == 0 {
		// The API refuses tool_choice without tools.
		return b, nil
	}
	b = append(b, `,"tools":[`...)
	for i, t := range r.Tools {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, t.Name.Bytes())
		if !t.Description.IsEmpty() {
			b = append(b, `,"description":`...)
			b = appendString(b, t.Description.Bytes())
		}
		b = append(b, `,"input_schema":`...)
		b = appendObject(b, t.Schema.Bytes(), `{"type":"object"}`)
		b = append(b, '}')
	}
	b = append(b, `],"tool_choice":{"type":`...)
	c := r.ToolChoice
	switch c.Mode {
	case content.ToolChoiceNone:
		b = append(b, `"none"`...)
	case content.ToolChoiceAny:
		b = append(b, `"any"`...)
	case content.ToolChoiceTool:
		b = append(b, `"tool","name":`...)
		b = appendString(b, c.Name.Bytes())
	default:
		b = append(b, `"auto"`...)
	}
	if c.DisableParallel && c.Mode != content.ToolChoiceNone {
		b = append(b, `,"disable_parallel_tool_use":true`...)
	}
	return append(b, '}'), nil
}

func nonEmpty(ts []content.Text) []content.Text {
	out := make([]content.Text, 0, len(ts))
	for _, t := range ts {
		if !t.IsEmpty() {
			out = append(out, t)
		}
	}
	return out
}

// turn is one merged message: its encoded blocks, tool results apart so
// that they can go first as the API requires.
type turn struct {
	role    content.Role
	results [][]byte
	blocks  [][]byte
}

func appendMessages(b []byte, msgs []content.Message) ([]byte, error) {
	var turns []turn
	for i := range msgs {
		m := &msgs[i]
		if m.Role == content.RoleSystem {
			continue // sent in system (appendPrompt)
		}
		if m.Role != content.RoleUser && m.Role != content.RoleAssistant {
			return nil, errRole
		}
		var t turn
		for j := 0; j < len(m.Parts); j++ {
			p := &m.Parts[j]
			if p.Kind == content.PartToolResult {
				// Images right behind a result belong inside it: that is
				// where the front's decoder found them.
				k := j + 1
				for k < len(m.Parts) && m.Parts[k].Kind == content.PartImage {
					k++
				}
				t.results = append(t.results, appendToolResult(nil, p, m.Parts[j+1:k]))
				j = k - 1
				continue
			}
			if blk := appendUpstreamBlock(nil, p); blk != nil {
				t.blocks = append(t.blocks, blk)
			}
		}
		if len(t.results)+len(t.blocks) == 0 {
			continue // the API refuses empty content
		}
		if n := len(turns); n > 0 && turns[n-1].role == m.Role {
			turns[n-1].results = append(turns[n-1].results, t.results...)
			turns[n-1].blocks = append(turns[n-1].blocks, t.blocks...)
			continue
		}
		t.role = m.Role
		turns = append(turns, t)
	}
	b = append(b, `,"messages":[`...)
	for i, t := range turns {
		if i > 0 {
			b = append(b, ',')
		}
		if t.role == content.RoleUser {
			b = append(b, `{"role":"user","content":[`...)
		} else {
			b = append(b, `{"role":"assistant","content":[`...)
		}
		n := 0
		for _, list := range [][][]byte{t.results, t.blocks} {
			for _, blk := range list {
				if n > 0 {
					b = append(b, ',')
				}
				b = append(b, blk...)
				clear(blk)
				n++
			}
		}
		b = append(b, `]}`...)
	}
	return append(b, ']'), nil
}

// appendUpstreamBlock encodes one part as a content block, or returns nil
// for a part the API would refuse or cannot use.
func appendUpstreamBlock(b []byte, p *content.Part) []byte {
	switch p.Kind {
	case content.PartText:
		if p.Text.IsEmpty() {
			return nil
		}
		b = append(b, `{"type":"text","text":`...)
		b = appendString(b, p.Text.Bytes())
	case content.PartImage:
		return appendImage(b, p)
	case content.PartToolCall:
		b = append(b, `{"type":"tool_use","id":`...)
		b = appendString(b, p.ToolID.Bytes())
		b = append(b, `,"name":`...)
		b = appendString(b, p.ToolName.Bytes())
		b = append(b, `,"input":`...)
		b = appendObject(b, p.Args.Bytes(), "{}")
	case content.PartToolResult:
		return appendToolResult(b, p, nil)
	case content.PartThinking:
		// Thinking goes back only with Anthropic's signature; the API
		// refuses unsigned thinking, such as another backend's reasoning.
		if p.Signature.IsEmpty() {
			return nil
		}
		b = append(b, `{"type":"thinking","thinking":`...)
		b = appendString(b, p.Text.Bytes())
		b = append(b, `,"signature":`...)
		b = appendString(b, p.Signature.Bytes())
	default:
		return nil
	}
	return append(b, '}')
}

// appendToolResult encodes a tool result, with images inside its content.
func appendToolResult(b []byte, p *content.Part, images []content.Part) []byte {
	b = append(b, `{"type":"tool_result","tool_use_id":`...)
	b = appendString(b, p.ToolID.Bytes())
	if len(images) == 0 && !p.Text.IsEmpty() {
		b = append(b, `,"content":`...)
		b = appendString(b, p.Text.Bytes())
	}
	if len(images) > 0 {
		b = append(b, `,"content":[`...)
		n := 0
		if !p.Text.IsEmpty() {
			b = append(b, `{"type":"text","text":`...)
			b = appendString(b, p.Text.Bytes())
			b = append(b, '}')
			n++
		}
		for i := range images {
			start := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			if img := appendImage(b, &images[i]); img != nil {
				b = img
				n++
			} else {
				b = b[:start]
			}
		}
		b = append(b, ']')
	}
	if p.IsError {
		b = append(b, `,"is_error":true`...)
	}
	return append(b, '}')
}

// appendImage encodes an image as a base64 or url source. A data: URL (how
// OpenAI clients inline images) becomes a base64 source.
func appendImage(b []byte, p *content.Part) []byte {
	mediaType, data := p.MediaType.Bytes(), p.Data.Bytes()
	if len(data) == 0 {
		if mt, d, ok := parseDataURL(p.URL.Bytes()); ok {
			mediaType, data = mt, d
		}
	}
	switch {
	case len(data) > 0:
		b = append(b, `{"type":"image","source":{"type":"base64","media_type":`...)
		b = appendString(b, mediaType)
		b = append(b, `,"data":`...)
		b = appendString(b, data)
	case !p.URL.IsEmpty():
		b = append(b, `{"type":"image","source":{"type":"url","url":`...)
		b = appendString(b, p.URL.Bytes())
	default:
		return nil
	}
	return append(b, `}}`...)
}

// parseDataURL splits data:<media type>;base64,<data>.
func parseDataURL(u []byte) (mediaType, data []byte, ok bool) {
	rest, ok := bytes.CutPrefix(u, []byte("data:"))
	if !ok {
		return nil, nil, false
	}
	mediaType, data, ok = bytes.Cut(rest, []byte(";base64,"))
	if !ok || len(mediaType) == 0 || len(data) == 0 {
		return nil, nil, false
	}
	return mediaType, data, true
}
