package otel

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestEndpointPolicy(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"http://127.0.0.1:4318/v1/traces", true},
		{"http://127.9.9.9:4318/v1/traces", true},
		{"http://[::1]:4318/v1/traces", true},
		{"http://[::ffff:127.0.0.1]:4318/v1/traces", true},
		{"http://localhost:4318/v1/traces", true},
		{"http://LOCALHOST/v1/traces", true},
		{"https://collector.example.com/v1/traces", true},
		{"https://10.1.2.3:4318/v1/traces", true},

		// Plain http off the host.
		{"http://10.1.2.3:4318/v1/traces", false},
		{"http://192.168.1.5/v1/traces", false},
		{"http://collector.example.com/v1/traces", false},
		{"http://0.0.0.0:4318/v1/traces", false},
		{"http://[::]:4318/v1/traces", false},
		{"http://127.0.0.1.nip.io/v1/traces", false},
		{"http://localhost.example.com/v1/traces", false},
		{"http://[fe80::1%25eth0]:4318/v1/traces", false},
		// Not a usable URL.
		{"ftp://127.0.0.1/v1/traces", false},
		{"127.0.0.1:4318", false},
		{"/v1/traces", false},
		{"https:///v1/traces", false},
		{"https:collector.example.com", false},
		{"http://%zz/", false},
		// Credentials belong in Headers.
		{"https://user:pw@collector.example.com/v1/traces", false},
	} {
		e, err := New(Config{Endpoint: tc.endpoint, Client: &http.Client{}, FlushInterval: time.Hour})
		if tc.ok {
			if err != nil {
				t.Errorf("New(%q): %v", tc.endpoint, err)
				continue
			}
			if !e.Stats().Enabled {
				t.Errorf("New(%q) is not enabled", tc.endpoint)
			}
			if err := e.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrEndpoint) {
			t.Errorf("New(%q) = %v, want ErrEndpoint", tc.endpoint, err)
		}
		if e != nil {
			t.Errorf("New(%q) returned an exporter with its error", tc.endpoint)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	const ep = "http://127.0.0.1:4318/v1/traces"
	c := &http.Client{}
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"no client", Config{Endpoint: ep}, ErrNoClient},
		{"negative batch", Config{Endpoint: ep, Client: c, BatchSize: -1}, ErrNegativeLimit},
		{"negative interval", Config{Endpoint: ep, Client: c, FlushInterval: -time.Second}, ErrNegativeLimit},
		{"negative queue", Config{Endpoint: ep, Client: c, QueueSize: -1}, ErrNegativeLimit},
		{"header name", Config{Endpoint: ep, Client: c, Headers: map[string]string{"Bad Name": "v"}}, ErrHeader},
		{"empty header name", Config{Endpoint: ep, Client: c, Headers: map[string]string{"": "v"}}, ErrHeader},
		{"header injection", Config{Endpoint: ep, Client: c, Headers: map[string]string{"X-Key": "secret-token\r\nX-Evil: 1"}}, ErrHeader},
		{"service name", Config{Endpoint: ep, Client: c, ServiceName: "my service"}, ErrServiceName},
	} {
		_, err := New(tc.cfg)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: New = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Errors name the problem, never the configured value, which may carry a
// credential.
func TestErrorsDoNotEchoConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Endpoint: "https://user:hunter2@collector.example.com/", Client: &http.Client{}},
		{Endpoint: "http://hunter2.example.com/", Client: &http.Client{}},
		{Endpoint: "http://127.0.0.1/", Client: &http.Client{}, Headers: map[string]string{"Authorization": "hunter2\n"}},
		{Endpoint: "http://127.0.0.1/", Client: &http.Client{}, Headers: map[string]string{"hunter2 ": "x"}},
	} {
		_, err := New(cfg)
		if err == nil {
			t.Fatalf("New(%+v) accepted a bad config", cfg.Endpoint)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q repeats the configured value", err)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := check(Config{Endpoint: "https://c.example.com/v1/traces", Client: &http.Client{},
		Headers: map[string]string{"authorization": "Bearer t", "content-type": "text/plain"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.serviceName != DefaultServiceName || cfg.batchSize != DefaultBatchSize ||
		cfg.interval != DefaultFlushInterval || cfg.queueSize != DefaultQueueSize {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if got := cfg.headers.Get("Authorization"); got != "Bearer t" {
		t.Errorf("Authorization = %q, want the configured value", got)
	}
	if _, ok := cfg.headers["Content-Type"]; ok {
		t.Error("a configured Content-Type survived; the exporter's own must win")
	}
}
