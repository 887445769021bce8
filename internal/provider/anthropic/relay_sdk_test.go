package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	anthropic "github.com/inference-relay/relay/internal/provider/anthropic"
	standin "github.com/inference-relay/relay/internal/standin/anthropic"
	"github.com/inference-relay/relay/internal/wire"
	awire "github.com/inference-relay/relay/internal/wire/anthropic"
)

// relay is the smallest server that can be built from the front-side
// functions and the provider: what the real server does, minus routing.
func relay(p *anthropic.Provider) http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) {
		var re *wire.RequestError
		if errors.As(err, &re) {
			awire.WriteError(w, 0, logic.ErrInvalidRequest, []byte(re.Error()))
			return
		}
		pe := provider.AsError(err)
		awire.WriteError(w, pe.HTTPStatus(), pe.Class, pe.Detail.Bytes())
	}
	mux.HandleFunc("POST /v1/messages", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, params, err := awire.DecodeRequest(body)
		if err != nil {
			fail(w, err)
			return
		}
		st, err := p.Stream(r.Context(), logic.Target{Provider: "anthropic", Model: params.Model}, params, req)
		if err != nil {
			fail(w, err)
			return
		}
		defer st.Close()
		stopSeq := func(s logic.Status) []byte {
			if s.StopSequence > 0 && s.StopSequence <= len(req.Stop) {
				return req.Stop[s.StopSequence-1].Bytes()
			}
			return nil
		}
		if !params.Stream {
			msg, status, err := provider.Collect(st)
			if err != nil {
				fail(w, err)
				return
			}
			out, _ := awire.EncodeResponse("msg_relay", params.Model, msg, status, stopSeq(status))
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(out)
			return
		}
		sw := awire.NewStreamWriter(w, "msg_relay", params.Model)
		// The provider has read the upstream's message_start: its input
		// count goes into ours.
		_ = sw.Start(st.Status())
		for {
			d, err := st.Recv()
			if err == io.EOF {
				_ = sw.Finish(st.Status(), stopSeq(st.Status()))
				return
			}
			if err != nil {
				pe := provider.AsError(err)
				_ = sw.Fail(pe.Class, pe.Detail.Bytes())
				return
			}
			if err := sw.Delta(d); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("POST /v1/messages/count_tokens", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, params, err := awire.DecodeCountTokens(body)
		if err != nil {
			fail(w, err)
			return
		}
		n, err := p.CountTokens(r.Context(), logic.Target{Model: params.Model}, params, req)
		if err != nil {
			fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(awire.EncodeCountTokens(n))
	})
	return mux
}

func relaySDK(t *testing.T) sdk.Client {
	t.Helper()
	p, _ := setup(t, standin.Options{})
	front := httptest.NewServer(relay(p))
	t.Cleanup(front.Close)
	return sdk.NewClient(option.WithBaseURL(front.URL), option.WithAPIKey("client-key"), option.WithMaxRetries(0))
}

var lookupTool = sdk.ToolUnionParam{OfTool: &sdk.ToolParam{
	Name:        "lookup",
	InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{"query": map[string]any{"type": "string"}}},
}}

func collectSDK(t *testing.T, c sdk.Client, params sdk.MessageNewParams, streaming bool) sdk.Message {
	t.Helper()
	if !streaming {
		m, err := c.Messages.New(context.Background(), params)
		if err != nil {
			t.Fatal(err)
		}
		return *m
	}
	var m sdk.Message
	stream := c.Messages.NewStreaming(context.Background(), params)
	for stream.Next() {
		if err := m.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSDKThroughRelay(t *testing.T) {
	c := relaySDK(t)
	for _, streaming := range []bool{false, true} {
		m := collectSDK(t, c, sdk.MessageNewParams{
			Model:         "claude-standin",
			MaxTokens:     64,
			System:        []sdk.TextBlockParam{{Text: "be brief"}},
			StopSequences: []string{"stop"},
			Messages:      []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hello world stop here"))},
		}, streaming)
		if len(m.Content) != 1 || m.Content[0].Text != "echo: hello world " {
			t.Errorf("streaming=%v content %s", streaming, m.RawJSON())
		}
		if m.StopReason != sdk.StopReasonStopSequence || m.StopSequence != "stop" || m.Usage.InputTokens != 6 || m.Usage.OutputTokens != 4 || m.Model != "claude-standin" {
			t.Errorf("streaming=%v message %s", streaming, m.RawJSON())
		}
	}
}

func TestSDKToolUseThroughRelay(t *testing.T) {
	c := relaySDK(t)
	for _, streaming := range []bool{false, true} {
		params := sdk.MessageNewParams{
			Model:     "claude-standin",
			MaxTokens: 64,
			Tools:     []sdk.ToolUnionParam{lookupTool},
			Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("find cats"))},
		}
		m := collectSDK(t, c, params, streaming)
		if m.StopReason != sdk.StopReasonToolUse || len(m.Content) != 1 || m.Content[0].Type != "tool_use" {
			t.Fatalf("streaming=%v: %s", streaming, m.RawJSON())
		}
		tu := m.Content[0].AsToolUse()
		var in struct{ Query string }
		if err := json.Unmarshal(tu.Input, &in); err != nil || in.Query != "find cats" || tu.Name != "lookup" || tu.ID == "" {
			t.Errorf("streaming=%v: tool use %s", streaming, m.Content[0].RawJSON())
		}
		params.Messages = append(params.Messages, m.ToParam(), sdk.NewUserMessage(sdk.NewToolResultBlock(tu.ID, "three cats", false)))
		m = collectSDK(t, c, params, streaming)
		if len(m.Content) != 1 || m.Content[0].Text != "tool said: three cats" || m.StopReason != sdk.StopReasonEndTurn {
			t.Errorf("streaming=%v: after the tool %s", streaming, m.RawJSON())
		}
	}
}

func TestSDKErrorsThroughRelay(t *testing.T) {
	c := relaySDK(t)
	user := []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("a b c"))}
	for model, want := range map[string]int{"fail-429": 429, "fail-529": 529, "fail-400": 400} {
		_, err := c.Messages.New(context.Background(), sdk.MessageNewParams{Model: sdk.Model(model), MaxTokens: 5, Messages: user})
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != want {
			t.Errorf("%s: %v", model, err)
		}
	}
	// A request the relay's own decoder refuses.
	_, err := c.Messages.New(context.Background(), sdk.MessageNewParams{Model: "claude-standin", MaxTokens: 5, Messages: user, Temperature: sdk.Float(1.5)})
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type() != "invalid_request_error" {
		t.Errorf("bad temperature: %v", err)
	}
	stream := c.Messages.NewStreaming(context.Background(), sdk.MessageNewParams{Model: "midstream-error", MaxTokens: 5, Messages: user})
	var m sdk.Message
	for stream.Next() {
		_ = m.Accumulate(stream.Current())
	}
	if !errors.As(stream.Err(), &apiErr) || apiErr.Type() != "overloaded_error" {
		t.Errorf("midstream error: %v", stream.Err())
	}
	if len(m.Content) != 1 || m.Content[0].Text != "echo:" {
		t.Errorf("text before the error: %s", m.RawJSON())
	}
}

func TestSDKCountTokensThroughRelay(t *testing.T) {
	c := relaySDK(t)
	n, err := c.Messages.CountTokens(context.Background(), sdk.MessageCountTokensParams{
		Model:    "claude-standin",
		System:   sdk.MessageCountTokensParamsSystemUnion{OfString: sdk.String("x y")},
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("a b c"))},
	})
	if err != nil || n.InputTokens != 5 {
		t.Errorf("count tokens %v %v", n, err)
	}
}
