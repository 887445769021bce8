package anthropic

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
)

func TestDecodeRequestErrors(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, body, field, msg string
	}{
		{"empty body", ``, "", "request body is empty"},
		{"malformed", `{"model":"m",}`, "", "malformed JSON at byte offset 13"},
		{"truncated", `{"model":"m"`, "", "malformed JSON at byte offset 12"},
		{"trailing data", `{"model":"m","max_tokens":1,` + msgs + `} {}`, "", "unexpected data after the JSON object at byte offset"},
		{"trailing garbage", `{"model":"m","max_tokens":1,` + msgs + `}x`, "", "unexpected data after the JSON object at byte offset"},
		{"not an object", `[1]`, "", "request body must be a JSON object"},
		{"missing model", `{"max_tokens":1,` + msgs + `}`, "model", "required"},
		{"model wrong type", `{"model":1,"max_tokens":1,` + msgs + `}`, "model", "must be a string"},
		{"missing max_tokens", `{"model":"m",` + msgs + `}`, "max_tokens", "required"},
		{"max_tokens zero", `{"model":"m","max_tokens":0,` + msgs + `}`, "max_tokens", "must be an integer from 1 to 2147483647"},
		{"max_tokens fraction", `{"model":"m","max_tokens":1.5,` + msgs + `}`, "max_tokens", "must be an integer"},
		{"max_tokens string", `{"model":"m","max_tokens":"1",` + msgs + `}`, "max_tokens", "must be an integer"},
		{"temperature high", `{"model":"m","max_tokens":1,"temperature":1.5,` + msgs + `}`, "temperature", "must be a number from 0 to 1"},
		{"temperature negative", `{"model":"m","max_tokens":1,"temperature":-0.1,` + msgs + `}`, "temperature", "must be a number from 0 to 1"},
		{"top_p high", `{"model":"m","max_tokens":1,"top_p":2,` + msgs + `}`, "top_p", "must be a number from 0 to 1"},
		{"top_k negative", `{"model":"m","max_tokens":1,"top_k":-1,` + msgs + `}`, "top_k", "must be an integer from 0 to 2147483647"},
		{"stream wrong type", `{"model":"m","max_tokens":1,"stream":"yes",` + msgs + `}`, "stream", "must be a boolean"},
		{"stop_sequences wrong type", `{"model":"m","max_tokens":1,"stop_sequences":"x",` + msgs + `}`, "stop_sequences", "must be an array"},
		// An unknown top-level field is no longer an error: tomorrow's API
		// fields are dropped and counted (TestUnknownTopLevelFieldsDropped);
		// a malformed value of a known field still is.
		{"thinking not an object", `{"model":"m","max_tokens":2000,"thinking":"on",` + msgs + `}`, "thinking", "must be an object"},
		{"thinking without type", `{"model":"m","max_tokens":2000,"thinking":{},` + msgs + `}`, "thinking.type", "required"},
		{"thinking bad type", `{"model":"m","max_tokens":2000,"thinking":{"type":"maybe"},` + msgs + `}`, "thinking.type", "must be enabled, adaptive or disabled"},
		{"thinking enabled without budget", `{"model":"m","max_tokens":2000,"thinking":{"type":"enabled"},` + msgs + `}`, "thinking.budget_tokens", "required"},
		{"thinking budget small", `{"model":"m","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1000},` + msgs + `}`, "thinking.budget_tokens", "must be an integer from 1024"},
		{"thinking budget past max_tokens", `{"model":"m","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":2000},` + msgs + `}`, "thinking.budget_tokens", "must be less than max_tokens"},
		{"thinking budget on adaptive", `{"model":"m","max_tokens":2000,"thinking":{"type":"adaptive","budget_tokens":1024},` + msgs + `}`, "thinking.budget_tokens", "unknown field for this thinking type"},
		{"thinking display on disabled", `{"model":"m","max_tokens":2000,"thinking":{"type":"disabled","display":"omitted"},` + msgs + `}`, "thinking.display", "unknown field for this thinking type"},
		{"thinking display wrong type", `{"model":"m","max_tokens":2000,"thinking":{"type":"adaptive","display":1},` + msgs + `}`, "thinking.display", "must be a string"},
		{"thinking unknown field", `{"model":"m","max_tokens":2000,"thinking":{"type":"adaptive","x":1},` + msgs + `}`, "thinking.x", "unknown field"},
		{"metadata unknown field", `{"model":"m","max_tokens":1,"metadata":{"user":"u"},` + msgs + `}`, "metadata.user", "unknown field"},
		{"metadata user_id wrong type", `{"model":"m","max_tokens":1,"metadata":{"user_id":5},` + msgs + `}`, "metadata.user_id", "must be a string"},
		{"metadata user_id long", `{"model":"m","max_tokens":1,"metadata":{"user_id":"` + strings.Repeat("u", 513) + `"},` + msgs + `}`, "metadata.user_id", "at most 512"},
		{"service_tier wrong type", `{"model":"m","max_tokens":1,"service_tier":1,` + msgs + `}`, "service_tier", "must be a string"},
		{"container wrong type", `{"model":"m","max_tokens":1,"container":{},` + msgs + `}`, "container", "must be a string"},
		{"context_management wrong type", `{"model":"m","max_tokens":1,"context_management":[],` + msgs + `}`, "context_management", "must be an object"},
		{"mcp_servers wrong type", `{"model":"m","max_tokens":1,"mcp_servers":{},` + msgs + `}`, "mcp_servers", "must be an array"},
		{"output_config unknown field", `{"model":"m","max_tokens":1,"output_config":{"speed":1},` + msgs + `}`, "output_config.speed", "unknown field"},
		{"output_config effort wrong type", `{"model":"m","max_tokens":1,"output_config":{"effort":3},` + msgs + `}`, "output_config.effort", "must be a string"},
		{"output_config format type", `{"model":"m","max_tokens":1,"output_config":{"format":{"type":"xml","schema":{}}},` + msgs + `}`, "output_config.format.type", "must be json_schema"},
		{"output_config format schema", `{"model":"m","max_tokens":1,"output_config":{"format":{"type":"json_schema","schema":[]}},` + msgs + `}`, "output_config.format.schema", "must be an object"},
		{"cache_control top wrong type", `{"model":"m","max_tokens":1,"cache_control":"yes",` + msgs + `}`, "cache_control", "must be an object"},
		{"cache_control bad type", `{"model":"m","max_tokens":1,"system":[{"type":"text","text":"s","cache_control":{"type":"forever"}}],` + msgs + `}`, "system[0].cache_control.type", "must be ephemeral"},
		{"cache_control unknown field", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral","x":1}}]}]}`, "messages[0].content[0].cache_control.x", "unknown field"},
		{"cache_control ttl wrong type", `{"model":"m","max_tokens":1,"tools":[{"name":"f","input_schema":{},"cache_control":{"type":"ephemeral","ttl":5}}],` + msgs + `}`, "tools[0].cache_control.ttl", "must be a string"},
		{"system message image", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"},{"role":"system","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]}`, "messages[1].content[0].type", "only text blocks are allowed in system messages"},
		{"system message tool_use", `{"model":"m","max_tokens":1,"messages":[{"role":"system","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]}]}`, "messages[0].content[0].type", "only text blocks are allowed in system messages"},
		{"missing messages", `{"model":"m","max_tokens":1}`, "messages", "required"},
		{"empty messages", `{"model":"m","max_tokens":1,"messages":[]}`, "messages", "must not be empty"},
		{"messages wrong type", `{"model":"m","max_tokens":1,"messages":{}}`, "messages", "must be an array"},
		{"message not object", `{"model":"m","max_tokens":1,"messages":["hi"]}`, "messages[0]", "must be an object"},
		{"bad role", `{"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"hi"}]}`, "messages[0].role", "must be user, assistant or system"},
		{"missing role", `{"model":"m","max_tokens":1,"messages":[{"content":"hi"}]}`, "messages[0].role", "required"},
		{"role wrong type", `{"model":"m","max_tokens":1,"messages":[{"role":1,"content":"hi"}]}`, "messages[0].role", "must be a string"},
		{"missing content", `{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}`, "messages[0].content", "required"},
		{"content wrong type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":5}]}`, "messages[0].content", "must be a string or an array"},
		{"unknown message field", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi","name":"x"}]}`, "messages[0].name", "unknown field"},
		{"bad block type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages[0].content[0].type", "unknown content block type"},
		{"block without type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages[0].content[0].type", "required"},
		{"block not object", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":["x"]}]}`, "messages[0].content[0]", "must be an object"},
		{"text block unknown field", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x","extra":1}]}]}`, "messages[0].content[0].extra", "unknown field"},
		{"text block missing text", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text", "required"},
		{"text wrong type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`, "messages[0].content[0].text", "must be a string"},
		{"tool_result in assistant", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"t"}]}]}`, "messages[1].content[0].type", "only allowed in user messages"},
		{"tool_use in user", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]}]}`, "messages[0].content[0].type", "only allowed in assistant messages"},
		{"thinking in user", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"thinking","thinking":"x"}]}]}`, "messages[0].content[0].type", "only allowed in assistant messages"},
		{"image in assistant", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]}`, "messages[1].content[0].type", "only allowed in user messages"},
		{"document", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}`, "messages[0].content[0].type", "not supported yet"},
		{"image source string", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":[{"type":"image","source":"x"}]}]}`, "messages[2].content[0].source", "must be an object"},
		{"image source missing", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages[0].content[0].source", "required"},
		{"image source bad type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"ftp"}}]}]}`, "messages[0].content[0].source.type", "must be base64 or url"},
		{"image base64 missing data", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png"}}]}]}`, "messages[0].content[0].source.data", "required"},
		{"image source unknown field", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"u","x":1}}]}]}`, "messages[0].content[0].source.x", "unknown field"},
		{"image file source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages[0].content[0].source.type", "not supported yet"},
		{"tool_use input not object", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":[1]}]}]}`, "messages[1].content[0].input", "must be an object"},
		{"tool_use missing id", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","name":"n","input":{}}]}]}`, "messages[1].content[0].id", "required"},
		{"tool_result missing id", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","content":"r"}]}]}`, "messages[0].content[0].tool_use_id", "required"},
		{"tool_result content wrong type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":3}]}]}`, "messages[0].content[0].content", "must be a string or an array"},
		{"tool_result nested bad type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"tool_use"}]}]}]}`, "messages[0].content[0].content[0].type", "must be text or image"},
		{"tool_result is_error wrong type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":"yes"}]}]}`, "messages[0].content[0].is_error", "must be a boolean"},
		{"system wrong type", `{"model":"m","max_tokens":1,"system":5,` + msgs + `}`, "system", "must be a string or an array"},
		{"system block not text", `{"model":"m","max_tokens":1,"system":[{"type":"image"}],` + msgs + `}`, "system[0].type", "must be text"},
		{"system block unknown field", `{"model":"m","max_tokens":1,"system":[{"type":"text","text":"s","x":1}],` + msgs + `}`, "system[0].x", "unknown field"},
		{"tools wrong type", `{"model":"m","max_tokens":1,"tools":{},` + msgs + `}`, "tools", "must be an array"},
		{"server tool", `{"model":"m","max_tokens":1,"tools":[{"type":"web_search_20250305","name":"web_search"}],` + msgs + `}`, "tools[0].type", "server tools are not supported yet"},
		{"tool missing name", `{"model":"m","max_tokens":1,"tools":[{"input_schema":{}}],` + msgs + `}`, "tools[0].name", "required"},
		{"tool missing schema", `{"model":"m","max_tokens":1,"tools":[{"name":"f"}],` + msgs + `}`, "tools[0].input_schema", "required"},
		{"tool schema not object", `{"model":"m","max_tokens":1,"tools":[{"name":"f","input_schema":"s"}],` + msgs + `}`, "tools[0].input_schema", "must be an object"},
		{"tool unknown field", `{"model":"m","max_tokens":1,"tools":[{"name":"f","input_schema":{},"parameters":{}}],` + msgs + `}`, "tools[0].parameters", "unknown field"},
		{"tool_choice bad type", `{"model":"m","max_tokens":1,"tool_choice":{"type":"required"},` + msgs + `}`, "tool_choice.type", "must be auto, any, tool or none"},
		{"tool_choice tool without name", `{"model":"m","max_tokens":1,"tool_choice":{"type":"tool"},` + msgs + `}`, "tool_choice.name", "required"},
		{"tool_choice wrong type", `{"model":"m","max_tokens":1,"tool_choice":"auto",` + msgs + `}`, "tool_choice", "must be an object"},
		{"tool_choice parallel wrong type", `{"model":"m","max_tokens":1,"tool_choice":{"type":"auto","disable_parallel_tool_use":1},` + msgs + `}`, "tool_choice.disable_parallel_tool_use", "must be a boolean"},
		{"session_id wrong type", `{"model":"m","max_tokens":1,"session_id":7,` + msgs + `}`, "session_id", "must be a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeRequest([]byte(tc.body))
			var re *wire.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error = %v, want *wire.RequestError", err)
			}
			if re.Field != tc.field {
				t.Errorf("Field = %q, want %q (msg %q)", re.Field, tc.field, re.Msg)
			}
			if !strings.Contains(re.Msg, tc.msg) {
				t.Errorf("Msg = %q, want it to contain %q", re.Msg, tc.msg)
			}
		})
	}
}

// Error messages must not echo what the client sent: no value, and no key
// that is not a short identifier (wire.SafeName; identifiers are named, as
// the "unknown field" cases above show).
func TestDecodeRequestErrorsDoNotEchoValues(t *testing.T) {
	const secret = "zebra secret value"
	bodies := []string{
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi","` + secret + `":1}]}`,
		`{"model":"m","max_tokens":1,"thinking":{"type":"` + secret + `"},"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","max_tokens":1,"metadata":{"user_id":"u","` + secret + `":1},"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","max_tokens":1,"messages":[{"role":"` + secret + `","content":"hi"}]}`,
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"` + secret + `"}]}]}`,
		`{"model":"m","max_tokens":"` + secret + `","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","max_tokens":1,"tool_choice":{"type":"` + secret + `"},"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}` + secret,
	}
	for _, b := range bodies {
		_, _, err := DecodeRequest([]byte(b))
		if err == nil {
			t.Fatalf("no error for %s", b)
		}
		if strings.Contains(err.Error(), "zebra") {
			t.Errorf("error %q echoes the client's value", err.Error())
		}
	}
}

