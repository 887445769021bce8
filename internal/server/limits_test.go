package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/auth"
	"github.com/inference-relay/relay/internal/backends"
	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/server"
	sopenai "github.com/inference-relay/relay/internal/standin/openai"
)

// hangGuard bounds every wait in these tests. It only turns a hang into a
// failure; nothing here asserts how long anything took.
const hangGuard = 30 * time.Second

type testRelay struct {
	addr string
	key  string
	srv  *server.Server
	gate *server.ConnGate
}

// startRelay serves the relay's handler the way relay.go does: on a
// loopback listener behind a ConnGate, with the same http.Server limits,
// except that the read timeout is an hour, so that any connection closed
// during a test was closed by the guards, not by a timeout.
func startRelay(t *testing.T, lim server.ConnLimits, recs ...server.Recorder) *testRelay {
	t.Helper()
	up := httptest.NewServer(sopenai.New(sopenai.Options{}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	keys, err := auth.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := keys.Create("test")
	if err != nil {
		t.Fatal(err)
	}
	off := false
	cfg := config.Config{StateDir: dir, Autodetect: &off, ReadTimeout: config.Duration{Duration: time.Hour},
		Backends: []config.Backend{{Name: "local", Kind: config.KindOpenAICompatible, BaseURL: up.URL + "/v1"}}}
	cfg.Defaults()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	b, err := backends.Build(ctx, cfg, backends.Options{Client: up.Client()})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Config: cfg, Keys: keys, Backends: &b.Backends, Recorders: recs})
	if lim.Refused == nil {
		lim.Refused = srv.CountRefusal
	}
	gate := server.NewConnGate(lim)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: cfg.ReadTimeout.Duration}
	go hs.Serve(gate.Listener(ln, true))
	t.Cleanup(func() { hs.Close() })
	return &testRelay{addr: ln.Addr().String(), key: key, srv: srv, gate: gate}
}

// stalled sends a POST's headers, declaring a body of 1000 bytes, and
// never the body.
func (tr *testRelay) stalled(t *testing.T, withKey bool, extra string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", tr.addr)
	if err != nil {
		t.Fatal(err)
	}
	hdr := "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n" + extra
	if withKey {
		hdr += "Authorization: Bearer " + tr.key + "\r\n"
	}
	if _, err := io.WriteString(c, hdr+"\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// readReplyThenEOF reads one response from c and then expects the server
// to close the connection.
func readReplyThenEOF(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	resp, err := replyThenEOF(c)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func replyThenEOF(c net.Conn) (*http.Response, error) {
	_ = c.SetReadDeadline(time.Now().Add(hangGuard))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("no reply: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reply body: %w", err)
	}
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	if _, err := br.ReadByte(); err != io.EOF {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, errors.New("the server kept the refused connection open")
		}
		if err == nil {
			return nil, errors.New("the server sent more after its reply")
		}
	}
	return resp, nil
}

func (tr *testRelay) chat(t *testing.T, client *http.Client) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+tr.addr+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-standin","messages":[{"role":"user","content":"hi"}],"max_tokens":3}`))
	req.Header.Set("Authorization", "Bearer "+tr.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("keyed request not answered: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("keyed request: status %d", resp.StatusCode)
	}
}

// A request refused at the guard is answered and its connection closed at
// once, without waiting for the body it declared.
func TestRefusedRequestIsClosedUnread(t *testing.T) {
	tr := startRelay(t, server.ConnLimits{Max: 64, PerUID: 64})
	for _, tc := range []struct {
		name  string
		extra string
		key   bool
		want  int
	}{
		{"no key", "", false, 401},
		{"wrong key", "X-Api-Key: relay-wrong\r\n", false, 401},
		{"foreign origin", "Origin: https://evil.example\r\n", true, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tr.stalled(t, tc.key, tc.extra)
			defer c.Close()
			resp := readReplyThenEOF(t, c)
			if resp.StatusCode != tc.want || !resp.Close {
				t.Errorf("status %d, Connection: close %v; want %d and close", resp.StatusCode, resp.Close, tc.want)
			}
		})
	}
}

