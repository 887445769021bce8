package detect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/egress"
)

func TestProbe(t *testing.T) {
	engine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"object":"list","data":[{"id":"llama3.2"},{"id":"qwen3"},{"id":""}]}`))
	}))
	defer engine.Close()
	var slowHits atomic.Int32
	// The slow candidate answers only when the test ends, so a Probe that
	// waited for it would never return: no timing is needed to tell.
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHits.Add(1)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer close(stop)
	defer slow.Close()
	notEngine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>hello</html>"))
	}))
	defer notEngine.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	client := egress.New(egress.LoopbackOnly).HTTPClient()
	found := Probe(context.Background(), client, []Candidate{
		{Name: "gone", BaseURL: closedURL + "/v1"},
		{Name: "web", BaseURL: notEngine.URL + "/v1"},
		{Name: "slow", BaseURL: slow.URL + "/v1"},
		{Name: "remote", BaseURL: "http://example.com/v1"},
		{Name: "ollama", BaseURL: engine.URL + "/v1"},
	}, 300*time.Millisecond)
	if len(found) != 1 || found[0].Name != "ollama" {
		t.Fatalf("found %+v, want only ollama", found)
	}
	if got := found[0].Models; len(got) != 2 || got[0] != "llama3.2" || got[1] != "qwen3" {
		t.Fatalf("models %v", got)
	}
	if slowHits.Load() != 1 {
		t.Fatal("the slow candidate was not probed")
	}
}

func TestUsualAreLoopback(t *testing.T) {
	for _, c := range Usual {
		if c.BaseURL[:len("http://127.0.0.1:")] != "http://127.0.0.1:" {
			t.Errorf("%s probes %s, not loopback", c.Name, c.BaseURL)
		}
	}
}