func TestDecodeRequestFull(t *testing.T) {
	body := `{
	  "model": "claude-x", "max_tokens": 2000, "stream": true,
	  "temperature": 0.5, "top_p": 0.9, "top_k": 40, "session_id": "s1",
	  "metadata": {"user_id": "u"}, "thinking": {"type": "enabled", "budget_tokens": 1024},
	  "context_management": {}, "output_config": {"effort": "high"}, "service_tier": "auto",
	  "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}, {"type":"text","text":"second"}],
	  "stop_sequences": ["STOP", "END"],
	  "tools": [{"name": "lookup", "description": "find", "input_schema": {"type": "object"}, "cache_control": {"type":"ephemeral"}},
	            {"type": "custom", "name": "other", "input_schema": {"type":"object","properties":{}}}],
	  "tool_choice": {"type": "tool", "name": "lookup", "disable_parallel_tool_use": true},
	  "messages": [
	    {"role": "user", "content": [
	      {"type": "text", "text": "look at this", "cache_control": {"type":"ephemeral"}},
	      {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
	      {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]},
	    {"role": "assistant", "content": [
	      {"type": "thinking", "thinking": "hmm", "signature": "sig"},
	      {"type": "redacted_thinking", "data": "xx"},
	      {"type": "text", "text": "calling"},
	      {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}]},
	    {"role": "user", "content": [
	      {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true, "content": [
	        {"type": "text", "text": "line1"}, {"type": "text", "text": "line2"},
	        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "BBBB"}}]},
	      {"type": "tool_result", "tool_use_id": "toolu_2", "content": "plain"},
	      {"type": "tool_result", "tool_use_id": "toolu_3"}]}
	  ]}`
	r, p, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.Model != "claude-x" || p.MaxTokens != 2000 || !p.Stream || *p.Temperature != 0.5 || *p.TopP != 0.9 || *p.TopK != 40 || p.Session != "s1" {
		t.Errorf("params = %+v", p)
	}
	if len(r.System) != 2 || str(r.System[0]) != "be brief" || str(r.System[1]) != "second" {
		t.Errorf("system wrong")
	}
	if len(r.Stop) != 2 || str(r.Stop[1]) != "END" {
		t.Errorf("stop wrong")
	}
	if len(r.Tools) != 2 || str(r.Tools[0].Name) != "lookup" || str(r.Tools[0].Description) != "find" || str(r.Tools[1].Schema) != `{"type":"object","properties":{}}` {
		t.Errorf("tools wrong")
	}
	if tc := r.ToolChoice; tc.Mode != content.ToolChoiceTool || str(tc.Name) != "lookup" || !tc.DisableParallel {
		t.Errorf("tool choice wrong")
	}
	if len(r.Messages) != 3 {
		t.Fatalf("messages = %d", len(r.Messages))
	}
	u := r.Messages[0].Parts
	if len(u) != 3 || u[0].Kind != content.PartText || str(u[0].Text) != "look at this" ||
		u[1].Kind != content.PartImage || str(u[1].MediaType) != "image/png" || str(u[1].Data) != "AAAA" ||
		u[2].Kind != content.PartImage || str(u[2].URL) != "https://example.com/a.png" {
		t.Errorf("user parts wrong")
	}
	a := r.Messages[1].Parts
	if r.Messages[1].Role != content.RoleAssistant || len(a) != 3 ||
		a[0].Kind != content.PartThinking || str(a[0].Text) != "hmm" || str(a[0].Signature) != "sig" ||
		a[1].Kind != content.PartText ||
		a[2].Kind != content.PartToolCall || str(a[2].ToolID) != "toolu_1" || str(a[2].ToolName) != "lookup" || str(a[2].Args) != `{"q": "x"}` {
		t.Errorf("assistant parts wrong")
	}
	res := r.Messages[2].Parts
	if len(res) != 4 {
		t.Fatalf("tool result parts = %d", len(res))
	}
	if res[0].Kind != content.PartToolResult || str(res[0].ToolID) != "toolu_1" || !res[0].IsError || str(res[0].Text) != "line1\nline2" {
		t.Errorf("tool result 0 wrong")
	}
	if res[1].Kind != content.PartImage || str(res[1].Data) != "BBBB" {
		t.Errorf("image inside a tool result must follow it")
	}
	if res[2].IsError || str(res[2].Text) != "plain" || res[3].Kind != content.PartToolResult || !res[3].Text.IsEmpty() {
		t.Errorf("tool results 2,3 wrong")
	}
}

