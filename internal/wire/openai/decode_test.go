package openai

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
)

func tx(s string) content.Text { return content.FromString(s) }

// textEq compares content by its bytes (Text itself refuses to print or be
// compared).
var textEq = cmp.Comparer(func(a, b content.Text) bool { return bytes.Equal(a.Bytes(), b.Bytes()) })

func ptr[T any](v T) *T { return &v }

func TestDecodeRequestFull(t *testing.T) {
	body := `{
	  "model": "gpt-4o",
	  "messages": [
	    {"role": "system", "content": "You are terse."},
	    {"role": "developer", "content": [{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}], "name": "dev"},
	    {"role": "user", "content": "Hi \u00e9\ud83d\ude00", "name": "alice"},
	    {"role": "user", "content": [
	      {"type": "text", "text": "Look:"},
	      {"type": "image_url", "image_url": {"url": "data:image/PNG;base64,iVBORw0KGgo=", "detail": "high"}},
	      {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
	    ]},
	    {"role": "assistant", "reasoning_content": "Think.", "content": "Calling.", "refusal": null,
	     "tool_calls": [
	       {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\"q\":\"x\"}"}},
	       {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}
	     ]},
	    {"role": "tool", "tool_call_id": "call_1", "content": "found"},
	    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "12:00"}, {"type": "text", "text": "UTC"}]},
	    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_3", "type": "function", "function": {"name": "now", "arguments": "{}"}}]},
	    {"role": "tool", "tool_call_id": "call_3", "content": "13:00"},
	    {"role": "developer", "content": "Be polite."},
	    {"role": "user", "content": "Thanks"}
	  ],
	  "tools": [
	    {"type": "function", "function": {"name": "search", "description": "Search it.", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}, "strict": true}},
	    {"type": "function", "function": {"name": "now"}}
	  ],
	  "tool_choice": {"type": "function", "function": {"name": "search"}},
	  "parallel_tool_calls": false,
	  "stop": "END",
	  "max_completion_tokens": 100,
	  "temperature": 0.5,
	  "top_p": 0.9,
	  "seed": 7,
	  "n": 1,
	  "stream": true,
	  "stream_options": {"include_usage": true},
	  "session_id": "s-1",
	  "user": "u", "metadata": {"k": "v"}, "store": false, "service_tier": "auto", "logprobs": false,
	  "top_logprobs": null, "logit_bias": {"50256": -100}, "frequency_penalty": 0, "presence_penalty": 0,
	  "response_format": {"type": "text"}, "prediction": null, "modalities": ["text"], "audio": null,
	  "reasoning_effort": "low", "verbosity": "low", "web_search_options": {}, "prompt_cache_key": "k",
	  "safety_identifier": "x", "prompt_cache_retention": "24h"
	}`
	r, p, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	wantParams := logic.Params{
		Model: "gpt-4o", Stream: true, MaxTokens: 100, Temperature: ptr(0.5), TopP: ptr(0.9),
		Seed: ptr[int64](7), Session: "s-1", IncludeUsage: true,
	}
	if d := cmp.Diff(wantParams, p); d != "" {
		t.Errorf("params (-want +got):\n%s", d)
	}
	want := &content.Request{
		System: []content.Text{tx("You are terse."), tx("Rule one."), tx("Rule two.")},
		Messages: []content.Message{
			{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: tx("Hi é😀")}}},
			{Role: content.RoleUser, Parts: []content.Part{
				{Kind: content.PartText, Text: tx("Look:")},
				{Kind: content.PartImage, MediaType: tx("image/png"), Data: tx("iVBORw0KGgo=")},
				{Kind: content.PartImage, URL: tx("https://example.com/cat.jpg")},
			}},
			{Role: content.RoleAssistant, Parts: []content.Part{
				{Kind: content.PartThinking, Text: tx("Think.")},
				{Kind: content.PartText, Text: tx("Calling.")},
				{Kind: content.PartToolCall, ToolID: tx("call_1"), ToolName: tx("search"), Args: tx(`{"q":"x"}`)},
				{Kind: content.PartToolCall, ToolID: tx("call_2"), ToolName: tx("now"), Args: tx(`{}`)},
			}},
			{Role: content.RoleUser, Parts: []content.Part{
				{Kind: content.PartToolResult, ToolID: tx("call_1"), Text: tx("found")},
				{Kind: content.PartToolResult, ToolID: tx("call_2"), Text: tx("12:00\nUTC")},
			}},
			{Role: content.RoleAssistant, Parts: []content.Part{
				{Kind: content.PartToolCall, ToolID: tx("call_3"), ToolName: tx("now"), Args: tx(`{}`)},
			}},
			{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartToolResult, ToolID: tx("call_3"), Text: tx("13:00")}}},
			// A system or developer message inside the conversation keeps
			// its place; those before it are the system prompt.
			{Role: content.RoleSystem, Parts: []content.Part{{Kind: content.PartText, Text: tx("Be polite.")}}},
			{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: tx("Thanks")}}},
		},
		Tools: []content.Tool{
			{Name: tx("search"), Description: tx("Search it."), Schema: tx(`{"type":"object","properties":{"q":{"type":"string"}}}`)},
			{Name: tx("now"), Schema: tx(emptySchema)},
		},
		ToolChoice: content.ToolChoice{Mode: content.ToolChoiceTool, Name: tx("search"), DisableParallel: true},
		Stop:       []content.Text{tx("END")},
	}
	if d := cmp.Diff(want, r, textEq); d != "" {
		t.Errorf("request (-want +got):\n%s", d)
	}
}

