package canary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// The two client fronts and the two backends every success path crosses.
const (
	frontOpenAI    = "openai-front"
	frontAnthropic = "anthropic-front"
)

var fronts = []string{frontOpenAI, frontAnthropic}

// backends maps a backend's name to the model it is reached by.
var backends = []struct{ name, model string }{
	{"local", "gpt-standin"},
	{"anthropic", "claude-standin"},
}

func mode(stream bool) string {
	if stream {
		return "stream"
	}
	return "unary"
}

// openaiClient is the official OpenAI SDK pointed at base, without retries
// (a retry would double the audited requests).
func openaiClient(hc *http.Client, base, key string, opts ...ooption.RequestOption) openai.Client {
	o := []ooption.RequestOption{ooption.WithBaseURL(base + "/v1/"), ooption.WithAPIKey(key), ooption.WithMaxRetries(0), ooption.WithHTTPClient(hc)}
	return openai.NewClient(append(o, opts...)...)
}

// anthropicClient is the official Anthropic SDK pointed at base, without
// retries and without reading credentials from the environment.
func anthropicClient(hc *http.Client, base, key string, opts ...aoption.RequestOption) anthropic.Client {
	o := []aoption.RequestOption{aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(base), aoption.WithAPIKey(key), aoption.WithMaxRetries(0), aoption.WithHTTPClient(hc)}
	return anthropic.NewClient(append(o, opts...)...)
}

// chatTurns is a conversation in front-neutral form.
type chatTurns struct {
	model  string
	system string
	turns  []turn
	stop   []string
	tool   *toolDef
	max    int64
}

// turn is one message: text, or (assistant) a tool call, or (user) a tool
// result.
type turn struct {
	role     string // "user" or "assistant"
	text     string
	callID   string // assistant tool call, or the call a tool result answers
	callName string
	callArgs map[string]string
	result   string
}

type toolDef struct {
	name, description, property, propertyDoc string
}

// reply is what a client got back, in front-neutral form.
type reply struct {
	text     string
	toolName string
	toolArgs string // JSON
}

// send sends c through front with the official SDK, streamed or not.
func send(ctx context.Context, hc *http.Client, base, key, front string, stream bool, c chatTurns, hdr map[string]string, query map[string]string, jsonSet map[string]any) (reply, error) {
	if front == frontOpenAI {
		var opts []ooption.RequestOption
		for k, v := range hdr {
			opts = append(opts, ooption.WithHeader(k, v))
		}
		for k, v := range query {
			opts = append(opts, ooption.WithQuery(k, v))
		}
		for k, v := range jsonSet {
			opts = append(opts, ooption.WithJSONSet(k, v))
		}
		return sendOpenAI(ctx, openaiClient(hc, base, key), stream, c, opts)
	}
	var opts []aoption.RequestOption
	for k, v := range hdr {
		opts = append(opts, aoption.WithHeader(k, v))
	}
	for k, v := range query {
		opts = append(opts, aoption.WithQuery(k, v))
	}
	for k, v := range jsonSet {
		opts = append(opts, aoption.WithJSONSet(k, v))
	}
	return sendAnthropic(ctx, anthropicClient(hc, base, key), stream, c, opts)
}

