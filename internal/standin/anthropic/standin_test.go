package anthropic

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// post sends body to path on srv with the headers the API requires.
func post(t *testing.T, srv *httptest.Server, path, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("x-api-key", "k")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

type event struct {
	name string
	data map[string]any
}

// readEvents reads an SSE body; every event must have an event: line
// naming the same type as its data.
func readEvents(t *testing.T, r io.Reader) []event {
	t.Helper()
	var out []event
	sc := bufio.NewScanner(r)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				t.Fatalf("bad data %q: %v", line, err)
			}
			if name == "" || d["type"] != name {
				t.Fatalf("event %q carries type %v", name, d["type"])
			}
			out = append(out, event{name, d})
			name = ""
		}
	}
	return out
}

func eventNames(evs []event) string {
	var n []string
	for _, e := range evs {
		n = append(n, e.name)
	}
	return strings.Join(n, ",")
}

func TestStreamShape(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	resp := post(t, srv, "/v1/messages", `{"model":"m","max_tokens":10,"stream":true,"system":"be nice",
		"messages":[{"role":"user","content":"hello there"}]}`)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("content type %q", ct)
	}
	if resp.Header.Get("request-id") == "" {
		t.Error("no request-id header")
	}
	evs := readEvents(t, resp.Body)
	want := "message_start,ping,content_block_start,content_block_delta,content_block_delta,content_block_delta,content_block_stop,message_delta,message_stop"
	if got := eventNames(evs); got != want {
		t.Fatalf("events %s", got)
	}
	msg := evs[0].data["message"].(map[string]any)
	if msg["model"] != "m" || msg["role"] != "assistant" || msg["stop_reason"] != nil {
		t.Errorf("message_start %v", msg)
	}
	// "be nice" + "hello there": 4 words in.
	if in := msg["usage"].(map[string]any)["input_tokens"]; in != 4.0 {
		t.Errorf("input_tokens %v", in)
	}
	var text string
	for _, e := range evs[3:6] {
		text += e.data["delta"].(map[string]any)["text"].(string)
	}
	if text != "echo: hello there" {
		t.Errorf("text %q", text)
	}
	md := evs[7].data
	if md["delta"].(map[string]any)["stop_reason"] != "end_turn" || md["usage"].(map[string]any)["output_tokens"] != 3.0 {
		t.Errorf("message_delta %v", md)
	}
}

