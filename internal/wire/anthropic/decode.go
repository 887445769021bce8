package anthropic

import (
	"encoding/json"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
)

// request is the body of POST /v1/messages and /v1/messages/count_tokens.
// Polymorphic and nested values stay raw so that each is decoded with its
// own path for error messages.
type request struct {
	Model         string          `json:"model"`
	MaxTokens     json.RawMessage `json:"max_tokens"` // numbers: see decode_numbers.go
	Messages      json.RawMessage `json:"messages"`
	System        json.RawMessage `json:"system"`
	Tools         json.RawMessage `json:"tools"`
	ToolChoice    json.RawMessage `json:"tool_choice"`
	StopSequences []string        `json:"stop_sequences"`
	Temperature   json.RawMessage `json:"temperature"`
	TopP          json.RawMessage `json:"top_p"`
	TopK          json.RawMessage `json:"top_k"`
	Stream        *bool           `json:"stream"`
	// SessionID is the relay's own extension: a client-named session.
	SessionID string `json:"session_id"`

	// Options: checked, then mapped (thinking) or dropped; see
	// decode_options.go for what each one is and why it may be dropped.
	Thinking          json.RawMessage `json:"thinking"`
	Metadata          json.RawMessage `json:"metadata"`
	ServiceTier       json.RawMessage `json:"service_tier"`
	Container         json.RawMessage `json:"container"`
	ContextManagement json.RawMessage `json:"context_management"`
	MCPServers        json.RawMessage `json:"mcp_servers"`
	OutputConfig      json.RawMessage `json:"output_config"`
	OutputFormat      json.RawMessage `json:"output_format"`
	CacheControl      json.RawMessage `json:"cache_control"`
	// Published fields for Anthropic's own infrastructure (where and how
	// fast to run, what to report back), accepted and dropped: there is no
	// such choice to make on a local backend.
	InferenceGeo json.RawMessage `json:"inference_geo"`
	Speed        json.RawMessage `json:"speed"`
	Diagnostics  json.RawMessage `json:"diagnostics"`
}

// DecodeRequest strictly parses a POST /v1/messages body. Its error is a
// *wire.RequestError naming the JSON path at fault. A top-level field it
// does not know is dropped (see DecodeRequestReporting).
func DecodeRequest(body []byte) (*content.Request, logic.Params, error) {
	return decode(body, true, nil)
}

// DecodeRequestReporting is DecodeRequest that passes the name of each
// dropped top-level field to unknown (see wire.DecodeTop): unknown fields
// at the top level are tomorrow's API, accepted so that a client upgrade
// does not break on the day it ships; everywhere below the top level they
// stay errors.
func DecodeRequestReporting(body []byte, unknown func(name string)) (*content.Request, logic.Params, error) {
	return decode(body, true, unknown)
}

// DecodeCountTokens parses a POST /v1/messages/count_tokens body, where
// max_tokens is not required.
func DecodeCountTokens(body []byte) (*content.Request, logic.Params, error) {
	return decode(body, false, nil)
}

// DecodeCountTokensReporting is DecodeCountTokens with the reporting of
// DecodeRequestReporting.
func DecodeCountTokensReporting(body []byte, unknown func(name string)) (*content.Request, logic.Params, error) {
	return decode(body, false, unknown)
}