// Many connections that send headers and never a body, with and without a
// key, while a keyed client keeps being served. The caps are small, so
// refused connections that stayed open would soon take every slot.
func TestStalledBodiesDoNotStarveKeyedClients(t *testing.T) {
	const keyedStalls = 8
	tr := startRelay(t, server.ConnLimits{Max: 32, PerUID: 32})
	client := &http.Client{Timeout: hangGuard}
	defer client.CloseIdleConnections()

	// Keyed stalls hold their connection (until read_timeout, an hour here).
	var held []net.Conn
	for range keyedStalls {
		held = append(held, tr.stalled(t, true, ""))
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 4 {
		wg.Go(func() {
			for i := range 100 {
				c, err := net.Dial("tcp", tr.addr)
				if err != nil {
					errs <- err
					return
				}
				_, _ = fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-Probe: %d-%d\r\n\r\n", w, i)
				resp, err := replyThenEOF(c)
				c.Close()
				if err != nil {
					errs <- err
					return
				}
				if resp.StatusCode != 401 {
					errs <- fmt.Errorf("stalled keyless request: status %d", resp.StatusCode)
				}
			}
		})
	}
	for range 50 {
		tr.chat(t, client)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// 400 keyless connections came and went, more than ten times the cap;
	// the keyed client was served throughout. What is still open is the
	// keyed stalls and the client's own connection.
	if total, _ := tr.gate.Open(0); total > keyedStalls+2 {
		t.Errorf("%d connections open, want at most %d", total, keyedStalls+2)
	}
	if sum := tr.srv.FlushRefusals(); sum.Counts[audit.RefusedAuth] != 400 {
		t.Errorf("refusals counted: %+v, want 400 auth", sum.Counts)
	}
}

// Beyond the process cap a connection gets a 503 in a neutral JSON body,
// written before anything is read, and is closed; a slot freed is reused.
func TestConnectionCap(t *testing.T) {
	tr := startRelay(t, server.ConnLimits{Max: 3, PerUID: 3})
	var idle []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", tr.addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	waitOpen(t, tr.gate, 3)
	c := tr.stalled(t, true, "")
	resp := readReplyThenEOF(t, c)
	c.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"reason":"conn_limit"`) || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("beyond the cap: %d %s", resp.StatusCode, body)
	}
	idle[0].Close()
	waitOpen(t, tr.gate, 2)
	client := &http.Client{Timeout: hangGuard}
	tr.chat(t, client)
	client.CloseIdleConnections()
	for _, c := range idle[1:] {
		c.Close()
	}
	if sum := tr.srv.FlushRefusals(); sum.Counts[audit.RefusedConnLimit] != 1 {
		t.Errorf("refusals counted: %+v, want 1 conn_limit", sum.Counts)
	}
}

// One user's connections cannot take the slots of another. The peer's uid
// is told here by its source address (127.0.0.2 is uid 1000, 127.0.0.3 is
// uid 1001); TestPeerUIDLoopback in measure covers the real lookup.
func TestPerUIDCap(t *testing.T) {
	fake := func(_, remote netip.AddrPort) (uint32, error) {
		switch remote.Addr() {
		case netip.MustParseAddr("127.0.0.2"):
			return 1000, nil
		case netip.MustParseAddr("127.0.0.3"):
			return 1001, nil
		}
		return 0, errors.New("unknown")
	}
	tr := startRelay(t, server.ConnLimits{Max: 10, PerUID: 2, PeerUID: fake})
	dial := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", tr.addr)
		if err != nil {
			t.Skipf("cannot bind %s: %v", src, err)
		}
		return c
	}
	a1, a2 := dial("127.0.0.2"), dial("127.0.0.2")
	defer a1.Close()
	defer a2.Close()
	waitOpenUID(t, tr.gate, 1000, 2)
	a3 := dial("127.0.0.2")
	if _, err := io.WriteString(a3, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp := readReplyThenEOF(t, a3)
	a3.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"reason":"uid_limit"`) {
		t.Errorf("third connection of uid 1000: %d %s", resp.StatusCode, body)
	}
	// Another user still gets in.
	b := dial("127.0.0.3")
	defer b.Close()
	if _, err := io.WriteString(b, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if resp := readReplyThenEOF(t, b); resp.StatusCode != 200 {
		t.Errorf("uid 1001: status %d, want 200", resp.StatusCode)
	}
}

func waitOpen(t *testing.T, g *server.ConnGate, n int) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		if total, _ := g.Open(0); total == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gate never counted %d open connections", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitOpenUID(t *testing.T, g *server.ConnGate, uid uint32, n int) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		if _, u := g.Open(uid); u == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gate never counted %d connections of uid %d", n, uid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
