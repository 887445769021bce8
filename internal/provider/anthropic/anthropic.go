// Package anthropic is the backend for the Anthropic Messages API: it sends
// requests to api.anthropic.com (or a compatible endpoint), streams the
// replies back as content deltas, lists models and counts tokens.
//
// It promises: every request goes through the *http.Client it was given
// (from egress); the API key leaves only in the x-api-key header; plain
// http is refused unless the host is loopback; the encoded request body is
// zeroed once sent; canceling the context aborts the upstream request; and
// failures come back as *provider.Error whose Detail (the upstream's
// message, which may echo content) never reaches an error string.
package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/egress"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/secret"
	wire "github.com/inference-relay/relay/internal/wire/anthropic"
)

const (
	// DefaultBaseURL is the Anthropic API.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultVersion is the anthropic-version header sent when none is
	// configured.
	DefaultVersion = "2023-06-01"
	// maxErrorBody caps how much of an error response is read.
	maxErrorBody = 64 << 10
	// maxModelPages bounds the pages Models follows.
	maxModelPages = 50
)

// Config configures a Provider.
type Config struct {
	Name    string        // e.g. "anthropic"
	BaseURL string        // DefaultBaseURL when empty; http only for loopback hosts
	APIKey  secret.Secret // sent as x-api-key when set
	Version string        // anthropic-version header; DefaultVersion when empty
	Client  *http.Client  // from egress; required
}

// Provider talks to one Anthropic-compatible endpoint.
type Provider struct {
	name    string
	base    string // without a trailing slash
	key     secret.Secret
	version string
	client  *http.Client
}

var (
	_ provider.Provider     = (*Provider)(nil)
	_ provider.ModelLister  = (*Provider)(nil)
	_ provider.TokenCounter = (*Provider)(nil)
)

// New checks c and returns a Provider.
func New(c Config) (*Provider, error) {
	if c.Client == nil {
		return nil, errors.New("anthropic: an HTTP client is required")
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := egress.CheckBaseURL(base)
	if err != nil {
		return nil, fmt.Errorf("anthropic: base URL %w", err)
	}
	version := c.Version
	if version == "" {
		version = DefaultVersion
	}
	return &Provider{name: c.Name, base: strings.TrimSuffix(u.String(), "/"), key: c.APIKey, version: version, client: c.Client}, nil
}

// Name is the configured backend name.
func (p *Provider) Name() string { return p.name }

// newRequest builds a request to path with the auth and version headers.
// body may be nil.
func (p *Provider) newRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = provider.NewWipingBody(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("anthropic-version", p.version)
	if !p.key.IsEmpty() {
		req.Header["X-Api-Key"] = []string{string(p.key.Reveal())}
	}
	return req, nil
}

// do sends req and turns a transport failure or a non-2xx answer into a
// *provider.Error. On success the caller owns the response body.
func (p *Provider) do(req *http.Request) (*http.Response, error) {
	resp, err := p.client.Do(req)
	if err != nil {
		if cerr := req.Context().Err(); cerr != nil {
			err = cerr
		}
		return nil, provider.AsError(err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	class, msg := wire.ParseUpstreamError(resp.StatusCode, body)
	clear(body)
	e := &provider.Error{
		Class:     class,
		Detail:    content.Of(msg),
		Retryable: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
	}
	if resp.StatusCode == 529 {
		e.Status = resp.StatusCode
	}
	return nil, e
}

// Stream sends r to POST {base}/v1/messages as a streaming request and
// returns once the upstream has sent message_start: Status then already
// holds the model and the input usage.
func (p *Provider) Stream(ctx context.Context, t logic.Target, params logic.Params, r *content.Request) (provider.Stream, error) {
	body, err := wire.EncodeUpstream(t, params, r)
	if err != nil {
		return nil, provider.Errorf(logic.ErrInvalidRequest, "the request cannot be sent to this backend")
	}
	req, err := p.newRequest(ctx, http.MethodPost, "/v1/messages", body)
	if err != nil {
		clear(body)
		return nil, provider.Errorf(logic.ErrInternal, "the backend request could not be built")
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := p.do(req)
	if err != nil {
		return nil, err
	}
	s := &stream{ctx: ctx, up: wire.NewUpstreamStream(resp.Body, r)}
	// The API reports some failures (overloaded) as the first event of a
	// 200 stream: read up to message_start so they still count as the
	// request failing, before any content went to the client.
	if err := s.up.WaitStart(); err != nil {
		s.up.Close()
		return nil, s.convert(err)
	}
	return s, nil
}

// stream turns the wire stream's errors into *provider.Error.
type stream struct {
	ctx context.Context
	up  *wire.UpstreamStream
}

func (s *stream) Recv() (content.Delta, error) {
	d, err := s.up.Recv()
	if err == nil || err == io.EOF {
		return d, err
	}
	return d, s.convert(err)
}

// convert turns a wire error into a *provider.Error.
func (s *stream) convert(err error) error {
	var se *wire.StreamError
	if errors.As(err, &se) {
		msg := se.Msg
		if len(msg) == 0 {
			msg = []byte("the backend reported an error in the middle of the reply")
		}
		pe := provider.Errorf(se.Class, "")
		pe.Detail = content.Of(msg)
		return pe
	}
	return provider.AsError(contextOr(s.ctx, err))
}

func (s *stream) Status() logic.Status { return s.up.Status() }
func (s *stream) Close() error         { return s.up.Close() }

// Models lists the model ids from GET {base}/v1/models, following pages.
func (p *Provider) Models(ctx context.Context) ([]string, error) {
	var ids []string
	after := ""
	for range maxModelPages {
		path := "/v1/models?limit=1000"
		if after != "" {
			path += "&after_id=" + url.QueryEscape(after)
		}
		req, err := p.newRequest(ctx, http.MethodGet, path, nil)
		if err != nil {
			return nil, provider.Errorf(logic.ErrInternal, "the backend request could not be built")
		}
		resp, err := p.do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			HasMore bool   `json:"has_more"`
			LastID  string `json:"last_id"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, provider.AsError(contextOr(ctx, err))
		}
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if !page.HasMore || page.LastID == "" || page.LastID == after {
			return ids, nil
		}
		after = page.LastID
	}
	return ids, nil
}

// CountTokens asks POST {base}/v1/messages/count_tokens for the input
// tokens of r.
func (p *Provider) CountTokens(ctx context.Context, t logic.Target, _ logic.Params, r *content.Request) (int, error) {
	body, err := wire.EncodeUpstreamCountTokens(t, r)
	if err != nil {
		return 0, provider.Errorf(logic.ErrInvalidRequest, "the request cannot be sent to this backend")
	}
	req, err := p.newRequest(ctx, http.MethodPost, "/v1/messages/count_tokens", body)
	if err != nil {
		clear(body)
		return 0, provider.Errorf(logic.ErrInternal, "the backend request could not be built")
	}
	resp, err := p.do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		InputTokens *int `json:"input_tokens"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return 0, provider.AsError(contextOr(ctx, err))
	}
	if out.InputTokens == nil {
		return 0, provider.Errorf(logic.ErrUpstream, "the backend answered nonsense")
	}
	return *out.InputTokens, nil
}

// contextOr prefers the context's error, so a canceled read is reported as
// a cancellation and not as a malformed answer.
func contextOr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}