func decode(body []byte, needMaxTokens bool, unknown func(string)) (*content.Request, logic.Params, error) {
	var w request
	if err := wire.DecodeTop(body, &w, unknown); err != nil {
		return nil, logic.Params{}, err
	}
	p, err := params(&w, needMaxTokens)
	if err != nil {
		return nil, logic.Params{}, err
	}
	if p.Thinking, err = decodeThinkingConfig(w.Thinking, p.MaxTokens); err != nil {
		return nil, logic.Params{}, err
	}
	if err := decodeOptions(options{
		metadata: w.Metadata, serviceTier: w.ServiceTier, container: w.Container,
		contextManagement: w.ContextManagement, mcpServers: w.MCPServers,
		outputConfig: w.OutputConfig, outputFormat: w.OutputFormat, cacheControl: w.CacheControl,
	}); err != nil {
		return nil, logic.Params{}, err
	}
	r := &content.Request{}
	if r.System, err = decodeSystem(w.System); err != nil {
		return nil, logic.Params{}, err
	}
	if r.Messages, err = decodeMessages(w.Messages); err != nil {
		r.Wipe()
		return nil, logic.Params{}, err
	}
	if r.Tools, err = decodeTools(w.Tools); err != nil {
		r.Wipe()
		return nil, logic.Params{}, err
	}
	if r.ToolChoice, err = decodeToolChoice(w.ToolChoice); err != nil {
		r.Wipe()
		return nil, logic.Params{}, err
	}
	for _, s := range w.StopSequences {
		r.Stop = append(r.Stop, content.FromString(s))
	}
	return r, p, nil
}

// params checks the routing and sampling fields.
func params(w *request, needMaxTokens bool) (logic.Params, error) {
	if w.Model == "" {
		return logic.Params{}, &wire.RequestError{Field: "model", Msg: "required"}
	}
	p := logic.Params{Model: w.Model, Session: w.SessionID}
	mt, err := wire.IntParam(w.MaxTokens, "max_tokens", tokensRange)
	switch {
	case err != nil:
		return logic.Params{}, err
	case mt == nil && needMaxTokens:
		return logic.Params{}, &wire.RequestError{Field: "max_tokens", Msg: "required"}
	case mt != nil:
		p.MaxTokens = int(*mt)
	}
	if p.Temperature, err = wire.NumParam(w.Temperature, "temperature", temperatureRange); err != nil {
		return logic.Params{}, err
	}
	if p.TopP, err = wire.NumParam(w.TopP, "top_p", topPRange); err != nil {
		return logic.Params{}, err
	}
	k, err := wire.IntParam(w.TopK, "top_k", topKRange)
	if err != nil {
		return logic.Params{}, err
	}
	if k != nil {
		v := int(*k)
		p.TopK = &v
	}
	if w.Stream != nil {
		p.Stream = *w.Stream
	}
	// The last word on what any backend can take (a no-op after the
	// checks above, kept so that a new field cannot skip it).
	if pe := p.Check(); pe != nil {
		return logic.Params{}, &wire.RequestError{Field: pe.Field, Msg: pe.Msg}
	}
	return p, nil
}

// textBlock is a text content block, in system or in messages.
type textBlock struct {
	Type         string          `json:"type"`
	Text         *string         `json:"text"`
	CacheControl json.RawMessage `json:"cache_control"`
	Citations    json.RawMessage `json:"citations"`
}

// decodeSystem accepts a string or an array of text blocks.
func decodeSystem(raw json.RawMessage) ([]content.Text, error) {
	if wire.IsNull(raw) {
		return nil, nil
	}
	switch wire.FirstByte(raw) {
	case '"':
		var s string
		if err := wire.DecodeValue(raw, "system", &s); err != nil {
			return nil, err
		}
		if s == "" {
			return nil, nil
		}
		return []content.Text{content.FromString(s)}, nil
	case '[':
		var items []json.RawMessage
		if err := wire.DecodeValue(raw, "system", &items); err != nil {
			return nil, err
		}
		out := make([]content.Text, 0, len(items))
		for i, item := range items {
			path := wire.Index("system", i)
			typ, err := blockType(item, path)
			if err != nil {
				return nil, err
			}
			if typ != "text" {
				return nil, &wire.RequestError{Field: path + ".type", Msg: "must be text"}
			}
			p, err := decodeText(item, path)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Text)
		}
		return out, nil
	default:
		return nil, &wire.RequestError{Field: "system", Msg: "must be a string or an array"}
	}
}

