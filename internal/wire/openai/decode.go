package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"

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
// error is a *wire.RequestError naming the field at fault.
func DecodeRequest(body []byte) (*content.Request, logic.Params, error) {
	var cr chatRequest
	if err := decodeTop(body, &cr); err != nil {
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
	if !isNull(cr.Functions) {
		return p, reqErr("functions", "is not supported; use tools")
	}
	if !isNull(cr.FunctionCall) {
		return p, reqErr("function_call", "is not supported; use tool_choice")
	}
	if n, err := intParam(cr.N, "n", nRange); err != nil {
		return p, err
	} else if n != nil && *n != 1 {
		return p, reqErr("n", "only 1 is supported")
	}
	if cr.Stream != nil {
		p.Stream = *cr.Stream
	}
	if !isNull(cr.StreamOptions) {
		var so streamOptions
		if err := decodeStrict(cr.StreamOptions, "stream_options", &so); err != nil {
			return p, err
		}
		p.IncludeUsage = p.Stream && so.IncludeUsage != nil && *so.IncludeUsage
	}
	for _, mt := range []struct {
		name string
		raw  json.RawMessage
	}{{"max_tokens", cr.MaxTokens}, {"max_completion_tokens", cr.MaxCompletionTokens}} {
		// From 1: 0 would silently mean "no cap" to the rest of the relay.
		v, err := intParam(mt.raw, mt.name, tokensRange)
		if err != nil {
			return p, err
		}
		if v != nil {
			p.MaxTokens = int(*v) // max_completion_tokens, checked last, wins
		}
	}
	var err error
	if p.Temperature, err = numParam(cr.Temperature, "temperature", temperatureRange); err != nil {
		return p, err
	}
	if p.TopP, err = numParam(cr.TopP, "top_p", topPRange); err != nil {
		return p, err
	}
	if p.Seed, err = intParam(cr.Seed, "seed", seedRange); err != nil {
		return p, err
	}
	// Accepted and ignored, but held to the API's ranges.
	for _, pen := range []struct {
		name string
		raw  json.RawMessage
	}{{"frequency_penalty", cr.FrequencyPenalty}, {"presence_penalty", cr.PresencePenalty}} {
		if _, err := numParam(pen.raw, pen.name, penaltyRange); err != nil {
			return p, err
		}
	}
	if _, err := intParam(cr.TopLogprobs, "top_logprobs", topLogprobsRange); err != nil {
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
	if isNull(raw) {
		return nil, nil
	}
	var stops []content.Text
	add := func(t text) {
		if len(t.b) > 0 { // an empty stop sequence stops nothing
			stops = append(stops, content.Of(t.b))
		}
	}
	switch firstByte(raw) {
	case '"':
		var t text
		if err := decodeStrict(raw, "stop", &t); err != nil {
			return nil, err
		}
		add(t)
	case '[':
		var ts []text
		if err := decodeStrict(raw, "stop", &ts); err != nil {
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

// decodeTop decodes the whole body into v, rejecting malformed JSON (with
// the byte offset), unknown fields and trailing data.
func decodeTop(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return reqErr("", "request body is empty")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return reqErr("", "malformed JSON at byte offset "+strconv.Itoa(len(body)))
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return reqErr("", "request body must be a JSON object")
		}
		return jsonError("", err)
	}
	if rest := trimSpace(body[d.InputOffset():]); len(rest) > 0 {
		return reqErr("", "unexpected data after the JSON object at byte offset "+strconv.FormatInt(d.InputOffset(), 10))
	}
	return nil
}

// decodeStrict decodes one already-validated raw value into v, reporting
// errors under path.
func decodeStrict(raw []byte, path string, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return jsonError(path, err)
	}
	return nil
}

// jsonError turns an encoding/json error into a *wire.RequestError that
// names the field and never quotes a value.
func jsonError(path string, err error) error {
	var re *wire.RequestError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &se):
		// Offset counts the bytes read including the bad one; report the
		// bad byte's own (0-based) position.
		return reqErr(path, "malformed JSON at byte offset "+strconv.FormatInt(max(se.Offset-1, 0), 10))
	case errors.As(err, &te):
		return reqErr(joinPath(path, te.Field), "must be "+describeType(te.Type))
	}
	const unknown = `json: unknown field "`
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		name := strings.TrimSuffix(strings.TrimPrefix(msg, unknown), `"`)
		if safeName(name) {
			return reqErr(joinPath(path, name), "unknown field")
		}
		return reqErr(path, "unknown field")
	}
	return reqErr(path, "malformed value")
}

// safeName reports whether an unknown field name may appear in an error:
// short identifiers only, so a client cannot smuggle content into the
// relay's errors through a key.
func safeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func describeType(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		if t == reflect.TypeFor[text]() {
			return "a string"
		}
		return "an object"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return "of another type"
}

func joinPath(path, field string) string {
	switch {
	case field == "":
		return path
	case path == "":
		return field
	}
	return path + "." + field
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func reqErr(field, msg string) *wire.RequestError {
	return &wire.RequestError{Field: field, Msg: msg}
}

// firstByte returns the first non-space byte of raw, or 0.
func firstByte(raw []byte) byte {
	raw = trimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}