func TestDecodeRequestStringForms(t *testing.T) {
	r, p, err := DecodeRequest([]byte(`{"model":"m","max_tokens":5,"system":"sys","messages":[{"role":"user","content":"hello"}],
		"tool_choice":null,"temperature":null,"stream":false}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Stream || p.Temperature != nil {
		t.Errorf("params = %+v", p)
	}
	if len(r.System) != 1 || str(r.System[0]) != "sys" {
		t.Errorf("system wrong")
	}
	if m := r.Messages[0]; m.Role != content.RoleUser || len(m.Parts) != 1 || str(m.Parts[0].Text) != "hello" {
		t.Errorf("message wrong")
	}
	// Tool input the SDK leaves out reads as an empty object.
	r, _, err = DecodeRequest([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"b"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := str(r.Messages[0].Parts[0].Args); got != "{}" {
		t.Errorf("args = %q", got)
	}
}

func TestDecodeCountTokens(t *testing.T) {
	r, p, err := DecodeCountTokens([]byte(`{"model":"m","system":"s","messages":[{"role":"user","content":"hi there"}],"tools":[{"name":"f","input_schema":{}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Model != "m" || p.MaxTokens != 0 || len(r.Tools) != 1 || len(r.Messages) != 1 {
		t.Errorf("decoded wrong: %+v", p)
	}
	if _, _, err := DecodeCountTokens([]byte(`{"messages":[{"role":"user","content":"hi"}]}`)); err == nil {
		t.Error("missing model accepted")
	}
	if _, _, err := DecodeRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)); err == nil {
		t.Error("DecodeRequest accepted a body without max_tokens")
	}
}

func str(t content.Text) string { return string(t.Bytes()) }

// outOfRange are numeric parameters every one of which must be refused
// with a 400 naming the field: past int32 for max_tokens and top_k (the
// engine's type), past int64 and float64, fractions and exponents for
// integers, -0 where 0 is out of range, strings and booleans.
var outOfRange = []string{
	`"max_tokens":2147483648`, `"max_tokens":4294967296`, `"max_tokens":9223372036854775807`,
	`"max_tokens":9223372036854775808`, `"max_tokens":18446744073709551616`, `"max_tokens":1e400`,
	`"max_tokens":-9223372036854775809`, `"max_tokens":0`, `"max_tokens":-0`, `"max_tokens":-1`,
	`"max_tokens":1e3`, `"max_tokens":1.0`, `"max_tokens":"5"`, `"max_tokens":true`, `"max_tokens":{}`,
	`"max_tokens":1,"temperature":1.0000001`, `"max_tokens":1,"temperature":2`, `"max_tokens":1,"temperature":-1e-300`,
	`"max_tokens":1,"temperature":1e400`, `"max_tokens":1,"temperature":"1"`,
	`"max_tokens":1,"top_p":1.5`, `"max_tokens":1,"top_p":-0.1`, `"max_tokens":1,"top_p":-1e400`,
	`"max_tokens":1,"top_k":-1`, `"max_tokens":1,"top_k":2147483648`, `"max_tokens":1,"top_k":9223372036854775808`,
	`"max_tokens":1,"top_k":1e400`, `"max_tokens":1,"top_k":1.5`, `"max_tokens":1,"top_k":"5"`,
}

func TestNumericParametersOutOfRange(t *testing.T) {
	for _, n := range outOfRange {
		last := n[strings.LastIndex(n, `,"`)+1:]
		field := strings.Trim(last[:strings.Index(last, ":")], `"`)
		body := `{"model":"m",` + n + `,"messages":[{"role":"user","content":"hi"}]}`
		for _, dec := range []func([]byte) (*content.Request, logic.Params, error){DecodeRequest, DecodeCountTokens} {
			_, p, err := dec([]byte(body))
			var re *wire.RequestError
			if !errors.As(err, &re) {
				t.Errorf("%s: accepted (%+v) or not a request error: %v", n, p, err)
				continue
			}
			if re.Field != field || !strings.Contains(re.Msg, " from ") {
				t.Errorf("%s: error %q on %q, want the range of %q", n, re.Msg, re.Field, field)
			}
		}
	}
}

func TestNumericParametersAtTheirBounds(t *testing.T) {
	for _, c := range []struct {
		extra string
		check func(p logic.Params) bool
	}{
		{`"max_tokens":1`, func(p logic.Params) bool { return p.MaxTokens == 1 }},
		{`"max_tokens":2147483647`, func(p logic.Params) bool { return p.MaxTokens == math.MaxInt32 }},
		{`"max_tokens":1,"temperature":0`, func(p logic.Params) bool { return *p.Temperature == 0 }},
		{`"max_tokens":1,"temperature":-0`, func(p logic.Params) bool { return *p.Temperature == 0 && !math.Signbit(*p.Temperature) }},
		{`"max_tokens":1,"temperature":1`, func(p logic.Params) bool { return *p.Temperature == 1 }},
		{`"max_tokens":1,"temperature":null`, func(p logic.Params) bool { return p.Temperature == nil }},
		{`"max_tokens":1,"top_p":1e0`, func(p logic.Params) bool { return *p.TopP == 1 }},
		{`"max_tokens":1,"top_k":0`, func(p logic.Params) bool { return *p.TopK == 0 }},
		{`"max_tokens":1,"top_k":2147483647`, func(p logic.Params) bool { return *p.TopK == math.MaxInt32 }},
		{`"max_tokens":1,"top_k":null`, func(p logic.Params) bool { return p.TopK == nil }},
	} {
		_, p, err := DecodeRequest([]byte(`{"model":"m",` + c.extra + `,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Errorf("%s: %v", c.extra, err)
			continue
		}
		if !c.check(p) {
			t.Errorf("%s: decoded %+v", c.extra, p)
		}
	}
	// max_tokens stays required for messages (null is not a value), and
	// optional for count_tokens.
	if _, _, err := DecodeRequest([]byte(`{"model":"m","max_tokens":null,"messages":[{"role":"user","content":"hi"}]}`)); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("max_tokens null: %v", err)
	}
	if _, p, err := DecodeCountTokens([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)); err != nil || p.MaxTokens != 0 {
		t.Errorf("count_tokens without max_tokens: %+v %v", p, err)
	}
}
