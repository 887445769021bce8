package engine

import (
	"testing"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
)

// A system message in the middle of a conversation (Claude Code sends
// them) joins the system text ahead of the conversation, in order: chat
// templates take system text only there.
func TestMidConversationSystemJoinsTheSystemText(t *testing.T) {
	text := func(s string) []content.Part {
		return []content.Part{{Kind: content.PartText, Text: content.FromString(s)}}
	}
	r := &content.Request{
		System: []content.Text{content.FromString("first")},
		Messages: []content.Message{
			{Role: content.RoleUser, Parts: text("hello")},
			{Role: content.RoleSystem, Parts: text("second")},
			{Role: content.RoleAssistant, Parts: text("hi")},
			{Role: content.RoleUser, Parts: text("again")},
		},
	}
	g, perr := buildGenerate(logic.Params{MaxTokens: 8}, r)
	if perr != nil {
		t.Fatalf("buildGenerate: %v", perr)
	}
	defer g.Wipe()
	var roles []string
	for _, m := range g.Messages {
		roles = append(roles, m.Role)
	}
	if len(g.Messages) != 4 || g.Messages[0].Role != "system" || string(g.Messages[0].Content) != "first\n\nsecond" {
		t.Fatalf("messages %v, first %q; want the system text joined ahead of user, assistant, user", roles, g.Messages[0].Content)
	}
	for i, want := range []string{"system", "user", "assistant", "user"} {
		if roles[i] != want {
			t.Errorf("message %d is %s, want %s", i, roles[i], want)
		}
	}
}
