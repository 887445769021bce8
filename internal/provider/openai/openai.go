// Package openai is the backend for any server that speaks the OpenAI Chat
// Completions API: the OpenAI API itself and local engines (Ollama,
// llama.cpp, vLLM) through their OpenAI-compatible endpoints.
//
// What it promises: it connects only through the *http.Client it is given
// (from package egress); plain http only to loopback hosts; canceling the
// context aborts the upstream request; the encoded request body is zeroed
// once sent; failures are *provider.Error values whose Error strings name a
// class and never carry content (the backend's own message stays in Detail).
package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/secret"
	wire "github.com/inference-relay/relay/internal/wire/openai"
)

// encode is wire.EncodeUpstream; tests replace it to watch the buffer.
var encode = encodeFor

// encodeFor asks for a stream only when the client streams: a reply the
// client takes whole is cheaper to receive whole.
func encodeFor(t logic.Target, p logic.Params, r *content.Request) ([]byte, error) {
	if p.Stream {
		return wire.EncodeUpstream(t, p, r)
	}
	return wire.EncodeUpstreamUnary(t, p, r)
}

// maxReplyBody caps a non-streamed reply.
const maxReplyBody = 64 << 20

// maxErrorBody caps how much of an error response is read.
const maxErrorBody = 64 << 10

// maxModelsBody caps a GET /models response.
const maxModelsBody = 8 << 20

// Config configures one OpenAI-compatible backend.
type Config struct {
	Name    string        // backend name, e.g. "ollama", "openai"
	BaseURL string        // e.g. "http://127.0.0.1:11434/v1" or "https://api.openai.com/v1"
	APIKey  secret.Secret // empty for local engines; sent as "Authorization: Bearer"
	Client  *http.Client  // from egress; required
}

// Provider sends requests to one OpenAI-compatible backend.
type Provider struct {
	name   string
	base   string // BaseURL without a trailing slash
	key    secret.Secret
	client *http.Client
}

// Configuration errors. They name the problem, never the configured value.
var (
	ErrNoClient  = errors.New("openai provider: an HTTP client is required")
	ErrNoName    = errors.New("openai provider: a name is required")
	ErrBadURL    = fmt.Errorf("openai provider: base URL %w", egress.ErrBadURL)
	ErrPlainHTTP = fmt.Errorf("openai provider: base URL: %w", egress.ErrPlainHTTP)
)

var _ provider.Provider = (*Provider)(nil)
var _ provider.ModelLister = (*Provider)(nil)

// New validates c and returns a Provider.
func New(c Config) (*Provider, error) {
	if c.Client == nil {
		return nil, ErrNoClient
	}
	if c.Name == "" {
		return nil, ErrNoName
	}
	switch _, err := egress.CheckBaseURL(c.BaseURL); {
	case errors.Is(err, egress.ErrPlainHTTP):
		return nil, ErrPlainHTTP
	case err != nil:
		return nil, ErrBadURL
	}
	return &Provider{name: c.Name, base: strings.TrimRight(c.BaseURL, "/"), key: c.APIKey, client: c.Client}, nil
}

// Name is the backend name from the configuration.
func (p *Provider) Name() string { return p.name }

// Stream sends the request and returns once the backend has answered with
// its headers. A non-2xx answer is a *provider.Error.
func (p *Provider) Stream(ctx context.Context, t logic.Target, params logic.Params, r *content.Request) (provider.Stream, error) {
	body, err := encode(t, params, r)
	if err != nil {
		return nil, provider.Errorf(logic.ErrInvalidRequest, "the request cannot be expressed for this backend")
	}
	wb := provider.NewWipingBody(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/chat/completions", wb)
	if err != nil {
		wb.Close()
		return nil, provider.Errorf(logic.ErrInternal, "could not build the backend request")
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	if params.Stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	p.authorize(req)
	// The transport closes (and so wipes) the body once it is written.
	resp, err := p.client.Do(req)
	if err != nil {
		wb.Close()
		return nil, provider.AsError(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		wb.Close()
		return nil, errorFromResponse(resp)
	}
	if params.Stream {
		return &stream{up: wire.NewUpstreamStream(resp.Body, r)}, nil
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody+1))
	if err != nil {
		clear(raw)
		return nil, provider.AsError(err)
	}
	if len(raw) > maxReplyBody {
		clear(raw)
		return nil, provider.Errorf(logic.ErrUpstream, "the backend's reply is too large")
	}
	return &stream{up: wire.NewUpstreamResponse(raw, r)}, nil
}

// Models lists the backend's models (GET {base}/models).
func (p *Provider) Models(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/models", nil)
	if err != nil {
		return nil, provider.Errorf(logic.ErrInternal, "could not build the backend request")
	}
	req.Header.Set("Accept", "application/json")
	p.authorize(req)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, provider.AsError(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, errorFromResponse(resp)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxModelsBody+1))
	if err != nil {
		return nil, provider.AsError(err)
	}
	if len(raw) > maxModelsBody {
		return nil, provider.Errorf(logic.ErrUpstream, "the backend's model list is too large")
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, provider.Errorf(logic.ErrUpstream, "the backend's model list is malformed")
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID != "" {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}

func (p *Provider) authorize(req *http.Request) {
	if !p.key.IsEmpty() {
		req.Header.Set("Authorization", "Bearer "+string(p.key.Reveal()))
	}
}

// errorFromResponse reads at most maxErrorBody of a non-2xx response and
// closes it.
func errorFromResponse(resp *http.Response) *provider.Error {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	class, msg := wire.ParseUpstreamError(resp.StatusCode, raw)
	clear(raw)
	return &provider.Error{
		Class:     class,
		Status:    class.HTTPStatus(),
		Detail:    content.Of(msg),
		Retryable: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
	}
}

// stream adapts the wire stream to provider.Stream, turning the errors the
// wire package reports into *provider.Error.
type stream struct {
	up *wire.UpstreamStream
}

func (s *stream) Recv() (content.Delta, error) {
	d, err := s.up.Recv()
	if err == nil || err == io.EOF {
		return d, err
	}
	var se *wire.StreamError
	if errors.As(err, &se) {
		return d, &provider.Error{
			Class:     se.Class,
			Detail:    content.Of(se.Msg),
			Retryable: se.Class == logic.ErrRateLimited || se.Class == logic.ErrOverloaded || se.Class == logic.ErrUpstream || se.Class == logic.ErrTimeout,
		}
	}
	return d, provider.AsError(err)
}

func (s *stream) Status() logic.Status { return s.up.Status() }

func (s *stream) Close() error { return s.up.Close() }
