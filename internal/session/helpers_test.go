package session

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/memlock"
)

// testOwner owns the sessions of tests that use one owner.
const testOwner = "key-1"

func text(s string) content.Text { return content.FromString(s) }

// everyKind is one message per part kind with every field the kind uses
// (and some it does not), including bytes a string codec would mangle and
// lengths that need multi-byte varints.
func everyKind() []content.Message {
	bin := make([]byte, 300)
	for i := range bin {
		bin[i] = byte(i)
	}
	return []content.Message{
		{Role: content.RoleUser, Parts: []content.Part{
			{Kind: content.PartText, Text: text("héllo, wörld \x00 ✓")},
			{Kind: content.PartImage, MediaType: text("image/png"), Data: content.Of(bytes.Clone(bin))},
			{Kind: content.PartImage, MediaType: text("image/jpeg"), URL: text("https://example.invalid/cat.jpg")},
		}},
		{Role: content.RoleAssistant, Parts: []content.Part{
			{Kind: content.PartThinking, Text: text("let me think"), Signature: text("sig-abc==")},
			{Kind: content.PartText, Text: text("calling a tool")},
			{Kind: content.PartToolCall, ToolID: text("call_1"), ToolName: text("get_weather"), Args: text(`{"city":"Paris"}`)},
		}},
		{Role: content.RoleUser, Parts: []content.Part{
			{Kind: content.PartToolResult, ToolID: text("call_1"), Text: text("rain"), IsError: true},
			{Kind: content.PartToolResult, ToolID: text("call_2"), Text: text(string(bytes.Repeat([]byte("x"), 20000)))},
		}},
		{Role: content.RoleAssistant}, // no parts at all
		{Role: content.RoleAssistant, Parts: []content.Part{{Kind: content.PartText}}}, // an empty part
	}
}

// sameMessage compares two messages byte for byte, field by field.
func sameMessage(a, b content.Message) bool {
	if a.Role != b.Role || len(a.Parts) != len(b.Parts) {
		return false
	}
	for i := range a.Parts {
		pa, pb := &a.Parts[i], &b.Parts[i]
		if pa.Kind != pb.Kind || pa.IsError != pb.IsError {
			return false
		}
		fa, fb := textFields(pa), textFields(pb)
		for j := range fa {
			if !bytes.Equal(fa[j].Bytes(), fb[j].Bytes()) {
				return false
			}
		}
	}
	return true
}

func sameMessages(t *testing.T, got, want []content.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if !sameMessage(got[i], want[i]) {
			t.Fatalf("message %d differs", i)
		}
	}
}

func cloneMessage(m content.Message) content.Message {
	out := content.Message{Role: m.Role}
	for _, p := range m.Parts {
		q := p
		src, dst := textFields(&p), textFields(&q)
		for j := range src {
			*dst[j] = src[j].Clone()
		}
		out.Parts = append(out.Parts, q)
	}
	return out
}

func cloneMessages(ms []content.Message) []content.Message {
	var out []content.Message
	for _, m := range ms {
		out = append(out, cloneMessage(m))
	}
	return out
}

func say(role content.Role, s string) content.Message {
	return content.Message{Role: role, Parts: []content.Part{{Kind: content.PartText, Text: text(s)}}}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// fakeClock is a settable clock for idle-timeout tests without synctest.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newStore(t testing.TB, l Limits, now func() time.Time) *Store {
	t.Helper()
	s, err := New(l, nil, now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newArena(t testing.TB, slots int) *memlock.Arena {
	t.Helper()
	a, err := memlock.NewArena(slots)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// turn runs one committed exchange.
func turn(t testing.TB, s *Store, id string, user []content.Message, reply content.Message) []content.Message {
	t.Helper()
	tr, err := s.Begin(testOwner, id)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	hist := cloneMessages(tr.History())
	if err := tr.Commit(user, reply); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return hist
}

// sessionOf returns the live session for id (tests only).
func sessionOf(s *Store, id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, _ := s.hash(domainSession, testOwner, id)
	return s.sessions[h]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
