package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/inference-relay/relay"
	"github.com/inference-relay/relay/internal/auth"
	santhropic "github.com/inference-relay/relay/internal/standin/anthropic"
	sopenai "github.com/inference-relay/relay/internal/standin/openai"
)

const upstreamKey = "upstream-test-key"

// harness is a running relay in front of both stand-ins.
type harness struct {
	URL       string // the relay's base URL
	Key       string // a valid relay API key
	OpenAI    *sopenai.Server
	Anthropic *santhropic.Server
	Relay     *relay.Client
}

// backendKinds are the backends each client is tested against: an
// OpenAI-compatible engine on loopback and the Anthropic API.
var backendKinds = []struct {
	name  string
	model string
}{
	{"openai-compatible", "gpt-standin"},
	{"anthropic", "claude-standin"},
}

func newHarness(t *testing.T, tweak ...func(*relay.Config)) *harness {
	t.Helper()
	oa := sopenai.New(sopenai.Options{})
	an := santhropic.New(santhropic.Options{APIKey: upstreamKey})
	oaSrv := httptest.NewServer(oa)
	anSrv := httptest.NewServer(an)
	t.Cleanup(oaSrv.Close)
	t.Cleanup(anSrv.Close)
	t.Setenv("TEST_ANTHROPIC_KEY", upstreamKey)

	dir := t.TempDir()
	store, err := auth.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := store.Create("test")
	if err != nil {
		t.Fatal(err)
	}
	off := false
	cfg := relay.Config{
		StateDir:   dir,
		Autodetect: &off,
		Backends: []relay.Backend{
			{Name: "local", Kind: "openai-compatible", BaseURL: oaSrv.URL + "/v1"},
			{Name: "anthropic", Kind: "anthropic", BaseURL: anSrv.URL, APIKeyEnv: "TEST_ANTHROPIC_KEY", Models: []string{"claude-standin"}},
		},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return &harness{URL: srv.URL, Key: key, OpenAI: oa, Anthropic: an, Relay: r}
}

func (h *harness) do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
