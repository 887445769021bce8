package engine

import (
	"context"
	"testing"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/gguf"
	"github.com/inference-relay/relay/internal/logic"
)

// count_tokens counts through the same template and tokenizer a reply
// does: for the same request, CountTokens is the input usage the reply
// reports — with a system prompt, with several turns, and with tools.
func TestCountTokensAgreesWithUsage(t *testing.T) {
	m := tinyModel(t, "tiny", gguf.TinyOptions{})
	p := newProvider(t, 0, m)
	withSystem := request("hi there")
	withSystem.System = []content.Text{content.FromString("be brief")}
	turns := request("first")
	turns.Messages = append(turns.Messages,
		content.Message{Role: content.RoleAssistant, Parts: []content.Part{{Kind: content.PartText, Text: content.FromString("ok")}}},
		content.Message{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: content.FromString("second")}}})
	withTools := request("weather?")
	withTools.Tools = []content.Tool{{Name: content.FromString("get_weather"), Description: content.FromString("the weather"),
		Schema: content.FromString(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}
	for name, r := range map[string]*content.Request{"plain": request("hi there"), "system": withSystem, "turns": turns, "tools": withTools} {
		n, err := p.CountTokens(context.Background(), logic.Target{Model: "tiny"}, logic.Params{}, r)
		if err != nil {
			t.Fatalf("%s: CountTokens: %v", name, err)
		}
		_, st := run(t, p, "tiny", params(2, 0, 1), r)
		if n != st.Usage.Input || n <= 0 {
			t.Errorf("%s: count_tokens %d, the reply's input usage %d", name, n, st.Usage.Input)
		}
	}
	if _, err := p.CountTokens(context.Background(), logic.Target{Model: "nope"}, logic.Params{}, request("x")); err == nil {
		t.Error("counting for a model the engine does not serve succeeded")
	}
}
