package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// chatOnce sends params through the OpenAI SDK, streamed (the chunks
// accumulated as the SDK does) or not, and returns the first choice's
// message and finish reason.
func chatOnce(ctx context.Context, t *testing.T, c openai.Client, params openai.ChatCompletionNewParams, streaming bool, opts ...ooption.RequestOption) (openai.ChatCompletionMessage, string) {
	t.Helper()
	if streaming {
		stream := c.Chat.Completions.NewStreaming(ctx, params, opts...)
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		return acc.Choices[0].Message, acc.Choices[0].FinishReason
	}
	resp, err := c.Chat.Completions.New(ctx, params, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Choices[0].Message, resp.Choices[0].FinishReason
}

func openaiClient(h *harness) openai.Client {
	return openai.NewClient(ooption.WithBaseURL(h.URL+"/v1/"), ooption.WithAPIKey(h.Key), ooption.WithMaxRetries(0))
}

func anthropicClient(h *harness) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(h.URL), aoption.WithAPIKey(h.Key), aoption.WithMaxRetries(0))
}

// TestOpenAISDK drives the relay with the official OpenAI Go SDK against
// each backend kind, streaming and not.
func TestOpenAISDK(t *testing.T) {
	h := newHarness(t)
	c := openaiClient(h)
	ctx := context.Background()
	for _, b := range backendKinds {
		t.Run(b.name, func(t *testing.T) {
			params := openai.ChatCompletionNewParams{
				Model: b.model,
				Messages: []openai.ChatCompletionMessageParamUnion{
					openai.SystemMessage("be brief"),
					openai.UserMessage("hello there relay"),
				},
				MaxTokens: openai.Int(64),
			}
			resp, err := c.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Content; got != "echo: hello there relay" {
				t.Errorf("content = %q", got)
			}
			if resp.Choices[0].FinishReason != "stop" {
				t.Errorf("finish_reason = %q", resp.Choices[0].FinishReason)
			}
			if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens != 4 {
				t.Errorf("usage = %+v", resp.Usage)
			}
			if resp.Model != b.model {
				t.Errorf("model = %q, want the requested %q", resp.Model, b.model)
			}

			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := c.Chat.Completions.NewStreaming(ctx, params)
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; got != "echo: hello there relay" {
				t.Errorf("streamed content = %q", got)
			}
			if chunks < 4 {
				t.Errorf("got %d chunks; tokens should stream one by one", chunks)
			}
			if acc.Usage.CompletionTokens != 4 || acc.Usage.PromptTokens == 0 {
				t.Errorf("streamed usage = %+v", acc.Usage)
			}
		})
	}
}

// TestOpenAISDKToolRoundTrip makes the model call a tool, sends the result
// back, and reads the answer — through each backend, so that against the
// Anthropic backend the tool call and its result cross the translation both
// ways.
func TestOpenAISDKToolRoundTrip(t *testing.T) {
	h := newHarness(t)
	c := openaiClient(h)
	ctx := context.Background()
	tool := openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        "lookup",
		Description: openai.String("look something up"),
		Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}},
	})
	for _, b := range backendKinds {
		for _, streaming := range []bool{false, true} {
			t.Run(b.name+map[bool]string{false: "/unary", true: "/stream"}[streaming], func(t *testing.T) {
				params := openai.ChatCompletionNewParams{
					Model:    b.model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather in Oslo")},
					Tools:    []openai.ChatCompletionToolUnionParam{tool},
				}
				msg, finish := chatOnce(ctx, t, c, params, streaming)
				if finish != "tool_calls" || len(msg.ToolCalls) != 1 {
					t.Fatalf("finish=%q tool_calls=%d, want one tool call", finish, len(msg.ToolCalls))
				}
				call := msg.ToolCalls[0]
				if call.Function.Name != "lookup" || call.ID == "" {
					t.Errorf("call = %+v", call)
				}
				if call.Function.Arguments != `{"query":"weather in Oslo"}` {
					t.Errorf("arguments = %s", call.Function.Arguments)
				}
				params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("sunny and 20C", call.ID))
				resp, err := c.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				if got := resp.Choices[0].Message.Content; got != "tool said: sunny and 20C" {
					t.Errorf("final answer = %q", got)
				}
			})
		}
	}
}

