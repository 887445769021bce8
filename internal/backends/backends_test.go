package backends_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/inference-relay/relay/internal/backends"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/detect"
	"github.com/inference-relay/relay/internal/egress"
)

// engineServer is a local OpenAI-compatible engine listing models.
func engineServer(t *testing.T, models ...string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" {
			http.NotFound(w, r)
			return
		}
		var b strings.Builder
		b.WriteString(`{"object":"list","data":[`)
		for i, m := range models {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"id":"` + m + `"}`)
		}
		b.WriteString(`]}`)
		w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func off() *bool { f := false; return &f }

func TestBuildConfiguredAndDetected(t *testing.T) {
	configured := engineServer(t, "listed")
	detected := engineServer(t, "found")
	cfg := config.Config{Backends: []config.Backend{
		{Name: "local", Kind: config.KindOpenAICompatible, BaseURL: configured.URL + "/v1", Models: []string{"named"}},
	}}
	cfg.Defaults()
	client := egress.New(egress.LoopbackOnly).HTTPClient()
	set, err := backends.Build(context.Background(), cfg, backends.Options{Client: client, Candidates: []detect.Candidate{
		// The configured URL again: not added a second time.
		{Name: "again", BaseURL: configured.URL + "/v1"},
		{Name: "ollama", BaseURL: detected.URL + "/v1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	var names []string
	for _, i := range set.Infos {
		names = append(names, i.Name)
	}
	if !slices.Equal(names, []string{"local", "ollama"}) {
		t.Fatalf("backends %v, want local and ollama", names)
	}
	if got := set.Infos[0].Models; !slices.Equal(got, []string{"named", "listed"}) {
		t.Errorf("configured backend's models %v: the configured names, then the listed ones", got)
	}
	if !set.Infos[1].Detected || set.Infos[0].Detected {
		t.Errorf("detected flags %+v", set.Infos)
	}
	for model, backend := range map[string]string{"named": "local", "listed": "local", "found": "ollama"} {
		target, err := set.Table.Resolve(model)
		if err != nil || target.Provider != backend {
			t.Errorf("%s resolves to %+v, %v; want %s", model, target, err, backend)
		}
	}
	if len(set.Providers) != 2 || set.Weights != nil {
		t.Errorf("providers %v, weights %v", set.Providers, set.Weights)
	}
	if names := set.Names(cfg); !slices.Contains(names, "found") || !slices.Contains(names, "local") {
		t.Errorf("audit names %v", names)
	}
}

func TestBuildRefusesAConfiguredBackendItCannotUse(t *testing.T) {
	cases := map[string]struct {
		backend config.Backend
		want    string
	}{
		"no key": {config.Backend{Name: "claude", Kind: config.KindAnthropic, APIKeyEnv: "RELAY_TEST_UNSET_KEY"}, "no API key: set RELAY_TEST_UNSET_KEY"},
		"kind":   {config.Backend{Name: "odd", Kind: "odd", BaseURL: "http://127.0.0.1:1/v1"}, `unknown kind "odd"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ok := engineServer(t, "m")
			cfg := config.Config{Autodetect: off(), Backends: []config.Backend{
				{Name: "first", Kind: config.KindOpenAICompatible, BaseURL: ok.URL + "/v1"}, c.backend,
			}}
			_, err := backends.Build(context.Background(), cfg, backends.Options{
				Client: egress.New(egress.LoopbackOnly).HTTPClient(),
				Getenv: func(string) string { return "" },
			})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.backend.Name) {
				t.Fatalf("err %v, want one naming %q and saying %q", err, c.backend.Name, c.want)
			}
		})
	}
}

func TestEngineAuditWithoutAnEngine(t *testing.T) {
	doc := backends.EngineAudit(nil, nil)
	if ch, ok := doc["children"].([]backends.EngineChild); !ok || len(ch) != 0 {
		t.Errorf("children %#v, want an empty list", doc["children"])
	}
	if w, ok := doc["weights_verified_at_start"].([]backends.ModelState); !ok || w != nil {
		t.Errorf("weights %#v", doc["weights_verified_at_start"])
	}
	for _, k := range []string{"relay_process", "measured_at"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
}
