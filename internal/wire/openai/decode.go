package openai

import (
	"encoding/json"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
)

// chatRequest is the top level of POST /v1/chat/completions. Polymorphic and
// nested fields stay raw and are decoded one level at a time, so that every
// error can name its full path (encoding/json loses array indexes).
type chatRequest struct {
	Messages      []json.RawMessage `json:"messages"`
	Model         *string           `json:"model"`
	Stream        *bool             `json:"stream"`
	StreamOptions json.RawMessage   `json:"stream_options"`
	// Numbers stay raw: decode_numbers.go checks each against its range.
	MaxTokens           json.RawMessage   `json:"max_tokens"`
	MaxCompletionTokens json.RawMessage   `json:"max_completion_tokens"`
	Temperature         json.RawMessage   `json:"temperature"`
	TopP                json.RawMessage   `json:"top_p"`
	Seed                json.RawMessage   `json:"seed"`
	N                   json.RawMessage   `json:"n"`
	Stop                json.RawMessage   `json:"stop"`
	Tools               []json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage   `json:"tool_choice"`
	ParallelToolCalls   *bool             `json:"parallel_tool_calls"`
	// SessionID is the relay's own extension.
	SessionID *string `json:"session_id"`

	// Legacy function calling: rejected with a pointer to tools.
	Functions    json.RawMessage `json:"functions"`
	FunctionCall json.RawMessage `json:"function_call"`

	// Documented fields the relay accepts and ignores (the numeric ones
	// range-checked all the same).
	User                 json.RawMessage `json:"user"`
	Metadata             json.RawMessage `json:"metadata"`
	Store                json.RawMessage `json:"store"`
	ServiceTier          json.RawMessage `json:"service_tier"`
	Logprobs             json.RawMessage `json:"logprobs"`
	TopLogprobs          json.RawMessage `json:"top_logprobs"`
	LogitBias            json.RawMessage `json:"logit_bias"`
	FrequencyPenalty     json.RawMessage `json:"frequency_penalty"`
	PresencePenalty      json.RawMessage `json:"presence_penalty"`
	ResponseFormat       json.RawMessage `json:"response_format"`
	Prediction           json.RawMessage `json:"prediction"`
	Modalities           json.RawMessage `json:"modalities"`
	Audio                json.RawMessage `json:"audio"`
	ReasoningEffort      json.RawMessage `json:"reasoning_effort"`
	Verbosity            json.RawMessage `json:"verbosity"`
	WebSearchOptions     json.RawMessage `json:"web_search_options"`
	PromptCacheKey       json.RawMessage `json:"prompt_cache_key"`
	PromptCacheRetention json.RawMessage `json:"prompt_cache_retention"`
	SafetyIdentifier     json.RawMessage `json:"safety_identifier"`
}

type streamOptions struct {
	IncludeUsage       *bool           `json:"include_usage"`
	IncludeObfuscation json.RawMessage `json:"include_obfuscation"` // ignored
}

// DecodeRequest strictly parses a POST /v1/chat/completions body. Every
// error is a *wire.RequestError naming the field at fault. A top-level
// field it does not know is dropped (see DecodeRequestReporting).
func DecodeRequest(body []byte) (*content.Request, logic.Params, error) {
	return DecodeRequestReporting(body, nil)
}

// DecodeRequestReporting is DecodeRequest that passes the name of each
// dropped top-level field to unknown (see wire.DecodeTop): the OpenAI SDKs
// gain request fields with every release, as Anthropic's do, so the
// relay's policy for tomorrow's fields is the same on both fronts.
func DecodeRequestReporting(body []byte, unknown func(name string)) (*content.Request, logic.Params, error) {
	var cr chatRequest
	if err := wire.DecodeTop(body, &cr, unknown); err != nil {
		return nil, logic.Params{}, err
	}
	p, err := decodeParams(&cr)
	if err != nil {
		return nil, logic.Params{}, err
	}
	r := &content.Request{}
	if err := decodeMessages(cr.Messages, r); err != nil {
		r.Wipe()
		return nil, logic.Params{}, err
	}
	if err := decodeTools(&cr, r); err != nil {
		r.Wipe()
		return nil, logic.Params{}, err
	}
	if r.Stop, err = decodeStop(cr.Stop); err != nil {
		r.Wipe()
		return nil, logic.Params{}, err
	}
	return r, p, nil
}

