package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/secret"
)

const canary = "CANARY-7f3a9c"

// logOne logs one record through a fresh logger and returns the decoded line.
func logOne(t *testing.T, log func(*slog.Logger)) (map[string]any, string) {
	t.Helper()
	var buf bytes.Buffer
	log(New(&buf, slog.LevelInfo))
	out := buf.String()
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("want one line, got %q", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	return m, out
}

// attrKeys returns the keys beyond time, level and msg.
func attrKeys(m map[string]any) []string {
	var keys []string
	for k := range m {
		if !builtin[k] {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestOnlyAllowedKeysPass(t *testing.T) {
	m, out := logOne(t, func(l *slog.Logger) {
		l.Info("request done",
			"provider", "ollama",
			"tokens_in", 12,
			"duration_ms", int64(30),
			"prompt", canary,
			"user_agent", canary,
			"msg", canary,
			"time", canary,
		)
	})
	want := map[string]any{"provider": "ollama", "tokens_in": 12.0, "duration_ms": 30.0}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if len(attrKeys(m)) != len(want) || strings.Contains(out, canary) {
		t.Errorf("unlisted keys got through: %s", out)
	}
	if m["msg"] != "request done" {
		t.Errorf("msg = %v", m["msg"])
	}
}

type wrapper struct {
	N    int
	Body content.Text
}

type pointsAt struct{ Next *wrapper }

type stealthy struct{ v slog.Value }

func (s stealthy) LogValue() slog.Value { return s.v }

type panicky struct{}

func (panicky) LogValue() slog.Value { panic("boom") }

type loop struct{}

func (l loop) LogValue() slog.Value { return slog.AnyValue(l) }

type hidesAny struct{ X any }

// Every way content or a secret can be handed to the logger is dropped, not
// merely redacted: the line carries neither the canary nor the marker.
func TestContentAndSecretsNeverPass(t *testing.T) {
	text := content.FromString(canary)
	msg := content.Message{Role: content.RoleUser, Parts: []content.Part{{Kind: content.PartText, Text: text}}}
	key := secret.FromString(canary)
	cases := map[string]any{
		"Text":             text,
		"*Text":            &text,
		"[]Text":           []content.Text{text},
		"map of Text":      map[string]content.Text{"a": text},
		"struct with Text": wrapper{N: 1, Body: text},
		"pointer chain":    pointsAt{Next: &wrapper{Body: text}},
		"Message":          msg,
		"*Request":         &content.Request{Messages: []content.Message{msg}},
		"Secret":           key,
		"*Secret":          &key,
		//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
		"LogValuer → Text":   stealthy{slog.AnyValue(text)},
		"LogValuer → Secret": stealthy{slog.AnyValue(key)},
		//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
		"LogValuer → LogValuer → Text": stealthy{slog.AnyValue(stealthy{slog.AnyValue(text)})},
		"raw bytes":                    text.Bytes(),
		"struct hiding any":            hidesAny{X: text},
		"panicking LogValuer":          panicky{},
		"endless LogValuer":            loop{},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
			m, out := logOne(t, func(l *slog.Logger) { l.Info("x", "reason", v, "count", 1) })
			if _, ok := m["reason"]; ok || strings.Contains(out, canary) || strings.Contains(out, "redacted") {
				t.Errorf("value got through: %s", out)
			}
			if m["count"] != 1.0 {
				t.Errorf("the allowed attribute beside it was lost: %s", out)
			}
		})
	}
}

func TestGroupsAreCheckedByFullKey(t *testing.T) {
	allow := map[string]bool{"provider": true, "usage.tokens_in": true, "a.b.count": true}
	var buf bytes.Buffer
	l := slog.New(newHandler(slog.NewJSONHandler(&buf, nil), allow))

	text := content.FromString(canary)
	l.Info("x",
		//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
		slog.Group("usage", "tokens_in", 3, "tokens_out", 4, "body", text),
		slog.Group("other", "tokens_in", 5),
		slog.Group("", "provider", "p", "prompt", canary), // inlined
		slog.Group("a", slog.Group("b", "count", 7, "note", canary)),
		//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
		slog.Any("usage", stealthy{slog.GroupValue(slog.Int("tokens_in", 9), slog.Any("x", text))}),
	)
	l.WithGroup("usage").Info("y", "tokens_in", 1, "provider", canary)
	l.WithGroup("usage").With("tokens_in", 2, "model", canary).Info("z")
	l.WithGroup("nothing").Info("w", "provider", canary)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if strings.Contains(buf.String(), canary) {
		t.Errorf("text got through:\n%s", buf.String())
	}
	var got []map[string]any
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		for k := range builtin {
			delete(m, k)
		}
		got = append(got, m)
	}
	want := []map[string]any{
		{
			"usage":    map[string]any{"tokens_in": 9.0},
			"provider": "p",
			"a":        map[string]any{"b": map[string]any{"count": 7.0}},
		},
		{"usage": map[string]any{"tokens_in": 1.0}},
		{"usage": map[string]any{"tokens_in": 2.0}},
		{},
	}
	// The first line has "usage" twice (a group and a resolved LogValuer);
	// JSON decoding keeps the last.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if !strings.Contains(lines[0], `"usage":{"tokens_in":3}`) {
		t.Errorf("first group lost its allowed key: %s", lines[0])
	}
}