// TestAnthropicSDK drives the relay with the official Anthropic Go SDK
// against each backend kind, streaming and not.
func TestAnthropicSDK(t *testing.T) {
	h := newHarness(t)
	c := anthropicClient(h)
	ctx := context.Background()
	for _, b := range backendKinds {
		t.Run(b.name, func(t *testing.T) {
			params := anthropic.MessageNewParams{
				Model:     anthropic.Model(b.model),
				MaxTokens: 64,
				System:    []anthropic.TextBlockParam{{Text: "be brief"}},
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there relay"))},
			}
			msg, err := c.Messages.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if len(msg.Content) != 1 || msg.Content[0].Text != "echo: hello there relay" {
				t.Errorf("content = %+v", msg.Content)
			}
			if msg.StopReason != anthropic.StopReasonEndTurn {
				t.Errorf("stop_reason = %q", msg.StopReason)
			}
			if msg.Usage.InputTokens == 0 || msg.Usage.OutputTokens != 4 {
				t.Errorf("usage = %+v", msg.Usage)
			}

			stream := c.Messages.NewStreaming(ctx, params)
			var acc anthropic.Message
			events := 0
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
				events++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if len(acc.Content) != 1 || acc.Content[0].Text != "echo: hello there relay" {
				t.Errorf("streamed content = %+v", acc.Content)
			}
			if events < 7 {
				t.Errorf("got %d events; tokens should stream one by one", events)
			}
			if acc.Usage.OutputTokens != 4 || acc.StopReason != anthropic.StopReasonEndTurn {
				t.Errorf("streamed usage %+v stop %q", acc.Usage, acc.StopReason)
			}
		})
	}
}

func TestAnthropicSDKToolRoundTrip(t *testing.T) {
	h := newHarness(t)
	c := anthropicClient(h)
	ctx := context.Background()
	tool := anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
		Name:        "lookup",
		Description: anthropic.String("look something up"),
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"query": map[string]any{"type": "string"}}},
	}}
	for _, b := range backendKinds {
		for _, streaming := range []bool{false, true} {
			t.Run(b.name+map[bool]string{false: "/unary", true: "/stream"}[streaming], func(t *testing.T) {
				params := anthropic.MessageNewParams{
					Model:     anthropic.Model(b.model),
					MaxTokens: 256,
					Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather in Oslo"))},
					Tools:     []anthropic.ToolUnionParam{tool},
				}
				var msg anthropic.Message
				if streaming {
					stream := c.Messages.NewStreaming(ctx, params)
					for stream.Next() {
						if err := msg.Accumulate(stream.Current()); err != nil {
							t.Fatal(err)
						}
					}
					if err := stream.Err(); err != nil {
						t.Fatal(err)
					}
				} else {
					m, err := c.Messages.New(ctx, params)
					if err != nil {
						t.Fatal(err)
					}
					msg = *m
				}
				if msg.StopReason != anthropic.StopReasonToolUse {
					t.Fatalf("stop_reason = %q", msg.StopReason)
				}
				var use *anthropic.ContentBlockUnion
				for i := range msg.Content {
					if msg.Content[i].Type == "tool_use" {
						use = &msg.Content[i]
					}
				}
				if use == nil || use.Name != "lookup" || use.ID == "" {
					t.Fatalf("no tool_use block in %+v", msg.Content)
				}
				if got := strings.ReplaceAll(string(use.Input), " ", ""); got != `{"query":"weatherinOslo"}` {
					t.Errorf("input = %s", use.Input)
				}
				params.Messages = append(params.Messages, msg.ToParam(), anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "sunny and 20C", false)))
				final, err := c.Messages.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				if len(final.Content) == 0 || final.Content[0].Text != "tool said: sunny and 20C" {
					t.Errorf("final answer = %+v", final.Content)
				}
			})
		}
	}
}
