// Command bigprog is a test fixture for binscan: a program of realistic size
// for the relay binary (net/http, crypto/tls, encoding/json and both vendor
// SDKs) that holds no secrets, so binscan must report nothing on it. It is
// built by the binscan tests and never run.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
)

func main() {
	// The key comes from the environment, as in the relay: nothing secret is
	// compiled in.
	key := os.Getenv("BIGPROG_KEY")
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	ctx := context.Background()
	if len(os.Args) > 1 && os.Args[1] == "openai" {
		c := openai.NewClient(ooption.WithAPIKey(key), ooption.WithHTTPClient(hc))
		s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:    openai.ChatModelGPT4o,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(os.Args[2])},
		})
		for s.Next() {
			b, _ := json.Marshal(s.Current())
			os.Stdout.Write(b)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "anthropic" {
		c := anthropic.NewClient(aoption.WithAPIKey(key), aoption.WithHTTPClient(hc))
		s := c.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
			Model:     anthropic.ModelClaudeSonnet4_5,
			MaxTokens: 64,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(os.Args[2]))},
		})
		for s.Next() {
			b, _ := json.Marshal(s.Current())
			os.Stdout.Write(b)
		}
		return
	}
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()}
	fmt.Println(srv.Addr)
}
