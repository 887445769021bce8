package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/inference-relay/relay/internal/discovery"
	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/wire/sse"
)

// remote is the relay server running for a state directory, as the
// command-line tools reach it: its loopback URL and its local token, read
// from the discovery file. Nothing else can connect through it: the client
// dials loopback only.
type remote struct {
	info   discovery.Info
	client *http.Client
}

// findServer returns the server running for stateDir, or nil when none
// runs. A discovery file that cannot be trusted is an error that says why.
func findServer(stateDir string) (*remote, error) {
	info, err := discovery.Find(stateDir)
	switch {
	case errors.Is(err, discovery.ErrNotRunning):
		return nil, nil
	case err != nil:
		return nil, &exitError{code: 1, msg: err.Error()}
	}
	return &remote{info: info, client: egress.New(egress.LoopbackOnly).HTTPClient()}, nil
}

func (r *remote) do(ctx context.Context, method, path string, body any, header map[string]string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.info.URL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.info.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the relay server (pid %d, %s) did not answer: %w", r.info.PID, r.info.URL, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, apiError(resp)
	}
	return resp, nil
}

// apiError turns an error answer (either API's shape) into an error with
// the server's message.
func apiError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return fmt.Errorf("%s (HTTP %d)", e.Error.Message, resp.StatusCode)
	}
	return fmt.Errorf("the relay server answered HTTP %d", resp.StatusCode)
}

// models lists the model ids the server routes.
func (r *remote) models(ctx context.Context) ([]string, error) {
	resp, err := r.do(ctx, http.MethodGet, "/v1/models", nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID      string `json:"id"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("the relay server's model list: %w", err)
	}
	out := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		out = append(out, m.ID)
	}
	return out, nil
}

// engineChild is one engine child as the server's GET /audit measures it.
type engineChild struct {
	Pid       int    `json:"pid"`
	Confined  bool   `json:"confined"`
	NoNetwork bool   `json:"no_network"`
	Problem   string `json:"problem"`
}

// engineChildren reads the engine section of the server's GET /audit; ok
// is false when the server has no engine section.
func (r *remote) engineChildren(ctx context.Context) (children []engineChild, ok bool, err error) {
	resp, err := r.do(ctx, http.MethodGet, "/audit", nil, nil)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	var doc struct {
		Engine *struct {
			Children []engineChild `json:"children"`
		} `json:"engine"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, false, fmt.Errorf("the relay server's /audit: %w", err)
	}
	if doc.Engine == nil {
		return nil, false, nil
	}
	return doc.Engine.Children, true, nil
}

// newSessionID names a chat's RAM session on the server.
func newSessionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "relay-chat-" + hex.EncodeToString(b[:])
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatTurn sends one user turn in session (the server keeps the
// conversation, in RAM) and streams the reply's text to out as it comes.
func (r *remote) chatTurn(ctx context.Context, session, model, system, text string, maxTokens int, out io.Writer) (string, error) {
	msgs := []chatMessage{}
	if system != "" {
		msgs = append(msgs, chatMessage{Role: "system", Content: system})
	}
	msgs = append(msgs, chatMessage{Role: "user", Content: text})
	body := map[string]any{"model": model, "stream": true, "messages": msgs, "max_completion_tokens": maxTokens}
	var hdr map[string]string
	if session != "" {
		hdr = map[string]string{"X-Relay-Session": session}
	}
	resp, err := r.do(ctx, http.MethodPost, "/v1/chat/completions", body, hdr)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var reply strings.Builder
	events := sse.NewReader(resp.Body)
	for {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			return reply.String(), nil
		}
		if err != nil {
			return reply.String(), fmt.Errorf("the reply was cut off: %w", err)
		}
		if string(ev.Data) == "[DONE]" {
			return reply.String(), nil
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(ev.Data, &chunk); err != nil {
			return reply.String(), fmt.Errorf("the relay server sent an unreadable event: %w", err)
		}
		if chunk.Error != nil {
			return reply.String(), errors.New(chunk.Error.Message)
		}
		for _, c := range chunk.Choices {
			reply.WriteString(c.Delta.Content)
			io.WriteString(out, c.Delta.Content)
		}
	}
}

// endSession ends a chat's session on the server (its history is wiped).
func (r *remote) endSession(ctx context.Context, session string) error {
	resp, err := r.do(ctx, http.MethodPost, "/v1/session/end", map[string]string{"session_id": session}, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
