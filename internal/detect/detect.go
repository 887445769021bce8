// Package detect finds local inference engines on their usual loopback
// ports by asking each for its model list (GET /v1/models). It only ever
// probes loopback addresses.
package detect

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/inference-relay/relay/internal/egress"
)

// Candidate is a place an engine usually listens.
type Candidate struct {
	Name    string // backend name to use when found
	BaseURL string // OpenAI-compatible base, ending in /v1
}

// Usual are the engines' default ports.
var Usual = []Candidate{
	{Name: "ollama", BaseURL: "http://127.0.0.1:11434/v1"},
	{Name: "lmstudio", BaseURL: "http://127.0.0.1:1234/v1"},
	{Name: "llamacpp", BaseURL: "http://127.0.0.1:8080/v1"},
	{Name: "vllm", BaseURL: "http://127.0.0.1:8000/v1"},
	{Name: "jan", BaseURL: "http://127.0.0.1:1337/v1"},
}

// Found is an engine that answered.
type Found struct {
	Candidate
	Models []string
}

// Probe asks every candidate in parallel, each with timeout, and returns
// those that answered with a model list, in candidate order. Candidates
// that are not loopback are skipped.
func Probe(ctx context.Context, client *http.Client, cands []Candidate, timeout time.Duration) []Found {
	var (
		mu    sync.Mutex
		found = make(map[int]Found)
		wg    sync.WaitGroup
	)
	for i, c := range cands {
		u, err := url.Parse(c.BaseURL)
		if err != nil || !egress.IsLoopbackHost(u.Hostname()) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			models, ok := probe(ctx, client, c.BaseURL, timeout)
			if ok {
				mu.Lock()
				found[i] = Found{Candidate: c, Models: models}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	idx := make([]int, 0, len(found))
	for i := range found {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]Found, 0, len(idx))
	for _, i := range idx {
		out = append(out, found[i])
	}
	return out
}

func probe(ctx context.Context, client *http.Client, base string, timeout time.Duration) ([]string, bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/models", nil)
	if err != nil {
		return nil, false
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&list); err != nil {
		return nil, false
	}
	models := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID != "" {
			models = append(models, m.ID)
		}
	}
	return models, true
}
