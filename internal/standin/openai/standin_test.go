package openai_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/inference-relay/relay/internal/egress"
	standin "github.com/inference-relay/relay/internal/standin/openai"
)

func start(t *testing.T, o standin.Options) (*standin.Server, *httptest.Server) {
	t.Helper()
	s := standin.New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func client(srv *httptest.Server, key string) sdk.Client {
	return sdk.NewClient(
		option.WithBaseURL(srv.URL+"/v1/"),
		option.WithAPIKey(key),
		option.WithHTTPClient(egress.New(egress.LoopbackOnly).HTTPClient()),
		option.WithMaxRetries(0),
	)
}

var searchTool = sdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        "search",
	Description: sdk.String("Search the web."),
	Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}},
})

func TestSDKNonStreaming(t *testing.T) {
	s, srv := start(t, standin.Options{APIKey: "k"})
	c := client(srv, "k")
	resp, err := c.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
		Model: "gpt-standin",
		Messages: []sdk.ChatCompletionMessageParamUnion{
			sdk.SystemMessage("be brief"),
			sdk.UserMessage("hello there world"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "echo: hello there world" {
		t.Errorf("content %q", got)
	}
	if resp.Object != "chat.completion" || resp.Model != "gpt-standin" || resp.SystemFingerprint == "" || resp.ID == "" {
		t.Errorf("envelope %+v", resp)
	}
	if resp.Choices[0].FinishReason != "stop" {
		t.Errorf("finish %q", resp.Choices[0].FinishReason)
	}
	// prompt: "be brief" + "hello there world" = 5 words; reply: 4 words.
	if u := resp.Usage; u.PromptTokens != 5 || u.CompletionTokens != 4 || u.TotalTokens != 9 {
		t.Errorf("usage %+v", u)
	}
	if s.Requests() != 1 || !strings.Contains(string(s.LastRequest()), `"hello there world"`) {
		t.Errorf("requests %d, last %s", s.Requests(), s.LastRequest())
	}
}

func TestSDKStreaming(t *testing.T) {
	_, srv := start(t, standin.Options{TokenDelay: time.Millisecond})
	c := client(srv, "")
	stream := c.Chat.Completions.NewStreaming(context.Background(), sdk.ChatCompletionNewParams{
		Model:         "gpt-standin",
		Messages:      []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("one two three")},
		StreamOptions: sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)},
	})
	var acc sdk.ChatCompletionAccumulator
	var pieces []string
	chunks := 0
	for stream.Next() {
		ch := stream.Current()
		chunks++
		if !acc.AddChunk(ch) {
			t.Fatalf("the SDK's accumulator rejected chunk %d", chunks)
		}
		if chunks == 1 && (len(ch.Choices) != 1 || ch.Choices[0].Delta.Role != "assistant" || ch.Choices[0].Delta.Content != "" || !ch.Choices[0].Delta.JSON.Content.Valid()) {
			t.Errorf("first chunk %s", ch.RawJSON())
		}
		if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
			pieces = append(pieces, ch.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(pieces, "|") != "echo:| one| two| three" {
		t.Errorf("pieces %q", pieces)
	}
	// role chunk + 4 words + finish chunk + usage chunk
	if chunks != 7 {
		t.Errorf("%d chunks", chunks)
	}
	if acc.Choices[0].Message.Content != "echo: one two three" || acc.Choices[0].FinishReason != "stop" {
		t.Errorf("accumulated %+v", acc.Choices[0])
	}
	if acc.Usage.CompletionTokens != 4 || acc.Usage.PromptTokens != 3 {
		t.Errorf("usage %+v", acc.Usage)
	}
}

func TestSDKToolCallRoundTrip(t *testing.T) {
	_, srv := start(t, standin.Options{})
	c := client(srv, "")
	params := sdk.ChatCompletionNewParams{
		Model:    "gpt-standin",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage(`weather "today"`)},
		Tools:    []sdk.ChatCompletionToolUnionParam{searchTool},
	}
	// Streaming: the arguments arrive in fragments.
	stream := c.Chat.Completions.NewStreaming(context.Background(), params)
	var acc sdk.ChatCompletionAccumulator
	argChunks := 0
	for stream.Next() {
		ch := stream.Current()
		if !acc.AddChunk(ch) {
			t.Fatal("accumulator rejected a chunk")
		}
		if len(ch.Choices) > 0 && len(ch.Choices[0].Delta.ToolCalls) > 0 && ch.Choices[0].Delta.ToolCalls[0].Function.Arguments != "" {
			argChunks++
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if argChunks < 2 {
		t.Errorf("arguments came in %d chunks, want 2 or more", argChunks)
	}
	msg := acc.Choices[0].Message
	if acc.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 {
		t.Fatalf("accumulated %+v", acc.Choices[0])
	}
	call := msg.ToolCalls[0]
	if call.Function.Name != "search" || call.Function.Arguments != `{"query":"weather \"today\""}` || !strings.HasPrefix(call.ID, "call_") || len(call.ID) != 13 {
		t.Errorf("tool call %+v", call)
	}

	// Non-streaming gives the same call, same id.
	resp, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.ToolCalls; len(got) != 1 || got[0].ID != call.ID || got[0].Function.Arguments != call.Function.Arguments {
		t.Errorf("non-streamed tool calls %+v", got)
	}

	// Answer the call: the stand-in echoes the result.
	params.Messages = append(params.Messages, resp.Choices[0].Message.ToParam(), sdk.ToolMessage("sunny", call.ID))
	resp, err = c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "tool said: sunny" || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("after the tool: %q %q", got, resp.Choices[0].FinishReason)
	}
}

func TestLimits(t *testing.T) {
	_, srv := start(t, standin.Options{})
	c := client(srv, "")
	resp, err := c.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
		Model: "gpt-standin", Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("a b c d")},
		MaxTokens: sdk.Int(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "echo: a" || resp.Choices[0].FinishReason != "length" || resp.Usage.CompletionTokens != 2 {
		t.Errorf("max_tokens: %q %q %d", resp.Choices[0].Message.Content, resp.Choices[0].FinishReason, resp.Usage.CompletionTokens)
	}
	resp, err = c.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
		Model: "gpt-standin", Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("a b STOP c d")},
		Stop: sdk.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"zzz", " STOP"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "echo: a b" || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("stop: %q %q", resp.Choices[0].Message.Content, resp.Choices[0].FinishReason)
	}
}