type classed struct{ class string }

func (e classed) Error() string { return "upstream said: " + canary }
func (e classed) Class() string { return e.class }

type withErrorClass struct{}

func (withErrorClass) Error() string                { return canary }
func (withErrorClass) ErrorClass() logic.ErrorClass { return logic.ErrRateLimited }

type nilPanics struct{ c *string }

func (e *nilPanics) Error() string { return *e.c }
func (e *nilPanics) Class() string { return *e.c }

func TestErrorsAreLoggedAsTheirClass(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"plain", errors.New(canary), "error"},
		{"formatted", fmt.Errorf("reading %s: %w", canary, errors.New(canary)), "error"},
		{"Class()", classed{"upstream"}, "upstream"},
		{"wrapped Class()", fmt.Errorf("%s: %w", canary, classed{"timeout"}), "timeout"},
		{"Class() with text", classed{"said " + canary}, "error"},
		{"ErrorClass()", fmt.Errorf("x: %w", withErrorClass{}), "rate_limited"},
		{"nil receiver", (*nilPanics)(nil), "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, out := logOne(t, func(l *slog.Logger) { l.Error("failed", "error_class", tc.err) })
			if m["error_class"] != tc.want || strings.Contains(out, canary) {
				t.Errorf("got %s, want error_class %q", out, tc.want)
			}
		})
	}
}

func TestWithAttrsIsFiltered(t *testing.T) {
	m, out := logOne(t, func(l *slog.Logger) {
		//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
		l.With("component", "server", "prompt", canary, "reason", content.FromString(canary)).Info("started")
	})
	if m["component"] != "server" || len(attrKeys(m)) != 1 || strings.Contains(out, canary) {
		t.Errorf("got %s", out)
	}
}

func TestMetadataValuesPass(t *testing.T) {
	m, _ := logOne(t, func(l *slog.Logger) {
		l.Info("x",
			"duration_ms", 2*time.Second,
			"addr", "127.0.0.1:8080",
			"fallback", true,
			"count", []int{1, 2},
			"session", stealthy{slog.StringValue("hmac-sha256:ab")},
		)
	})
	want := map[string]any{
		"duration_ms": float64(2 * time.Second), "addr": "127.0.0.1:8080", "fallback": true,
		"count": []any{1.0, 2.0}, "session": "hmac-sha256:ab",
	}
	delete(m, "time")
	delete(m, "level")
	delete(m, "msg")
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLevel(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, slog.LevelInfo)
	l.Debug("hidden", "count", 1)
	if buf.Len() != 0 {
		t.Errorf("debug record written at info level: %s", buf.String())
	}
	if !New(&buf, slog.LevelDebug).Enabled(context.Background(), slog.LevelDebug) {
		t.Error("debug level not enabled")
	}
}

// The filter does not depend on the wrapped handler: text output too.
func TestTextHandlerIsFilteredToo(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewHandler(slog.NewTextHandler(&buf, nil)))
	//contentvet:ok deliberate: this test proves the redaction (or the panic path) holds
	l.Info("x", "reason", wrapper{Body: content.FromString(canary)}, "prompt", canary, "count", 2)
	if strings.Contains(buf.String(), canary) || !strings.Contains(buf.String(), "count=2") {
		t.Errorf("got %s", buf.String())
	}
}

func TestAllowedKeys(t *testing.T) {
	keys := AllowedKeys()
	for _, k := range []string{"component", "provider", "model", "alias", "request_id", "error_class", "path_template"} {
		if !allowed[k] {
			t.Errorf("%s missing from the allowlist", k)
		}
	}
	for i, k := range keys {
		if builtin[k] {
			t.Errorf("builtin key %s in the allowlist", k)
		}
		if i > 0 && keys[i-1] >= k {
			t.Errorf("AllowedKeys not sorted at %s", k)
		}
	}
}

// The audit identifier types and the event itself are metadata and pass.
func TestAuditTypesPass(t *testing.T) {
	var reg audit.Registry
	_ = reg.Add("ollama")
	id := audit.RequestID{0: 0xab}
	ev := audit.Event{RequestID: id, Provider: reg.Ident("ollama"), Status: audit.Status2xx}
	m, out := logOne(t, func(l *slog.Logger) {
		l.Info("done", "request_id", id, "provider", reg.Ident("ollama"), "model", reg.Ident(canary),
			"status", audit.Status2xx, "event", ev)
	})
	if m["request_id"] != id.String() || m["provider"] != "ollama" || m["model"] != "unknown" || m["status"] != "2xx" {
		t.Errorf("got %s", out)
	}
	if e, _ := m["event"].(map[string]any); e["provider"] != "ollama" || e["request_id"] != id.String() {
		t.Errorf("event = %v", m["event"])
	}
	if strings.Contains(out, canary) {
		t.Errorf("unregistered name got through: %s", out)
	}
}
