package openai_test

// These tests put the official openai-go SDK in front of a tiny relay made
// of the front codec (wire/openai) and this provider, with the stand-in
// behind: SDK -> DecodeRequest -> Provider.Stream -> StreamWriter or
// Collect+EncodeResponse -> SDK. They prove that what the front writes is
// what the SDK expects, streamed or not, tool calls included.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	popenai "github.com/inference-relay/relay/internal/provider/openai"
	standin "github.com/inference-relay/relay/internal/standin/openai"
	"github.com/inference-relay/relay/internal/wire"
	wopenai "github.com/inference-relay/relay/internal/wire/openai"
)

// front is the smallest relay: one provider, the client's model passed
// through.
func front(p provider.Provider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			wopenai.WriteError(w, 400, logic.ErrInvalidRequest, []byte("unreadable body"))
			return
		}
		req, params, err := wopenai.DecodeRequest(body)
		if err != nil {
			var re *wire.RequestError
			errors.As(err, &re)
			wopenai.WriteError(w, 400, logic.ErrInvalidRequest, []byte(re.Error()))
			return
		}
		st, err := p.Stream(r.Context(), logic.Target{Provider: "standin", Model: params.Model}, params, req)
		if err != nil {
			pe := provider.AsError(err)
			wopenai.WriteError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
			return
		}
		const id, created = "chatcmpl-relay", 1700000001
		if !params.Stream {
			msg, status, err := provider.Collect(st)
			if err != nil {
				pe := provider.AsError(err)
				wopenai.WriteError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
				return
			}
			b, _ := wopenai.EncodeResponse(id, params.Model, created, msg, status)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
			return
		}
		defer st.Close()
		sw := wopenai.NewStreamWriter(w, id, params.Model, created, params.IncludeUsage)
		for {
			d, err := st.Recv()
			if err == io.EOF {
				_ = sw.Finish(st.Status())
				return
			}
			if err != nil {
				pe := provider.AsError(err)
				_ = sw.Fail(pe.Class, pe.Detail.Bytes())
				return
			}
			if sw.Delta(d) != nil {
				return
			}
		}
	})
}

// relay starts backend (the stand-in unless given) and a front before it,
// and returns an SDK client of the front.
func relay(t *testing.T, backend http.Handler) sdk.Client {
	t.Helper()
	if backend == nil {
		backend = standin.New(standin.Options{})
	}
	up := httptest.NewServer(backend)
	t.Cleanup(up.Close)
	hc := egress.New(egress.LoopbackOnly).HTTPClient()
	p, err := popenai.New(popenai.Config{Name: "standin", BaseURL: up.URL + "/v1", Client: hc})
	if err != nil {
		t.Fatal(err)
	}
	fr := httptest.NewServer(front(p))
	t.Cleanup(fr.Close)
	return sdk.NewClient(option.WithBaseURL(fr.URL+"/v1/"), option.WithAPIKey("relay-key"), option.WithHTTPClient(hc), option.WithMaxRetries(0))
}

var lookup = sdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:       "lookup",
	Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}},
})

func TestFrontSDKNonStreaming(t *testing.T) {
	c := relay(t, nil)
	resp, err := c.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
		Model:    "gpt-standin",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.SystemMessage("sys"), sdk.UserMessage("ping \"quoted\" é")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "echo: ping \"quoted\" é" || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("choice %+v", resp.Choices[0])
	}
	if resp.ID != "chatcmpl-relay" || resp.Model != "gpt-standin" || resp.Usage.PromptTokens != 4 || resp.Usage.CompletionTokens != 4 {
		t.Errorf("response %s", resp.RawJSON())
	}
}

