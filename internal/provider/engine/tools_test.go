package engine

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/gguf"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
)

const weatherSchema = `{"type": "object", "properties": {"city": {"type": "string", "maxLength": 10},` +
	` "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"], "additionalProperties": false}`

func weatherRequest() *content.Request {
	r := request("What is the weather in Paris?")
	r.Tools = []content.Tool{
		{Name: content.FromString("get_time"), Description: content.FromString("Now."), Schema: content.FromString(`{"type": "object"}`)},
		{Name: content.FromString("get_weather"), Description: content.FromString("Weather."), Schema: content.FromString(weatherSchema)},
	}
	r.ToolChoice = content.ToolChoice{Mode: content.ToolChoiceTool, Name: content.FromString("get_weather"), DisableParallel: true}
	return r
}

// checkWeatherArgs checks a call's arguments against weatherSchema.
func checkWeatherArgs(t *testing.T, args []byte) {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal(args, &a); err != nil {
		t.Fatalf("arguments %q: %v", args, err)
	}
	city, ok := a["city"].(string)
	unit, _ := a["unit"].(string)
	if len(a) != 2 || !ok || len([]rune(city)) > 10 || (unit != "celsius" && unit != "fahrenheit") {
		t.Fatalf("arguments %s do not validate", args)
	}
}

// TestToolRoundTrip: a named tool_choice yields a call, streamed (the call
// opens, its arguments follow in fragments, the reply stops for tool use)
// and collected; the call and its result then go back through the model's
// template in the next turn.
func TestToolRoundTrip(t *testing.T) {
	m := tinyModel(t, "tiny", gguf.TinyOptions{ContextLength: 4096})
	p := newProvider(t, 4096, m)
	target := logic.Target{Provider: "engine", Model: "tiny"}

	// Streamed.
	s, err := p.Stream(context.Background(), target, params(300, 0.8, 5), weatherRequest())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []content.DeltaKind
	var id, name, args []byte
	for {
		d, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, d.Kind)
		switch d.Kind {
		case content.DeltaToolCall:
			id, name = d.ToolID.Bytes(), d.ToolName.Bytes()
		case content.DeltaToolArgs:
			args = append(args, d.Text.Bytes()...)
		}
		if d.Index != 0 {
			t.Fatalf("delta index %d: the call is the only block", d.Index)
		}
	}
	st := s.Status()
	s.Close()
	if len(kinds) < 3 || kinds[0] != content.DeltaToolCall || kinds[1] != content.DeltaToolArgs {
		t.Fatalf("delta kinds %v: want a call, then its arguments in fragments", kinds)
	}
	if string(name) != "get_weather" || !strings.HasPrefix(string(id), "call_") || st.Stop != logic.StopToolUse {
		t.Fatalf("call %q id %q stop %v", name, id, st.Stop)
	}
	checkWeatherArgs(t, args)

	// Collected: the same call, as a message part.
	lp := params(300, 0.8, 5)
	lp.Stream = false
	s, err = p.Stream(context.Background(), target, lp, weatherRequest())
	if err != nil {
		t.Fatal(err)
	}
	msg, st2, err := provider.Collect(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Parts) != 1 || msg.Parts[0].Kind != content.PartToolCall || string(msg.Parts[0].ToolName.Bytes()) != "get_weather" ||
		string(msg.Parts[0].Args.Bytes()) != string(args) || st2.Stop != logic.StopToolUse {
		t.Fatalf("collected %d parts, stop %v", len(msg.Parts), st2.Stop)
	}

	// The next turn carries the call and its result; tool_choice auto.
	r := weatherRequest()
	r.ToolChoice = content.ToolChoice{}
	r.Messages = append(r.Messages,
		content.Message{Role: content.RoleAssistant, Parts: []content.Part{{Kind: content.PartToolCall, ToolID: content.FromString(string(id)), ToolName: content.FromString("get_weather"), Args: content.FromString(string(args))}}},
		content.Message{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartToolResult, ToolID: content.FromString(string(id)), Text: content.FromString(`{"temp": 21}`)}}},
	)
	text, st3 := run(t, p, "tiny", params(8, 0, 1), r)
	if text == "" || st3.Stop != logic.StopMaxTokens || st3.Usage.Input <= st.Usage.Input {
		t.Fatalf("second turn %q %+v (first turn's input %d)", text, st3, st.Usage.Input)
	}
}