func TestFailModels(t *testing.T) {
	_, srv := start(t, standin.Options{})
	c := client(srv, "")
	for _, tc := range []struct {
		model, typ, code string
		status           int
	}{
		{"fail-400", "invalid_request_error", "", 400},
		{"fail-401", "invalid_request_error", "invalid_api_key", 401},
		{"fail-404", "invalid_request_error", "model_not_found", 404},
		{"fail-429", "requests", "rate_limit_exceeded", 429},
		{"fail-500", "server_error", "", 500},
		{"fail-503", "server_error", "", 503},
	} {
		_, err := c.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
			Model: tc.model, Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("x")},
		})
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("%s: err %v", tc.model, err)
		}
		if apiErr.StatusCode != tc.status || apiErr.Type != tc.typ || apiErr.Code != tc.code || apiErr.Message == "" {
			t.Errorf("%s: got %d %q %q %q", tc.model, apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message)
		}
	}
}

func TestAPIKey(t *testing.T) {
	_, srv := start(t, standin.Options{APIKey: "right"})
	c := client(srv, "wrong")
	_, err := c.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
		Model: "gpt-standin", Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("x")},
	})
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Fatalf("err %v", err)
	}
}

func TestModels(t *testing.T) {
	_, srv := start(t, standin.Options{Models: []string{"a", "b"}})
	c := client(srv, "")
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != "a" || page.Data[1].ID != "b" || page.Data[0].OwnedBy == "" {
		t.Errorf("models %+v", page.Data)
	}
	_, srv = start(t, standin.Options{})
	c = client(srv, "")
	page, err = c.Models.List(context.Background())
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != "gpt-standin" {
		t.Errorf("default models %+v %v", page, err)
	}
}