func TestErrorsAndMagic(t *testing.T) {
	s := New(Options{APIKey: "k"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, tc := range []struct {
		body   string
		status int
		typ    string
	}{
		{`{"model":"fail-400","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error"},
		{`{"model":"fail-401","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, 401, "authentication_error"},
		{`{"model":"fail-404","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, 404, "not_found_error"},
		{`{"model":"fail-429","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, 429, "rate_limit_error"},
		{`{"model":"fail-500","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, 500, "api_error"},
		{`{"model":"fail-529","max_tokens":1,"stream":true,"messages":[{"role":"user","content":"x"}]}`, 529, "overloaded_error"},
		{`{"model":"m","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error"},
		{`{"model":"m","max_tokens":1,"messages":[]}`, 400, "invalid_request_error"},
		{`not json`, 400, "invalid_request_error"},
	} {
		resp := post(t, srv, "/v1/messages", tc.body)
		var e struct {
			Type  string `json:"type"`
			Error struct {
				Type, Message string
			} `json:"error"`
			RequestID string `json:"request_id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.status || e.Type != "error" || e.Error.Type != tc.typ || e.Error.Message == "" || e.RequestID == "" {
			t.Errorf("%s: %d %+v", tc.body, resp.StatusCode, e)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(`{}`))
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("x-api-key", "wrong")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong key: %d", resp.StatusCode)
	}
	if s.Requests() != 10 {
		t.Errorf("Requests() = %d", s.Requests())
	}
}

func TestMidstreamErrorAndCut(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	resp := post(t, srv, "/v1/messages", `{"model":"midstream-error","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"a b c"}]}`)
	evs := readEvents(t, resp.Body)
	resp.Body.Close()
	if got := eventNames(evs); got != "message_start,ping,content_block_start,content_block_delta,error" {
		t.Errorf("midstream-error events %s", got)
	}
	if e := evs[len(evs)-1].data["error"].(map[string]any); e["type"] != "overloaded_error" {
		t.Errorf("error %v", e)
	}
	resp = post(t, srv, "/v1/messages", `{"model":"cut","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"a b c"}]}`)
	evs = readEvents(t, resp.Body)
	resp.Body.Close()
	if got := eventNames(evs); got != "message_start,ping,content_block_start,content_block_delta,content_block_delta" {
		t.Errorf("cut events %s", got)
	}
}

func TestHangSeesCancel(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/messages",
		strings.NewReader(`{"model":"hang","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("anthropic-version", "2023-06-01")
	if _, err := srv.Client().Do(req); err == nil {
		t.Fatal("hang answered")
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Canceled() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Canceled() != 1 {
		t.Errorf("Canceled() = %d", s.Canceled())
	}
}

func TestPlan(t *testing.T) {
	maxTok := func(n int) *int { return &n }
	tests := []struct {
		name    string
		req     string
		text    string
		stop    string
		stopSeq string
		tool    string
	}{
		{"echo", `{"messages":[{"role":"user","content":"one two"}]}`, "echo: one two", "end_turn", "", ""},
		{"blocks", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image"},{"type":"text","text":"b"}]}]}`, "echo: a b", "end_turn", "", ""},
		{"stop sequence", `{"stop_sequences":["zz","two"],"messages":[{"role":"user","content":"one two three"}]}`, "echo: one ", "stop_sequence", "two", ""},
		{"tool result", `{"tools":[{"name":"f"}],"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"42 apples"}]}]}]}`, "tool said: 42 apples", "end_turn", "", ""},
		{"tool call", `{"tools":[{"name":"lookup"},{"name":"other"}],"messages":[{"role":"user","content":"find cats"}]}`, "", "tool_use", "", "lookup"},
	}
	for _, tc := range tests {
		var r request
		if err := json.Unmarshal([]byte(tc.req), &r); err != nil {
			t.Fatal(err)
		}
		rep := r.plan()
		if got := strings.Join(rep.words, ""); got != tc.text || rep.stop != tc.stop || rep.tool != tc.tool {
			t.Errorf("%s: %q %s %q", tc.name, got, rep.stop, rep.tool)
		}
		if seq := rep.stopSeq; (seq == nil) != (tc.stopSeq == "") || seq != nil && *seq != tc.stopSeq {
			t.Errorf("%s: stop sequence %v", tc.name, seq)
		}
	}
	var r request
	_ = json.Unmarshal([]byte(`{"messages":[{"role":"user","content":"a b c d"}]}`), &r)
	r.MaxTokens = maxTok(2)
	if rep := r.plan(); strings.Join(rep.words, "|") != "echo:| a" || rep.stop != "max_tokens" || rep.out != 2 {
		t.Errorf("max tokens: %q %s %d", rep.words, rep.stop, rep.out)
	}
	_ = json.Unmarshal([]byte(`{"tools":[{"name":"f"}],"messages":[{"role":"user","content":"find \"x\""}]}`), &r)
	rep := r.plan()
	if !strings.HasPrefix(rep.id, "toolu_") || len(rep.id) != 14 || rep.id != r.plan().id {
		t.Errorf("tool id %q", rep.id)
	}
	fr := fragments(rep.input)
	if len(fr) < 2 || strings.Join(fr, "") != rep.input || rep.input != `{"query":"find \"x\""}` {
		t.Errorf("fragments %q of %s", fr, rep.input)
	}
}

func TestCountTokensAndModels(t *testing.T) {
	s := New(Options{Models: []string{"a", "b", "c"}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp := post(t, srv, "/v1/messages/count_tokens", `{"model":"m","system":[{"type":"text","text":"x y"}],"messages":[{"role":"user","content":"one two three"}]}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"input_tokens":5}` {
		t.Errorf("count tokens %s", b)
	}
	if !strings.Contains(string(s.LastRequest()), "one two three") {
		t.Errorf("LastRequest %s", s.LastRequest())
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/models?limit=2", nil)
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"data":[{"created_at":"2025-01-01T00:00:00Z","display_name":"a","id":"a","type":"model"},{"created_at":"2025-01-01T00:00:00Z","display_name":"b","id":"b","type":"model"}],"first_id":"a","has_more":true,"last_id":"b"}`
	if string(b) != want {
		t.Errorf("models %s", b)
	}
}
