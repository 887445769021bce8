package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// The official SDK is the judge of wire accuracy: if it reads the
// stand-in's answers, so will anything built on the published format.

func newSDK(t *testing.T, o Options) (sdk.Client, *Server) {
	t.Helper()
	s := New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return sdk.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("k"), option.WithMaxRetries(0)), s
}

var lookup = sdk.ToolUnionParam{OfTool: &sdk.ToolParam{
	Name:        "lookup",
	Description: sdk.String("looks things up"),
	InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{"query": map[string]any{"type": "string"}}},
}}

func TestSDKNonStreaming(t *testing.T) {
	c, _ := newSDK(t, Options{APIKey: "k"})
	msg, err := c.Messages.New(context.Background(), sdk.MessageNewParams{
		Model:     "claude-standin",
		MaxTokens: 100,
		System:    []sdk.TextBlockParam{{Text: "sys"}},
		Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hello world"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != "echo: hello world" {
		t.Errorf("content %+v", msg.Content)
	}
	if msg.StopReason != sdk.StopReasonEndTurn || msg.Usage.InputTokens != 3 || msg.Usage.OutputTokens != 3 || msg.Model != "claude-standin" || msg.Role != "assistant" {
		t.Errorf("message %s", msg.RawJSON())
	}
}

func TestSDKStreamingAccumulate(t *testing.T) {
	c, _ := newSDK(t, Options{})
	stream := c.Messages.NewStreaming(context.Background(), sdk.MessageNewParams{
		Model:         "claude-standin",
		MaxTokens:     100,
		StopSequences: []string{"three"},
		Messages:      []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("one two three four"))},
	})
	var msg sdk.Message
	deltas := 0
	for stream.Next() {
		ev := stream.Current()
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == "content_block_delta" {
			deltas++
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "echo: one two " {
		t.Errorf("content %s", msg.RawJSON())
	}
	// "echo:", " one", " two", " ": the space before the cut is a word.
	if msg.StopReason != sdk.StopReasonStopSequence || msg.StopSequence != "three" || deltas != 4 || msg.Usage.OutputTokens != 4 || msg.Usage.InputTokens != 4 {
		t.Errorf("message %s (deltas %d)", msg.RawJSON(), deltas)
	}
}

func TestSDKToolRoundTrip(t *testing.T) {
	c, _ := newSDK(t, Options{})
	ctx := context.Background()
	params := sdk.MessageNewParams{
		Model:     "claude-standin",
		MaxTokens: 100,
		Tools:     []sdk.ToolUnionParam{lookup},
		Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("find cats"))},
	}
	for _, streaming := range []bool{false, true} {
		var msg sdk.Message
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
		if msg.StopReason != sdk.StopReasonToolUse || len(msg.Content) != 1 {
			t.Fatalf("streaming=%v: %s", streaming, msg.RawJSON())
		}
		tu := msg.Content[0].AsToolUse()
		var in struct{ Query string }
		if err := json.Unmarshal(tu.Input, &in); err != nil || tu.Name != "lookup" || in.Query != "find cats" || len(tu.ID) != 14 {
			t.Errorf("streaming=%v: tool use %s (%v)", streaming, msg.Content[0].RawJSON(), err)
		}
		// Answer the call: the next reply reports the result.
		next := params
		next.Messages = append(append([]sdk.MessageParam{}, params.Messages...), msg.ToParam(),
			sdk.NewUserMessage(sdk.NewToolResultBlock(tu.ID, "three cats", false)))
		res, err := c.Messages.New(ctx, next)
		if err != nil {
			t.Fatal(err)
		}
		if res.Content[0].Text != "tool said: three cats" || res.StopReason != sdk.StopReasonEndTurn {
			t.Errorf("streaming=%v: after tool %s", streaming, res.RawJSON())
		}
	}
}

func TestSDKErrors(t *testing.T) {
	c, _ := newSDK(t, Options{})
	for model, want := range map[string]int{"fail-400": 400, "fail-401": 401, "fail-404": 404, "fail-429": 429, "fail-500": 500, "fail-529": 529} {
		_, err := c.Messages.New(context.Background(), sdk.MessageNewParams{
			Model: sdk.Model(model), MaxTokens: 1, Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("x"))},
		})
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != want || apiErr.RequestID == "" || apiErr.Type() == "" {
			t.Errorf("%s: %v", model, err)
		}
	}
	stream := c.Messages.NewStreaming(context.Background(), sdk.MessageNewParams{
		Model: "midstream-error", MaxTokens: 10, Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("a b"))},
	})
	for stream.Next() {
	}
	if stream.Err() == nil {
		t.Error("midstream-error: no error from the SDK stream")
	}
}

func TestSDKCountTokensAndModels(t *testing.T) {
	c, _ := newSDK(t, Options{Models: []string{"x", "y"}})
	n, err := c.Messages.CountTokens(context.Background(), sdk.MessageCountTokensParams{
		Model: "claude-standin", Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("a b c"))},
	})
	if err != nil || n.InputTokens != 3 {
		t.Errorf("count tokens %v %v", n, err)
	}
	var ids []string
	iter := c.Models.ListAutoPaging(context.Background(), sdk.ModelListParams{Limit: sdk.Int(1)})
	for iter.Next() {
		ids = append(ids, iter.Current().ID)
	}
	if err := iter.Err(); err != nil || len(ids) != 2 || ids[0] != "x" || ids[1] != "y" {
		t.Errorf("models %v %v", ids, err)
	}
}