// rawStream posts body and returns the SSE data lines.
func rawStream(t *testing.T, srv *httptest.Server, body string) []string {
	t.Helper()
	resp, err := egress.New(egress.LoopbackOnly).HTTPClient().Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if l, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestMidstreamErrorAndCut(t *testing.T) {
	_, srv := start(t, standin.Options{})
	const body = `{"model":%q,"stream":true,"messages":[{"role":"user","content":"a b c d e"}]}`
	lines := rawStream(t, srv, strings.Replace(body, "%q", `"midstream-error"`, 1))
	if len(lines) != 3 || !strings.HasPrefix(lines[2], `{"error":{`) {
		t.Errorf("midstream-error: %q", lines)
	}
	lines = rawStream(t, srv, strings.Replace(body, "%q", `"cut"`, 1))
	if len(lines) != 2 || strings.Contains(strings.Join(lines, ""), "[DONE]") {
		t.Errorf("cut: %q", lines)
	}
	lines = rawStream(t, srv, strings.Replace(body, "%q", `"gpt-standin"`, 1))
	if lines[len(lines)-1] != "[DONE]" || strings.Contains(lines[0], `"usage"`) {
		t.Errorf("normal stream without include_usage: %q", lines)
	}

	// The SDK reports the mid-stream error.
	c := client(srv, "")
	stream := c.Chat.Completions.NewStreaming(context.Background(), sdk.ChatCompletionNewParams{
		Model: "midstream-error", Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("a b c")},
	})
	for stream.Next() {
	}
	if stream.Err() == nil {
		t.Error("the SDK saw no error")
	}
}

func TestHangCountsCancel(t *testing.T) {
	s, srv := start(t, standin.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := client(srv, "")
	_, err := c.Chat.Completions.New(ctx, sdk.ChatCompletionNewParams{
		Model: "hang", Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("x")},
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	waitFor(t, func() bool { return s.Canceled() == 1 })
}

func TestLatencyCancel(t *testing.T) {
	s, srv := start(t, standin.Options{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := client(srv, "")
	_, err := c.Chat.Completions.New(ctx, sdk.ChatCompletionNewParams{
		Model: "gpt-standin", Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("x")},
	})
	if err == nil {
		t.Fatal("no error")
	}
	waitFor(t, func() bool { return s.Canceled() == 1 })
}

func TestBadRequests(t *testing.T) {
	_, srv := start(t, standin.Options{})
	hc := egress.New(egress.LoopbackOnly).HTTPClient()
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/v1/chat/completions", `{`, 400},
		{"POST", "/v1/chat/completions", `{"model":"m","messages":[]}`, 400},
		{"POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, 400},
		{"GET", "/v1/chat/completions", ``, 405},
		{"GET", "/v1/nothing", ``, 404},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), `"error":{"message":`) {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, resp.StatusCode, b)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The magic model tool-call calls the first tool even when system messages
// follow the user's turn; gpt-standin answers that shape with text.
func TestToolCallModelAfterSystemMessages(t *testing.T) {
	_, srv := start(t, standin.Options{})
	c := client(srv, "")
	for model, wantTool := range map[string]bool{"tool-call": true, "gpt-standin": false} {
		resp, err := c.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
			Model: model,
			Messages: []sdk.ChatCompletionMessageParamUnion{
				sdk.UserMessage("find it"),
				sdk.SystemMessage("reminder"),
			},
			Tools: []sdk.ChatCompletionToolUnionParam{searchTool},
		})
		if err != nil {
			t.Fatal(err)
		}
		m := resp.Choices[0].Message
		if got := len(m.ToolCalls) == 1; got != wantTool {
			t.Fatalf("%s: tool call %v, want %v", model, got, wantTool)
		}
		if wantTool && (m.ToolCalls[0].Function.Name != "search" || m.ToolCalls[0].Function.Arguments != `{"query":"find it"}`) {
			t.Errorf("%s: call %+v", model, m.ToolCalls[0])
		}
	}
}

// The magic model reasoner sends reasoning_content before its answer, in a
// whole reply and in a stream.
func TestReasonerModel(t *testing.T) {
	_, srv := start(t, standin.Options{})
	body := `{"model":"reasoner","messages":[{"role":"user","content":"why"}]}`
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"reasoning_content":"reasoning about: why","content":"echo: why"`) {
		t.Errorf("whole reply: %s", b)
	}
	resp, err = http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"reasoner","stream":true,"messages":[{"role":"user","content":"why"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	r, e := strings.Index(string(b), `"reasoning_content":"reasoning about: why"`), strings.Index(string(b), `"content":"echo:"`)
	if r < 0 || e < 0 || r > e {
		t.Errorf("stream: reasoning at %d, answer at %d: %s", r, e, b)
	}
}