func sendOpenAI(ctx context.Context, cl openai.Client, stream bool, c chatTurns, opts []ooption.RequestOption) (reply, error) {
	p := openai.ChatCompletionNewParams{Model: c.model}
	if c.max > 0 {
		p.MaxTokens = openai.Int(c.max)
	}
	if c.system != "" {
		p.Messages = append(p.Messages, openai.SystemMessage(c.system))
	}
	for _, t := range c.turns {
		switch {
		case t.role == "user" && t.result != "":
			p.Messages = append(p.Messages, openai.ToolMessage(t.result, t.callID))
		case t.role == "user":
			p.Messages = append(p.Messages, openai.UserMessage(t.text))
		case t.callID != "":
			args, _ := json.Marshal(t.callArgs)
			p.Messages = append(p.Messages, openai.ChatCompletionMessageParamUnion{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
				ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID:       t.callID,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: t.callName, Arguments: string(args)},
				}}},
			}})
		default:
			p.Messages = append(p.Messages, openai.ChatCompletionMessageParamUnion{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
				Content: openai.ChatCompletionAssistantMessageParamContentUnion{OfString: openai.String(t.text)},
			}})
		}
	}
	if len(c.stop) > 0 {
		p.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: c.stop}
	}
	if c.tool != nil {
		p.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:        c.tool.name,
			Description: openai.String(c.tool.description),
			Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{
				c.tool.property: map[string]any{"type": "string", "description": c.tool.propertyDoc},
			}},
		})}
	}
	var msg openai.ChatCompletionMessage
	if stream {
		s := cl.Chat.Completions.NewStreaming(ctx, p, opts...)
		defer s.Close()
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			return reply{}, err
		}
		if len(acc.Choices) == 0 {
			return reply{}, errors.New("the stream carried no choice")
		}
		msg = acc.Choices[0].Message
	} else {
		resp, err := cl.Chat.Completions.New(ctx, p, opts...)
		if err != nil {
			return reply{}, err
		}
		if len(resp.Choices) == 0 {
			return reply{}, errors.New("the reply carried no choice")
		}
		msg = resp.Choices[0].Message
	}
	r := reply{text: msg.Content}
	if len(msg.ToolCalls) > 0 {
		r.toolName, r.toolArgs = msg.ToolCalls[0].Function.Name, msg.ToolCalls[0].Function.Arguments
	}
	return r, nil
}

func sendAnthropic(ctx context.Context, cl anthropic.Client, stream bool, c chatTurns, opts []aoption.RequestOption) (reply, error) {
	p := anthropic.MessageNewParams{Model: anthropic.Model(c.model), MaxTokens: 64, StopSequences: c.stop}
	if c.max > 0 {
		p.MaxTokens = c.max
	}
	if c.system != "" {
		p.System = []anthropic.TextBlockParam{{Text: c.system}}
	}
	for _, t := range c.turns {
		switch {
		case t.role == "user" && t.result != "":
			p.Messages = append(p.Messages, anthropic.NewUserMessage(anthropic.NewToolResultBlock(t.callID, t.result, false)))
		case t.role == "user":
			p.Messages = append(p.Messages, anthropic.NewUserMessage(anthropic.NewTextBlock(t.text)))
		case t.callID != "":
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(anthropic.NewToolUseBlock(t.callID, t.callArgs, t.callName)))
		default:
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(anthropic.NewTextBlock(t.text)))
		}
	}
	if c.tool != nil {
		p.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name:        c.tool.name,
			Description: anthropic.String(c.tool.description),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{
				c.tool.property: map[string]any{"type": "string", "description": c.tool.propertyDoc},
			}},
		}}}
	}
	var msg anthropic.Message
	if stream {
		s := cl.Messages.NewStreaming(ctx, p, opts...)
		defer s.Close()
		for s.Next() {
			if err := msg.Accumulate(s.Current()); err != nil {
				return reply{}, err
			}
		}
		if err := s.Err(); err != nil {
			return reply{}, err
		}
	} else {
		m, err := cl.Messages.New(ctx, p, opts...)
		if err != nil {
			return reply{}, err
		}
		msg = *m
	}
	var r reply
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			r.text += b.Text
		case "tool_use":
			r.toolName, r.toolArgs = b.Name, string(b.Input)
		}
	}
	return r, nil
}

// apiStatus returns the HTTP status of an API error in either SDK's shape,
// or 0 when err is not one (a transport failure, a hang, a bad body).
func apiStatus(err error) int {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.StatusCode
	}
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// withTimeout runs f under a context that ends after d: every SDK call is
// bounded.
func withTimeout(d time.Duration, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return f(ctx)
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// argsQuery returns the "query" of a tool call's JSON arguments.
func argsQuery(args string) (string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(args), &m); err != nil {
		return "", fmt.Errorf("tool arguments are not a JSON object of strings: %w", err)
	}
	return m["query"], nil
}