func decodeParams(cr *chatRequest) (logic.Params, error) {
	var p logic.Params
	if cr.Model == nil || *cr.Model == "" {
		return p, reqErr("model", "is required")
	}
	p.Model = *cr.Model
	if len(cr.Messages) == 0 {
		return p, reqErr("messages", "must not be empty")
	}
	if !wire.IsNull(cr.Functions) {
		return p, reqErr("functions", "is not supported; use tools")
	}
	if !wire.IsNull(cr.FunctionCall) {
		return p, reqErr("function_call", "is not supported; use tool_choice")
	}
	if n, err := wire.IntParam(cr.N, "n", nRange); err != nil {
		return p, err
	} else if n != nil && *n != 1 {
		return p, reqErr("n", "only 1 is supported")
	}
	if cr.Stream != nil {
		p.Stream = *cr.Stream
	}
	if !wire.IsNull(cr.StreamOptions) {
		var so streamOptions
		if err := wire.DecodeValue(cr.StreamOptions, "stream_options", &so); err != nil {
			return p, err
		}
		p.IncludeUsage = p.Stream && so.IncludeUsage != nil && *so.IncludeUsage
	}
	for _, mt := range []struct {
		name string
		raw  json.RawMessage
	}{{"max_tokens", cr.MaxTokens}, {"max_completion_tokens", cr.MaxCompletionTokens}} {
		// From 1: 0 would silently mean "no cap" to the rest of the relay.
		v, err := wire.IntParam(mt.raw, mt.name, tokensRange)
		if err != nil {
			return p, err
		}
		if v != nil {
			p.MaxTokens = int(*v) // max_completion_tokens, checked last, wins
		}
	}
	var err error
	if p.Temperature, err = wire.NumParam(cr.Temperature, "temperature", temperatureRange); err != nil {
		return p, err
	}
	if p.TopP, err = wire.NumParam(cr.TopP, "top_p", topPRange); err != nil {
		return p, err
	}
	if p.Seed, err = wire.IntParam(cr.Seed, "seed", seedRange); err != nil {
		return p, err
	}
	// Accepted and ignored, but held to the API's ranges.
	for _, pen := range []struct {
		name string
		raw  json.RawMessage
	}{{"frequency_penalty", cr.FrequencyPenalty}, {"presence_penalty", cr.PresencePenalty}} {
		if _, err := wire.NumParam(pen.raw, pen.name, penaltyRange); err != nil {
			return p, err
		}
	}
	if _, err := wire.IntParam(cr.TopLogprobs, "top_logprobs", topLogprobsRange); err != nil {
		return p, err
	}
	if err := checkLogitBias(cr.LogitBias); err != nil {
		return p, err
	}
	if cr.SessionID != nil {
		p.Session = *cr.SessionID
	}
	// The last word on what any backend can take (a no-op after the
	// checks above, kept so that a new field cannot skip it).
	if pe := p.Check(); pe != nil {
		return p, reqErr(pe.Field, pe.Msg)
	}
	return p, nil
}

func decodeStop(raw json.RawMessage) ([]content.Text, error) {
	if wire.IsNull(raw) {
		return nil, nil
	}
	var stops []content.Text
	add := func(t text) {
		if len(t.b) > 0 { // an empty stop sequence stops nothing
			stops = append(stops, content.Of(t.b))
		}
	}
	switch wire.FirstByte(raw) {
	case '"':
		var t text
		if err := wire.DecodeValue(raw, "stop", &t); err != nil {
			return nil, err
		}
		add(t)
	case '[':
		var ts []text
		if err := wire.DecodeValue(raw, "stop", &ts); err != nil {
			return nil, reqErr("stop", "must be a string or an array of strings")
		}
		for _, t := range ts {
			add(t)
		}
	default:
		return nil, reqErr("stop", "must be a string or an array of strings")
	}
	return stops, nil
}

func reqErr(field, msg string) *wire.RequestError {
	return &wire.RequestError{Field: field, Msg: msg}
}
