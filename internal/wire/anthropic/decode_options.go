package anthropic

import (
	"encoding/json"
	"math"

	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
)

// The request options Claude Code and the SDKs send beside the prompt. Each
// is checked against its published shape (a malformed value is a 400, as
// the API gives) and then either mapped or dropped, for the reason given
// at each. None of them is content; none is recorded.

// budgetRange is thinking.budget_tokens: at least 1024 per the API, below
// max_tokens (checked in decodeThinking).
var budgetRange = wire.IntRange{Lo: 1024, Hi: math.MaxInt32}

type thinkingConfig struct {
	Type         string          `json:"type"`
	BudgetTokens json.RawMessage `json:"budget_tokens"`
	Display      json.RawMessage `json:"display"`
}

// decodeThinkingConfig maps thinking. What it decides: whether the model's
// reasoning reaches this client as thinking blocks (enabled or adaptive,
// unless display is "omitted"). Display values other than "omitted" show
// reasoning: the API adds display modes under beta headers ("updates" in
// Claude Code 2.1.337), and each of them shows some form of it.
func decodeThinkingConfig(raw json.RawMessage, maxTokens int) (logic.Thinking, error) {
	if wire.IsNull(raw) {
		return logic.Thinking{}, nil
	}
	if wire.FirstByte(raw) != '{' {
		return logic.Thinking{}, &wire.RequestError{Field: "thinking", Msg: "must be an object"}
	}
	var c thinkingConfig
	if err := wire.DecodeValue(raw, "thinking", &c); err != nil {
		return logic.Thinking{}, err
	}
	var t logic.Thinking
	switch c.Type {
	case "enabled":
		t.Mode = logic.ThinkingEnabled
		b, err := wire.IntParam(c.BudgetTokens, "thinking.budget_tokens", budgetRange)
		if err != nil {
			return logic.Thinking{}, err
		}
		if b == nil {
			return logic.Thinking{}, &wire.RequestError{Field: "thinking.budget_tokens", Msg: "required"}
		}
		if maxTokens > 0 && *b >= int64(maxTokens) {
			return logic.Thinking{}, &wire.RequestError{Field: "thinking.budget_tokens", Msg: "must be less than max_tokens"}
		}
		t.Budget = int(*b)
	case "adaptive":
		t.Mode = logic.ThinkingAdaptive
	case "disabled":
		t.Mode = logic.ThinkingDisabled
	case "":
		return logic.Thinking{}, &wire.RequestError{Field: "thinking.type", Msg: "required"}
	default:
		return logic.Thinking{}, &wire.RequestError{Field: "thinking.type", Msg: "must be enabled, adaptive or disabled"}
	}
	if t.Mode != logic.ThinkingEnabled && !wire.IsNull(c.BudgetTokens) {
		return logic.Thinking{}, &wire.RequestError{Field: "thinking.budget_tokens", Msg: "unknown field for this thinking type"}
	}
	if !wire.IsNull(c.Display) {
		if t.Mode == logic.ThinkingDisabled {
			return logic.Thinking{}, &wire.RequestError{Field: "thinking.display", Msg: "unknown field for this thinking type"}
		}
		var d string
		if err := wire.DecodeValue(c.Display, "thinking.display", &d); err != nil {
			return logic.Thinking{}, err
		}
		t.Omit = d == "omitted"
	}
	return t, nil
}

// options are the fields decodeOptions checks and drops.
type options struct {
	metadata, serviceTier, container, contextManagement, mcpServers json.RawMessage
	outputConfig, outputFormat, cacheControl                        json.RawMessage
}