func TestDecodeRequestVariants(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"q"}]`
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, r *content.Request, p logic.Params)
	}{
		{"stop array drops empty strings", `{"model":"m",` + msgs + `,"stop":["a","","b"]}`, func(t *testing.T, r *content.Request, _ logic.Params) {
			if d := cmp.Diff([]content.Text{tx("a"), tx("b")}, r.Stop, textEq); d != "" {
				t.Error(d)
			}
		}},
		{"tool_choice none", `{"model":"m",` + msgs + `,"tool_choice":"none"}`, func(t *testing.T, r *content.Request, _ logic.Params) {
			if r.ToolChoice.Mode != content.ToolChoiceNone {
				t.Errorf("mode %v", r.ToolChoice.Mode)
			}
		}},
		{"tool_choice required", `{"model":"m",` + msgs + `,"tool_choice":"required"}`, func(t *testing.T, r *content.Request, _ logic.Params) {
			if r.ToolChoice.Mode != content.ToolChoiceAny {
				t.Errorf("mode %v", r.ToolChoice.Mode)
			}
		}},
		{"tool_choice auto and parallel true", `{"model":"m",` + msgs + `,"tool_choice":"auto","parallel_tool_calls":true}`, func(t *testing.T, r *content.Request, _ logic.Params) {
			if r.ToolChoice.Mode != content.ToolChoiceAuto || r.ToolChoice.DisableParallel {
				t.Errorf("choice %+v", r.ToolChoice)
			}
		}},
		{"max_tokens", `{"model":"m",` + msgs + `,"max_tokens":5}`, func(t *testing.T, _ *content.Request, p logic.Params) {
			if p.MaxTokens != 5 {
				t.Errorf("MaxTokens %d", p.MaxTokens)
			}
		}},
		{"include_usage ignored without stream", `{"model":"m",` + msgs + `,"stream_options":{"include_usage":true}}`, func(t *testing.T, _ *content.Request, p logic.Params) {
			if p.IncludeUsage || p.Stream {
				t.Errorf("params %+v", p)
			}
		}},
		{"nulls are absent", `{"model":"m",` + msgs + `,"stop":null,"tools":null,"tool_choice":null,"temperature":null,"n":null,"stream":null}`, func(t *testing.T, r *content.Request, p logic.Params) {
			if r.Stop != nil || r.Tools != nil || p.Temperature != nil {
				t.Errorf("got %v %v", len(r.Stop), len(r.Tools))
			}
		}},
		{"assistant refusal parts are dropped", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"refusal","refusal":"no"},{"type":"text","text":"ok"}]}]}`, func(t *testing.T, r *content.Request, _ logic.Params) {
			want := []content.Message{{Role: content.RoleAssistant, Parts: []content.Part{{Kind: content.PartText, Text: tx("ok")}}}}
			if d := cmp.Diff(want, r.Messages, textEq); d != "" {
				t.Error(d)
			}
		}},
		{"escapes and invalid UTF-8 become U+FFFD", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\\n\\\"\\ud800\xff\"}]}", func(t *testing.T, r *content.Request, _ logic.Params) {
			if got := string(r.Messages[0].Parts[0].Text.Bytes()); got != "a\n\"\uFFFD\uFFFD" {
				t.Errorf("text %q", got)
			}
		}},
		{"only system messages", `{"model":"m","messages":[{"role":"system","content":"s"}]}`, func(t *testing.T, r *content.Request, _ logic.Params) {
			if len(r.System) != 1 || len(r.Messages) != 0 {
				t.Errorf("system %d messages %d", len(r.System), len(r.Messages))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, p, err := DecodeRequest([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r, p)
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	const user = `{"role":"user","content":"q"}`
	req := func(extra string) string { return `{"model":"m","messages":[` + user + `]` + extra + `}` }
	msg := func(m string) string { return `{"model":"m","messages":[` + user + `,` + m + `]}` }
	tests := []struct {
		name, body, field, msg string
	}{
		{"empty body", ``, "", "empty"},
		{"malformed", `{"model":"m",}`, "", "malformed JSON at byte offset 13"},
		{"truncated", `{"model":"m"`, "", "malformed JSON at byte offset 12"},
		{"not an object", `[1,2]`, "", "must be a JSON object"},
		{"trailing data", req("") + ` {}`, "", "unexpected data"},
		{"trailing garbage", req("") + `x`, "", ""},
		// Unknown top-level fields are dropped, not refused (the policy for
		// tomorrow's fields, see TestUnknownTopLevelFieldsDropped); a
		// known field's malformed value is still an error.
		{"known top-level field malformed", req(`,"parallel_tool_calls":"yes"`), "parallel_tool_calls", "must be a boolean"},
		{"model missing", `{"messages":[` + user + `]}`, "model", "required"},
		{"model empty", `{"model":"","messages":[` + user + `]}`, "model", "required"},
		{"model wrong type", `{"model":5,"messages":[` + user + `]}`, "model", "must be a string"},
		{"messages missing", `{"model":"m"}`, "messages", "must not be empty"},
		{"messages empty", `{"model":"m","messages":[]}`, "messages", "must not be empty"},
		{"messages wrong type", `{"model":"m","messages":{}}`, "messages", "must be an array"},
		{"message not an object", `{"model":"m","messages":[` + user + `,5]}`, "messages[1]", "must be an object"},
		{"role missing", msg(`{"content":"x"}`), "messages[1].role", "required"},
		{"role wrong type", msg(`{"role":1,"content":"x"}`), "messages[1].role", "must be a string"},
		{"bad role", msg(`{"role":"wizard","content":"x"}`), "messages[1].role", "unknown role"},
		{"function role", msg(`{"role":"function","name":"f","content":"x"}`), "messages[1].role", "not supported"},
		{"unknown message field", msg(`{"role":"user","content":"x","mood":"happy"}`), "messages[1].mood", "unknown field"},
		{"tool_calls on user", msg(`{"role":"user","content":"x","tool_calls":[]}`), "messages[1].tool_calls", "unknown field"},
		{"tool_call_id on user", msg(`{"role":"user","content":"x","tool_call_id":"c"}`), "messages[1].tool_call_id", "unknown field"},
		{"content wrong type", msg(`{"role":"user","content":5}`), "messages[1].content", "must be a string or an array"},
		{"content missing on user", msg(`{"role":"user"}`), "messages[1].content", "required"},
		{"content empty array", msg(`{"role":"user","content":[]}`), "messages[1].content", "must not be empty"},
		{"part not an object", msg(`{"role":"user","content":["x"]}`), "messages[1].content[0]", "must be an object"},
		{"part type missing", msg(`{"role":"user","content":[{"text":"x"}]}`), "messages[1].content[0].type", "required"},
		{"part type unknown", msg(`{"role":"user","content":[{"type":"video"}]}`), "messages[1].content[0].type", "unknown content part type"},
		{"part text wrong type", msg(`{"role":"user","content":[{"type":"text","text":1}]}`), "messages[1].content[0].text", "must be a string"},
		{"part text missing", msg(`{"role":"user","content":[{"type":"text"}]}`), "messages[1].content[0].text", "required"},
		{"part field of another type", msg(`{"role":"user","content":[{"type":"text","text":"x","image_url":{"url":"https://a"}}]}`), "messages[1].content[0].image_url", "unknown field"},
		{"input_audio", msg(`{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}`), "messages[1].content[0].type", "not supported"},
		{"file", msg(`{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}`), "messages[1].content[0].type", "not supported"},
		{"image in system", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://a"}}]}]}`, "messages[0].content[0].type", "only allowed in user"},
		{"image url missing", msg(`{"role":"user","content":[{"type":"image_url","image_url":{}}]}`), "messages[1].content[0].image_url.url", "required"},
		{"image unknown field", msg(`{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://a","size":1}}]}`), "messages[1].content[0].image_url.size", "unknown field"},
		{"image data URL not base64", msg(`{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/svg+xml,<svg/>"}}]}`), "messages[1].content[0].image_url.url", "base64"},
		{"image data URL not an image", msg(`{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:text/plain;base64,aGk="}}]}`), "messages[1].content[0].image_url.url", "base64"},
		{"image other scheme", msg(`{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}`), "messages[1].content[0].image_url.url", "http(s)"},
		{"assistant without content or calls", msg(`{"role":"assistant"}`), "messages[1].content", "required unless tool_calls"},
		{"assistant function_call", msg(`{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}}`), "messages[1].function_call", "not supported"},
		{"tool call type missing", msg(`{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]}`), "messages[1].tool_calls[0].type", "required"},
		{"tool call custom", msg(`{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"name":"f","input":"x"}}]}`), "messages[1].tool_calls[0].type", "not supported"},
		{"tool call id missing", msg(`{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}`), "messages[1].tool_calls[0].id", "required"},
		{"tool call name missing", msg(`{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]}`), "messages[1].tool_calls[0].function.name", "required"},
		{"tool call arguments wrong type", msg(`{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]}`), "messages[1].tool_calls[0].function.arguments", "must be a string"},
		{"tool call unknown field", msg(`{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}","extra":1}}]}`), "messages[1].tool_calls[0].function.extra", "unknown field"},
		{"tool message without id", msg(`{"role":"tool","content":"r"}`), "messages[1].tool_call_id", "required"},
		{"tool message with image", msg(`{"role":"tool","tool_call_id":"c","content":[{"type":"image_url","image_url":{"url":"https://a"}}]}`), "messages[1].content[0].type", "only allowed in user"},
		{"n > 1", req(`,"n":2`), "n", "only 1"},
		{"n wrong type", req(`,"n":"2"`), "n", "must be an integer"},
		{"negative max_tokens", req(`,"max_tokens":-1`), "max_tokens", "from 1 to 2147483647"},
		{"zero max_completion_tokens", req(`,"max_completion_tokens":0`), "max_completion_tokens", "from 1 to 2147483647"},
		{"fractional max_tokens", req(`,"max_tokens":1.5`), "max_tokens", "must be an integer"},
		{"temperature too high", req(`,"temperature":2.5`), "temperature", "from 0 to 2"},
		{"temperature wrong type", req(`,"temperature":"hot"`), "temperature", "must be a number"},
		{"top_p out of range", req(`,"top_p":-0.1`), "top_p", "from 0 to 1"},
		{"seed wrong type", req(`,"seed":1.5`), "seed", "must be an integer"},
		{"stream wrong type", req(`,"stream":"yes"`), "stream", "must be a boolean"},
		{"stream_options unknown field", req(`,"stream":true,"stream_options":{"x":1}`), "stream_options.x", "unknown field"},
		{"stream_options wrong type", req(`,"stream_options":[]`), "stream_options", "must be an object"},
		{"stop wrong type", req(`,"stop":5`), "stop", "string or an array"},
		{"stop array of numbers", req(`,"stop":[1]`), "stop", "string or an array"},
		{"session_id wrong type", req(`,"session_id":1`), "session_id", "must be a string"},
		{"functions", req(`,"functions":[{"name":"f"}]`), "functions", "not supported"},
		{"function_call", req(`,"function_call":"auto"`), "function_call", "not supported"},
		{"tools wrong type", req(`,"tools":{}`), "tools", "must be an array"},
		{"tool type missing", req(`,"tools":[{"function":{"name":"f"}}]`), "tools[0].type", "required"},
		{"tool custom", req(`,"tools":[{"type":"custom","custom":{"name":"f"}}]`), "tools[0].type", "not supported"},
		{"tool function missing", req(`,"tools":[{"type":"function"}]`), "tools[0].function", "required"},
		{"tool name missing", req(`,"tools":[{"type":"function","function":{"description":"d"}}]`), "tools[0].function.name", "required"},
		{"tool parameters not object", req(`,"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]`), "tools[0].function.parameters", "must be an object"},
		{"tool unknown field", req(`,"tools":[{"type":"function","function":{"name":"f","params":{}}}]`), "tools[0].function.params", "unknown field"},
		{"tool_choice bad string", req(`,"tool_choice":"always"`), "tool_choice", "must be auto, none, required"},
		{"tool_choice wrong type", req(`,"tool_choice":1`), "tool_choice", "must be auto, none, required"},
		{"tool_choice allowed_tools", req(`,"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}`), "tool_choice.type", "only function"},
		{"tool_choice without name", req(`,"tool_choice":{"type":"function","function":{}}`), "tool_choice.function.name", "required"},
		{"tool_choice unknown field", req(`,"tool_choice":{"type":"function","function":{"name":"f"},"x":1}`), "tool_choice.x", "unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _, err := DecodeRequest([]byte(tc.body))
			if err == nil {
				t.Fatalf("no error; request has %d messages", len(r.Messages))
			}
			var re *wire.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not a *wire.RequestError", err)
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

// TestDecodeErrorsNeverEchoValues feeds requests whose values are a marker
// and checks that no error carries it.
func TestDecodeErrorsNeverEchoValues(t *testing.T) {
	const secret = "SECRET-VALUE-42"
	bodies := []string{
		`{"model":"m","messages":[{"role":"` + secret + `","content":"x"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"` + secret + `"}]}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"` + secret + `"}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://` + secret + `"}}]}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x","` + secret + ` x":1}]}`,
		`{"model":"m","` + secret + ` x":1,"messages":[{"role":"user","content":"x"}],"n":2}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"stop":{"` + secret + `":1}}`,
		`{"model":"m","messages":[{"role":"user","content":"` + secret + `"}]} "` + secret + `"`,
	}
	for _, b := range bodies {
		_, _, err := DecodeRequest([]byte(b))
		if err == nil {
			t.Fatalf("no error for %s", b)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q echoes a client value", err)
		}
	}
}

func TestDecodeFailureReturnsNothing(t *testing.T) {
	// A failed decode returns no request: nothing half-built escapes.
	r, p, err := DecodeRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"nope"}]}`))
	if err == nil || r != nil || p != (logic.Params{}) {
		t.Fatalf("got %v, %+v, %v", r != nil, p, err)
	}
}

// outOfRange are numeric parameters every one of which must be refused
// with a 400 naming the field: past int32 for token counts (the engine's
// type), past int64 and float64, fractions and exponents for integers,
// -0 where 0 is out of range, strings and booleans.
var outOfRange = []string{
	`"max_tokens":2147483648`, `"max_tokens":4294967296`, `"max_tokens":9223372036854775807`,
	`"max_tokens":9223372036854775808`, `"max_tokens":18446744073709551616`, `"max_tokens":1e400`,
	`"max_tokens":-9223372036854775809`, `"max_tokens":0`, `"max_tokens":-0`, `"max_tokens":-1`,
	`"max_tokens":1e3`, `"max_tokens":1.0`, `"max_tokens":"5"`, `"max_tokens":true`,
	`"max_completion_tokens":2147483648`, `"max_completion_tokens":9223372036854775808`, `"max_completion_tokens":-0`,
	`"temperature":2.0000001`, `"temperature":-1e-300`, `"temperature":1e400`, `"temperature":-1e400`,
	`"temperature":"1"`, `"temperature":[]`,
	`"top_p":1.0000001`, `"top_p":-0.5`, `"top_p":1e400`,
	`"seed":9223372036854775808`, `"seed":-9223372036854775809`, `"seed":18446744073709551616`, `"seed":1e400`, `"seed":1.5`, `"seed":1e2`,
	`"n":0`, `"n":2`, `"n":129`, `"n":9223372036854775808`, `"n":1.5`,
	`"frequency_penalty":2.1`, `"frequency_penalty":-2.1`, `"frequency_penalty":1e400`, `"frequency_penalty":"0"`,
	`"presence_penalty":-3`, `"presence_penalty":1e400`,
	`"top_logprobs":21`, `"top_logprobs":-1`, `"top_logprobs":9223372036854775808`, `"top_logprobs":0.5`,
	`"logit_bias":{"50256":101}`, `"logit_bias":{"50256":-101}`, `"logit_bias":{"50256":1.5}`, `"logit_bias":{"50256":null}`,
	`"logit_bias":{"50256":9223372036854775808}`, `"logit_bias":{"word":1}`, `"logit_bias":{"-1":1}`, `"logit_bias":{"01":1}`,
	`"logit_bias":[]`, `"logit_bias":5`,
}

func TestNumericParametersOutOfRange(t *testing.T) {
	for _, n := range outOfRange {
		field := strings.Trim(n[:strings.Index(n, ":")], `"`)
		_, p, err := DecodeRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],` + n + `}`))
		var re *wire.RequestError
		if !errors.As(err, &re) {
			t.Errorf("%s: accepted (%+v) or not a request error: %v", n, p, err)
			continue
		}
		if re.Field != field {
			t.Errorf("%s: error names %q, want %q (%s)", n, re.Field, field, re.Msg)
		}
		if field != "n" && field != "logit_bias" && !strings.Contains(re.Msg, " from ") {
			t.Errorf("%s: message %q does not state the range", n, re.Msg)
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
		{`"max_completion_tokens":2147483647,"max_tokens":5`, func(p logic.Params) bool { return p.MaxTokens == math.MaxInt32 }},
		{`"max_tokens":null`, func(p logic.Params) bool { return p.MaxTokens == 0 }},
		{`"temperature":0`, func(p logic.Params) bool { return *p.Temperature == 0 }},
		{`"temperature":-0`, func(p logic.Params) bool { return *p.Temperature == 0 && !math.Signbit(*p.Temperature) }},
		{`"temperature":-0.0e5`, func(p logic.Params) bool { return !math.Signbit(*p.Temperature) }},
		{`"temperature":2`, func(p logic.Params) bool { return *p.Temperature == 2 }},
		{`"temperature":2e0`, func(p logic.Params) bool { return *p.Temperature == 2 }},
		{`"temperature":1e-400`, func(p logic.Params) bool { return *p.Temperature == 0 }}, // underflows to 0: in range
		{`"temperature":null`, func(p logic.Params) bool { return p.Temperature == nil }},
		{`"top_p":1`, func(p logic.Params) bool { return *p.TopP == 1 }},
		{`"seed":9223372036854775807`, func(p logic.Params) bool { return *p.Seed == math.MaxInt64 }},
		{`"seed":-9223372036854775808`, func(p logic.Params) bool { return *p.Seed == math.MinInt64 }},
		{`"n":1`, func(p logic.Params) bool { return true }},
		{`"frequency_penalty":-2,"presence_penalty":2`, func(p logic.Params) bool { return true }},
		{`"top_logprobs":0`, func(p logic.Params) bool { return true }},
		{`"top_logprobs":20`, func(p logic.Params) bool { return true }},
		{`"logit_bias":{"50256":-100,"0":100}`, func(p logic.Params) bool { return true }},
		{`"logit_bias":{}`, func(p logic.Params) bool { return true }},
		{`"logit_bias":null`, func(p logic.Params) bool { return true }},
	} {
		_, p, err := DecodeRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],` + c.extra + `}`))
		if err != nil {
			t.Errorf("%s: %v", c.extra, err)
			continue
		}
		if !c.check(p) {
			t.Errorf("%s: decoded %+v", c.extra, p)
		}
	}
}

// A new top-level field is dropped and reported by name, or as "other"
// when its key is not a short identifier; the request decodes as without it.
func TestUnknownTopLevelFieldsDropped(t *testing.T) {
	body := `{"model":"m","brand_new_option":{"x":[1]},"a b":1,"messages":[{"role":"user","content":"hi"}]}`
	var got []string
	r, p, err := DecodeRequestReporting([]byte(body), func(n string) { got = append(got, n) })
	if err != nil {
		t.Fatal(err)
	}
	if p.Model != "m" || len(r.Messages) != 1 {
		t.Fatal("request decoded wrong")
	}
	if strings.Join(got, ",") != "brand_new_option,"+wire.Other {
		t.Fatalf("reported %q", got)
	}
}
