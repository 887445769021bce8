package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func (h *harness) get(t *testing.T, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", h.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.Key)
	resp := h.do(t, req)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return body
}

func (h *harness) chat(t *testing.T, model string) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.URL+"/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.Key)
	resp := h.do(t, req)
	io.Copy(io.Discard, resp.Body)
}

// TestAuditReportsMeasuredState: /audit reads its answers from the running
// process — the socket table, probes of its own guards, the audit chain's
// head — so they change when the state does.
func TestAuditReportsMeasuredState(t *testing.T) {
	h := newHarness(t)
	var doc struct {
		Listeners struct {
			Sockets []struct {
				Addr     string `json:"addr"`
				Loopback bool   `json:"loopback"`
			} `json:"sockets"`
			NonLoopback bool `json:"non_loopback"`
		} `json:"listeners"`
		Auth struct {
			Keys            int `json:"keys"`
			Unauthenticated struct {
				Enforced bool `json:"enforced"`
				Status   int  `json:"status"`
			} `json:"unauthenticated"`
		} `json:"auth"`
		HostGuard   struct{ Enforced bool } `json:"host_guard"`
		OriginGuard struct{ Enforced bool } `json:"origin_guard"`
		AuditChain  struct {
			Records int64  `json:"records"`
			Head    string `json:"head"`
		} `json:"audit_chain"`
		Protections map[string]json.RawMessage `json:"protections"`
	}
	if err := json.Unmarshal(h.get(t, "/audit"), &doc); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(h.URL)
	found := false
	for _, s := range doc.Listeners.Sockets {
		if s.Addr == u.Host && s.Loopback {
			found = true
		}
	}
	if !found || doc.Listeners.NonLoopback {
		t.Errorf("listeners %+v do not show this server's loopback socket %s", doc.Listeners, u.Host)
	}
	if doc.Auth.Keys != 1 || !doc.Auth.Unauthenticated.Enforced || doc.Auth.Unauthenticated.Status != 401 {
		t.Errorf("auth %+v", doc.Auth)
	}
	if !doc.HostGuard.Enforced || !doc.OriginGuard.Enforced {
		t.Errorf("guards host=%v origin=%v", doc.HostGuard.Enforced, doc.OriginGuard.Enforced)
	}
	if _, ok := doc.Protections["dumpable"]; !ok {
		t.Errorf("protections missing: %v", doc.Protections)
	}
	before := doc.AuditChain.Records

	// The self-probes above are not audited; real requests are.
	h.chat(t, "gpt-standin")
	h.chat(t, "no-such-model")
	if err := json.Unmarshal(h.get(t, "/audit"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AuditChain.Records != before+2 || len(doc.AuditChain.Head) != 64 {
		t.Fatalf("audit chain went from %d to %d records (head %q), want +2", before, doc.AuditChain.Records, doc.AuditChain.Head)
	}
}

func TestMetricsCountRequests(t *testing.T) {
	h := newHarness(t)
	h.chat(t, "gpt-standin")
	h.chat(t, "no-such-model")
	body := string(h.get(t, "/metrics"))
	for _, want := range []string{
		`relay_requests_total{error="none",model="gpt-standin",provider="local",status="2xx"} 1`,
		`relay_requests_total{error="not_found",model="unknown",provider="unknown",status="4xx"} 1`,
		`relay_tokens_total{direction="output",model="gpt-standin",provider="local"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "no-such-model") {
		t.Error("a client-supplied model name reached the metrics")
	}
}