// tool is one entry of tools. Fields after InputSchema are published
// options the relay accepts and ignores.
type tool struct {
	Type                string          `json:"type"`
	Name                string          `json:"name"`
	Description         *string         `json:"description"`
	InputSchema         json.RawMessage `json:"input_schema"`
	CacheControl        json.RawMessage `json:"cache_control"`
	Strict              json.RawMessage `json:"strict"`
	DeferLoading        json.RawMessage `json:"defer_loading"`
	EagerInputStreaming json.RawMessage `json:"eager_input_streaming"`
	AllowedCallers      json.RawMessage `json:"allowed_callers"`
	InputExamples       json.RawMessage `json:"input_examples"`
}

func decodeTools(raw json.RawMessage) ([]content.Tool, error) {
	if wire.IsNull(raw) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := wire.DecodeValue(raw, "tools", &items); err != nil {
		return nil, err
	}
	out := make([]content.Tool, 0, len(items))
	for i, item := range items {
		path := wire.Index("tools", i)
		typ, err := peekType(item, path)
		if err != nil {
			return nil, err
		}
		// Server tools (web search, code execution, ...) carry a versioned
		// type and run on Anthropic's side; the relay cannot offer them.
		if typ != "" && typ != "custom" {
			return nil, &wire.RequestError{Field: path + ".type", Msg: "server tools are not supported yet"}
		}
		var t tool
		if err := wire.DecodeValue(item, path, &t); err != nil {
			return nil, err
		}
		if err := checkCacheControl(t.CacheControl, path+".cache_control"); err != nil {
			return nil, err
		}
		if t.Name == "" {
			return nil, &wire.RequestError{Field: path + ".name", Msg: "required"}
		}
		if wire.IsNull(t.InputSchema) {
			return nil, &wire.RequestError{Field: path + ".input_schema", Msg: "required"}
		}
		if !isObject(t.InputSchema) {
			return nil, &wire.RequestError{Field: path + ".input_schema", Msg: "must be an object"}
		}
		ct := content.Tool{Name: content.FromString(t.Name), Schema: content.Of(t.InputSchema)}
		if t.Description != nil {
			ct.Description = content.FromString(*t.Description)
		}
		out = append(out, ct)
	}
	return out, nil
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

func decodeToolChoice(raw json.RawMessage) (content.ToolChoice, error) {
	if wire.IsNull(raw) {
		return content.ToolChoice{}, nil
	}
	var c toolChoice
	if err := wire.DecodeValue(raw, "tool_choice", &c); err != nil {
		return content.ToolChoice{}, err
	}
	out := content.ToolChoice{DisableParallel: c.DisableParallelToolUse}
	switch c.Type {
	case "auto":
		out.Mode = content.ToolChoiceAuto
	case "any":
		out.Mode = content.ToolChoiceAny
	case "none":
		out.Mode = content.ToolChoiceNone
	case "tool":
		if c.Name == "" {
			return content.ToolChoice{}, &wire.RequestError{Field: "tool_choice.name", Msg: "required"}
		}
		out.Mode = content.ToolChoiceTool
		out.Name = content.FromString(c.Name)
	case "":
		return content.ToolChoice{}, &wire.RequestError{Field: "tool_choice.type", Msg: "required"}
	default:
		return content.ToolChoice{}, &wire.RequestError{Field: "tool_choice.type", Msg: "must be auto, any, tool or none"}
	}
	return out, nil
}

// peekType reads the "type" of the object raw at path, without judging its
// other fields; it is "" when the object has none.
func peekType(raw json.RawMessage, path string) (string, error) {
	if wire.IsNull(raw) {
		return "", &wire.RequestError{Field: path, Msg: "must be an object"}
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", wire.FieldError(path, err)
	}
	return head.Type, nil
}

// blockType is peekType for objects that must name their type.
func blockType(raw json.RawMessage, path string) (string, error) {
	typ, err := peekType(raw, path)
	if err == nil && typ == "" {
		err = &wire.RequestError{Field: path + ".type", Msg: "required"}
	}
	return typ, err
}