func TestFrontSDKStreaming(t *testing.T) {
	c := relay(t, nil)
	stream := c.Chat.Completions.NewStreaming(context.Background(), sdk.ChatCompletionNewParams{
		Model:         "gpt-standin",
		Messages:      []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("one two")},
		StreamOptions: sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)},
	})
	var acc sdk.ChatCompletionAccumulator
	var pieces []string
	for stream.Next() {
		ch := stream.Current()
		if !acc.AddChunk(ch) {
			t.Fatalf("accumulator rejected %s", ch.RawJSON())
		}
		if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
			pieces = append(pieces, ch.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(pieces, "|") != "echo:| one| two" {
		t.Errorf("pieces %q", pieces)
	}
	if acc.Choices[0].Message.Content != "echo: one two" || acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 3 || acc.Usage.TotalTokens != 5 {
		t.Errorf("accumulated %s", acc.RawJSON())
	}
}

func TestFrontSDKToolCalls(t *testing.T) {
	c := relay(t, nil)
	params := sdk.ChatCompletionNewParams{
		Model:    "gpt-standin",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("capital of France")},
		Tools:    []sdk.ChatCompletionToolUnionParam{lookup},
	}
	stream := c.Chat.Completions.NewStreaming(context.Background(), params)
	var acc sdk.ChatCompletionAccumulator
	var finished []sdk.FinishedChatCompletionToolCall
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatal("accumulator rejected a chunk")
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if acc.Choices[0].FinishReason != "tool_calls" || len(calls) != 1 || calls[0].Function.Name != "lookup" || calls[0].Function.Arguments != `{"query":"capital of France"}` {
		t.Fatalf("accumulated %s", acc.RawJSON())
	}
	if len(finished) != 1 || finished[0].ID != calls[0].ID {
		t.Errorf("finished tool calls %+v", finished)
	}

	resp, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Choices[0].Message
	if len(got.ToolCalls) != 1 || got.ToolCalls[0].ID != calls[0].ID || got.ToolCalls[0].Function.Arguments != calls[0].Function.Arguments || resp.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("non-streamed %s", resp.RawJSON())
	}

	// The tool result goes back through the front and the provider.
	params.Messages = append(params.Messages, got.ToParam(), sdk.ToolMessage("Paris", got.ToolCalls[0].ID))
	resp, err = c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "tool said: Paris" {
		t.Errorf("after the tool: %s", resp.RawJSON())
	}
}

// TestFrontSDKParallelToolCallsAndReasoning uses a canned upstream that
// streams reasoning and two interleaved tool calls, as local engines do,
// and answers a non-streamed request with the same reply in one piece.
func TestFrontSDKParallelToolCallsAndReasoning(t *testing.T) {
	canned := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"stream":false`) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","model":"local","choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"Two lookups.","tool_calls":[{"id":"call_a","type":"function","function":{"name":"lookup","arguments":"{\"query\":\"a\"}"}},{"id":"call_b","type":"function","function":{"name":"lookup","arguments":"{\"query\":\"b\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":7,"completion_tokens":9,"total_tokens":16}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range []string{
			`{"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Two lookups."}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"lookup","arguments":"{\"query\":"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"lookup","arguments":"{\"query\":\"b\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"a\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
			`{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":9}}`,
			`[DONE]`,
		} {
			_, _ = io.WriteString(w, "data: "+c+"\n\n")
		}
	})
	c := relay(t, canned)
	params := sdk.ChatCompletionNewParams{
		Model:    "local",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("a and b")},
		Tools:    []sdk.ChatCompletionToolUnionParam{lookup},
	}
	stream := c.Chat.Completions.NewStreaming(context.Background(), params)
	var acc sdk.ChatCompletionAccumulator
	var reasoning string
	for stream.Next() {
		ch := stream.Current()
		if !acc.AddChunk(ch) {
			t.Fatal("accumulator rejected a chunk")
		}
		if len(ch.Choices) > 0 {
			if f, ok := ch.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok {
				reasoning += strings.Trim(f.Raw(), `"`)
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].ID != "call_a" || calls[0].Function.Arguments != `{"query":"a"}` || calls[1].ID != "call_b" || calls[1].Function.Arguments != `{"query":"b"}` {
		t.Errorf("tool calls %+v", calls)
	}
	if reasoning != "Two lookups." {
		t.Errorf("reasoning %q", reasoning)
	}
	if acc.Usage.PromptTokens != 7 || acc.Usage.CompletionTokens != 9 {
		t.Errorf("usage %+v", acc.Usage)
	}

	resp, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if f := resp.Choices[0].Message.JSON.ExtraFields["reasoning_content"]; f.Raw() != `"Two lookups."` {
		t.Errorf("non-streamed reasoning %s", resp.RawJSON())
	}
	if len(resp.Choices[0].Message.ToolCalls) != 2 {
		t.Errorf("non-streamed %s", resp.RawJSON())
	}
}

func TestFrontSDKErrors(t *testing.T) {
	c := relay(t, nil)
	_, err := c.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
		Model: "fail-429", Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("x")},
	})
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type != "rate_limit_error" || !strings.Contains(apiErr.Message, "Rate limit") {
		t.Errorf("fail-429: %v", err)
	}
	_, err = c.Chat.Completions.New(context.Background(), sdk.ChatCompletionNewParams{
		Model: "gpt-standin", Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("x")}, N: sdk.Int(3),
	})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, "n:") {
		t.Errorf("n=3: %v", err)
	}
	stream := c.Chat.Completions.NewStreaming(context.Background(), sdk.ChatCompletionNewParams{
		Model: "midstream-error", Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("a b c")},
	})
	n := 0
	for stream.Next() {
		n++
	}
	if stream.Err() == nil || n == 0 {
		t.Errorf("midstream-error: %d chunks, err %v", n, stream.Err())
	}
}