// decodeOptions checks the options the relay accepts and does not act on:
//
//   - metadata.user_id: an identifier of the end user, for the API's abuse
//     detection. The relay has no use for it and records nothing of it.
//   - service_tier, container, mcp_servers: capacity classes, code
//     execution containers and remote MCP servers exist on Anthropic's side
//     only; a local backend has none of them.
//   - context_management: edits the API applies to long conversations
//     (clearing old tool results or thinking). The relay passes the
//     conversation as sent; a client that relies on the edits sends a
//     longer prompt, never a wrong one.
//   - output_config.effort: a hint about how hard to think; no backend the
//     relay routes to takes it.
//   - output_config.format, output_format: structured output. Checked, not
//     enforced: the reply is whatever the backend writes.
//   - cache_control (here and on blocks and tools): prompt caching hints;
//     local engines cache prompts on their own.
func decodeOptions(o options) error {
	if !wire.IsNull(o.metadata) {
		var m struct {
			UserID json.RawMessage `json:"user_id"`
		}
		if err := wire.DecodeValue(o.metadata, "metadata", &m); err != nil {
			return err
		}
		if !wire.IsNull(m.UserID) {
			var id string
			if err := wire.DecodeValue(m.UserID, "metadata.user_id", &id); err != nil {
				return err
			}
			if len(id) > 512 {
				return &wire.RequestError{Field: "metadata.user_id", Msg: "must be at most 512 characters"}
			}
		}
	}
	for _, s := range []struct {
		field string
		raw   json.RawMessage
	}{{"service_tier", o.serviceTier}, {"container", o.container}} {
		if !wire.IsNull(s.raw) {
			var v string
			if err := wire.DecodeValue(s.raw, s.field, &v); err != nil {
				return err
			}
		}
	}
	if !wire.IsNull(o.contextManagement) && wire.FirstByte(o.contextManagement) != '{' {
		return &wire.RequestError{Field: "context_management", Msg: "must be an object"}
	}
	if !wire.IsNull(o.mcpServers) && wire.FirstByte(o.mcpServers) != '[' {
		return &wire.RequestError{Field: "mcp_servers", Msg: "must be an array"}
	}
	if !wire.IsNull(o.outputConfig) {
		var oc struct {
			Effort json.RawMessage `json:"effort"`
			Format json.RawMessage `json:"format"`
		}
		if err := wire.DecodeValue(o.outputConfig, "output_config", &oc); err != nil {
			return err
		}
		if !wire.IsNull(oc.Effort) {
			var e string
			if err := wire.DecodeValue(oc.Effort, "output_config.effort", &e); err != nil {
				return err
			}
		}
		if err := checkFormat(oc.Format, "output_config.format"); err != nil {
			return err
		}
	}
	if err := checkFormat(o.outputFormat, "output_format"); err != nil {
		return err
	}
	return checkCacheControl(o.cacheControl, "cache_control")
}

// checkFormat checks a JSON output format: {"type":"json_schema","schema":{…}}.
func checkFormat(raw json.RawMessage, path string) error {
	if wire.IsNull(raw) {
		return nil
	}
	var f struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	}
	if err := wire.DecodeValue(raw, path, &f); err != nil {
		return err
	}
	if f.Type != "json_schema" {
		return &wire.RequestError{Field: path + ".type", Msg: "must be json_schema"}
	}
	if !isObject(f.Schema) {
		return &wire.RequestError{Field: path + ".schema", Msg: "must be an object"}
	}
	return nil
}

// checkCacheControl checks a cache_control value: null, or
// {"type":"ephemeral"} with an optional ttl string.
func checkCacheControl(raw json.RawMessage, path string) error {
	if wire.IsNull(raw) {
		return nil
	}
	if wire.FirstByte(raw) != '{' {
		return &wire.RequestError{Field: path, Msg: "must be an object"}
	}
	var c struct {
		Type string          `json:"type"`
		TTL  json.RawMessage `json:"ttl"`
	}
	if err := wire.DecodeValue(raw, path, &c); err != nil {
		return err
	}
	if c.Type != "ephemeral" {
		return &wire.RequestError{Field: path + ".type", Msg: "must be ephemeral"}
	}
	if !wire.IsNull(c.TTL) {
		var ttl string
		if err := wire.DecodeValue(c.TTL, path+".ttl", &ttl); err != nil {
			return err
		}
	}
	return nil
}
