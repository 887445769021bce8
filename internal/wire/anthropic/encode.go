package anthropic

import (
	"strconv"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
)

// stopReason names a stop reason as the Messages API does. A backend that
// did not say why it stopped is reported as having ended its turn: null
// would make clients think the reply is still going.
func stopReason(s logic.StopReason) string {
	switch s {
	case logic.StopMaxTokens:
		return "max_tokens"
	case logic.StopSequence:
		return "stop_sequence"
	case logic.StopToolUse:
		return "tool_use"
	case logic.StopRefusal:
		return "refusal"
	default:
		return "end_turn"
	}
}

// appendStop appends "stop_reason":..,"stop_sequence":.. .
func appendStop(b []byte, st logic.Status, stopSeq []byte) []byte {
	b = append(b, `"stop_reason":`...)
	b = appendStr(b, stopReason(st.Stop))
	b = append(b, `,"stop_sequence":`...)
	if st.Stop == logic.StopSequence && stopSeq != nil {
		return appendString(b, stopSeq)
	}
	return append(b, "null"...)
}

// appendUsage appends the usage object. logic.Usage.Input counts every
// input token, cached ones included; Anthropic's input_tokens counts only
// those neither read from nor written to the cache.
func appendUsage(b []byte, u logic.Usage) []byte {
	in := max(u.Input-u.CacheRead-u.CacheWrite, 0)
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, in)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, u.CacheWrite)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = appendInt(b, u.CacheRead)
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, u.Output)
	return append(b, '}')
}

// toolID is the id of the tool call at block position i: the backend's, or
// a made-up one when the backend gave none (some local engines do not),
// since clients match results to calls by id.
func toolID(id content.Text, i int) []byte {
	if !id.IsEmpty() {
		return id.Bytes()
	}
	return []byte("toolu_relay_" + strconv.Itoa(i))
}

// EncodeResponse renders a finished assistant message as a Messages API
// response body. Parts an assistant cannot send (images, tool results) are
// left out; tool arguments that are not a JSON object become {}.
func EncodeResponse(id, model string, msg content.Message, st logic.Status, stopSeq []byte) ([]byte, error) {
	b := make([]byte, 0, 256+messageSize(&msg))
	b = append(b, `{"id":`...)
	b = appendStr(b, id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendStr(b, model)
	b = append(b, `,"content":[`...)
	n := 0
	for i := range msg.Parts {
		start := len(b)
		if n > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendResponseBlock(b, &msg.Parts[i], n); ok {
			n++
		} else {
			b = b[:start]
		}
	}
	b = append(b, `],`...)
	b = appendStop(b, st, stopSeq)
	b = append(b, `,"usage":`...)
	b = appendUsage(b, st.Usage)
	return append(b, '}'), nil
}

// messageSize estimates the encoded size of m's content, to size buffers.
func messageSize(m *content.Message) int {
	n := 0
	for i := range m.Parts {
		p := &m.Parts[i]
		n += p.Text.Len() + p.Args.Len() + p.Signature.Len() + p.ToolID.Len() + p.ToolName.Len() + 64
	}
	return n
}

// appendResponseBlock appends one content block of a response; ok is false
// when the part has no place in an assistant reply.
func appendResponseBlock(b []byte, p *content.Part, i int) ([]byte, bool) {
	switch p.Kind {
	case content.PartText:
		b = append(b, `{"type":"text","text":`...)
		b = appendString(b, p.Text.Bytes())
	case content.PartToolCall:
		b = append(b, `{"type":"tool_use","id":`...)
		b = appendString(b, toolID(p.ToolID, i))
		b = append(b, `,"name":`...)
		b = appendString(b, p.ToolName.Bytes())
		b = append(b, `,"input":`...)
		b = appendObject(b, p.Args.Bytes(), "{}")
	case content.PartThinking:
		b = append(b, `{"type":"thinking","thinking":`...)
		b = appendString(b, p.Text.Bytes())
		b = append(b, `,"signature":`...)
		b = appendString(b, p.Signature.Bytes())
	default:
		return b, false
	}
	return append(b, '}'), true
}

// EncodeCountTokens renders the count_tokens response.
func EncodeCountTokens(inputTokens int) []byte {
	b := append([]byte(`{"input_tokens":`), strconv.Itoa(inputTokens)...)
	return append(b, '}')
}

// Model is one entry of GET /v1/models.
type Model struct {
	ID          string
	DisplayName string // the ID when empty
	Created     time.Time
}

// EncodeModels renders GET /v1/models as one page holding every model.
func EncodeModels(models []Model) []byte {
	b := []byte(`{"data":[`)
	for i, m := range models {
		if i > 0 {
			b = append(b, ',')
		}
		name := m.DisplayName
		if name == "" {
			name = m.ID
		}
		b = append(b, `{"type":"model","id":`...)
		b = appendStr(b, m.ID)
		b = append(b, `,"display_name":`...)
		b = appendStr(b, name)
		b = append(b, `,"created_at":`...)
		b = appendStr(b, m.Created.UTC().Format(time.RFC3339))
		b = append(b, '}')
	}
	b = append(b, `],"has_more":false,"first_id":`...)
	if len(models) == 0 {
		return append(b, `null,"last_id":null}`...)
	}
	b = appendStr(b, models[0].ID)
	b = append(b, `,"last_id":`...)
	b = appendStr(b, models[len(models)-1].ID)
	return append(b, '}')
}
