package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/egress"
)

func TestCheckLoopback(t *testing.T) {
	ok := []string{
		"http://127.0.0.1:8080/v1/chat/completions",
		"http://127.4.5.6/",
		"https://[::1]:9/x",
		"http://localhost:1234",
		"http://LOCALHOST/",
		"http://[::ffff:127.0.0.1]:80/",
	}
	for _, u := range ok {
		if err := CheckLoopback(u); err != nil {
			t.Errorf("CheckLoopback(%q) = %v, want nil", u, err)
		}
	}
	bad := []string{
		"http://10.0.0.1/",
		"http://192.0.2.1:8080/v1/chat/completions",
		"http://[2001:db8::1]/",
		"http://[::ffff:8.8.8.8]/",
		"http://0.0.0.0:80/",
		"http://example.com/",
		"http://localhost.example.com/",
		"ftp://127.0.0.1/",
		"127.0.0.1:80",
		"",
	}
	for _, u := range bad {
		if err := CheckLoopback(u); err == nil {
			t.Errorf("CheckLoopback(%q) = nil, want a refusal", u)
		}
	}
}

func TestRunRefusesNonLoopbackTargets(t *testing.T) {
	for _, u := range []string{"http://192.0.2.1:9/v1/chat/completions", "http://example.com/"} {
		res, err := Run(context.Background(), Request{URL: u}, Config{Rate: 10, Duration: time.Second})
		if !errors.Is(err, ErrNotLoopback) || res != nil {
			t.Errorf("Run(%q) = %v, %v; want nil, ErrNotLoopback", u, res, err)
		}
	}
}

func TestClientCannotDialOutsideLoopback(t *testing.T) {
	// Even a request that got past CheckLoopback could not leave the
	// machine: the dialer's policy refuses the address before connecting.
	resp, err := NewClient(4).Get("http://192.0.2.1:9/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("request to a non-loopback address succeeded")
	}
	if !errors.Is(err, egress.ErrBlocked) {
		t.Errorf("err = %v, want egress.ErrBlocked", err)
	}
}

func TestRunBounds(t *testing.T) {
	u := "http://127.0.0.1:9/"
	for _, cfg := range []Config{
		{Rate: 0, Duration: time.Second},
		{Rate: 10, Duration: 0},
		{Rate: 10, Duration: MaxDuration + time.Second},
		{Rate: MaxRequests, Duration: 2 * time.Second},
	} {
		if _, err := Run(context.Background(), Request{URL: u}, cfg); err == nil {
			t.Errorf("Run with %+v: no error", cfg)
		}
	}
}

// TestRunIsOpenLoop offers 200 requests/s for 0.5s to a server that holds
// every request until all 100 have arrived. An open-loop generator sends
// each on its schedule, whatever the replies do, so all 100 reach the
// server while none has been answered; a closed loop would wait for a reply
// before sending more and never get there. Nothing here depends on how
// fast the machine is: the only clock is the hang guard.
func TestRunIsOpenLoop(t *testing.T) {
	const want = 100
	var mu sync.Mutex
	inFlight, peak, arrived := 0, 0, 0
	all := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		inFlight++
		peak = max(peak, inFlight)
		if arrived == want {
			close(all)
		}
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()

	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Run(context.Background(), Request{URL: srv.URL}, Config{Rate: 200, Duration: 500 * time.Millisecond, Timeout: 2 * time.Minute})
		done <- outcome{res, err}
	}()
	select {
	case <-all:
	case <-time.After(time.Minute): // a hang guard, not a timing
		close(release)
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("only %d of %d requests reached the server while none was answered: the generator waits for replies (closed loop)", arrived, want)
	}
	close(release)
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	res := o.res
	if res.Sent != want || res.OK != want || res.Errors != 0 {
		t.Fatalf("sent %d, ok %d, errors %d (%v); want %d, %d, 0", res.Sent, res.OK, res.Errors, res.ErrorKinds, want, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak != want {
		t.Errorf("at most %d requests were in the server at once, want all %d (open loop)", peak, want)
	}
	if len(res.Latencies) != want {
		t.Errorf("%d latency samples, want %d", len(res.Latencies), want)
	}
}

// TestLatencyCountsFromTheScheduledTime: a request the generator started
// late is charged for the delay (no coordinated omission).
func TestLatencyCountsFromTheScheduledTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	now := time.Now()
	late := now.Add(-150 * time.Millisecond)
	s := one(context.Background(), NewClient(4), time.Second, Request{URL: srv.URL}, late, late)
	if s.errKind != "" {
		t.Fatalf("request failed: %s", s.errKind)
	}
	if s.lag < 150*time.Millisecond || s.latency < 150*time.Millisecond {
		t.Errorf("lag %v, latency %v; both must include the 150ms the send was late", s.lag, s.latency)
	}
}

func TestRunMeasuresTimeToFirstToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		w.Write([]byte(`data: {"choices":[{"delta":{"role":"assistant","content":""}}]}` + "\n\n"))
		f.Flush()
		time.Sleep(60 * time.Millisecond)
		w.Write([]byte(`data: {"choices":[{"delta":{"content":"hi"}}]}` + "\n\n"))
		f.Flush()
		time.Sleep(60 * time.Millisecond)
		w.Write([]byte("data: [DONE]\n\n"))
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Request{URL: srv.URL, Stream: true}, Config{Rate: 10, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 1 || res.TTFT.N != 1 {
		t.Fatalf("ok %d, ttft samples %d (%v); want 1, 1", res.OK, res.TTFT.N, res.ErrorKinds)
	}
	if res.TTFT.P50 < 60*time.Millisecond {
		t.Errorf("TTFT %v: taken at the role-only chunk, not at the first content", res.TTFT.P50)
	}
	if res.Latency.P50 < 120*time.Millisecond || res.Latency.P50 < res.TTFT.P50+50*time.Millisecond {
		t.Errorf("full latency %v (TTFT %v): must run to the end of the stream", res.Latency.P50, res.TTFT.P50)
	}
}

func TestRunCountsErrorsByKind(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/busy":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/empty":
			w.Write([]byte("data: [DONE]\n\n"))
		}
	}))
	defer srv.Close()
	cases := []struct {
		path   string
		stream bool
		kind   string
	}{
		{"/busy", false, "status 503"},
		{"/slow", false, "timeout"},
		{"/empty", true, "no content"},
	}
	for _, c := range cases {
		res, err := Run(context.Background(), Request{URL: srv.URL + c.path, Stream: c.stream},
			Config{Rate: 50, Duration: 100 * time.Millisecond, Timeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 5 || res.OK != 0 || res.Errors != 5 || res.ErrorKinds[c.kind] != 5 || res.ErrorRate() != 1 {
			t.Errorf("%s: sent %d ok %d errors %d kinds %v; want 5 errors of kind %q", c.path, res.Sent, res.OK, res.Errors, res.ErrorKinds, c.kind)
		}
		if res.Latency.N != 0 {
			t.Errorf("%s: failed requests entered the latency samples", c.path)
		}
	}
}

func TestRunStopsWhenCanceled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Request{URL: srv.URL}, Config{Rate: 100, Duration: 10 * time.Second})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Run went on for %v after its context ended", el)
	}
	if res == nil || res.Sent == 0 || res.Sent > 40 {
		t.Errorf("result %+v: want the ~15 requests sent before the cancel", res)
	}
}

func TestRunEachInterleavesTargets(t *testing.T) {
	var mu sync.Mutex
	var order []string
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			if name == "b" {
				time.Sleep(30 * time.Millisecond)
			}
		})
	}
	a := httptest.NewServer(handler("a"))
	defer a.Close()
	b := httptest.NewServer(handler("b"))
	defer b.Close()
	rs, err := RunEach(context.Background(), []Request{{URL: a.URL}, {URL: b.URL}}, Config{Rate: 50, Duration: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Sent != 20 || rs[1].Sent != 20 || rs[0].OK != 20 || rs[1].OK != 20 {
		t.Fatalf("results %+v %+v: want 20 sent and ok to each", rs[0], rs[1])
	}
	if rs[0].Offered != 50 || rs[1].Offered != 50 {
		t.Errorf("offered %v and %v, want 50 each", rs[0].Offered, rs[1].Offered)
	}
	// Results come back in the requests' order: only b is slow.
	if rs[0].Latency.P50 >= 30*time.Millisecond || rs[1].Latency.P50 < 30*time.Millisecond {
		t.Errorf("p50 a %v, b %v: want a fast and b at least 30ms", rs[0].Latency.P50, rs[1].Latency.P50)
	}
	mu.Lock()
	defer mu.Unlock()
	// Sends alternate 10ms apart, so arrivals alternate too (allowing a
	// few swaps on a busy machine).
	same := 0
	for i := 1; i < len(order); i++ {
		if order[i] == order[i-1] {
			same++
		}
	}
	if same > 8 {
		t.Errorf("arrivals %v do not alternate between the targets", order)
	}

	_, err = RunEach(context.Background(), []Request{{URL: a.URL}, {URL: "http://192.0.2.1/"}}, Config{Rate: 50, Duration: 100 * time.Millisecond})
	if !errors.Is(err, ErrNotLoopback) {
		t.Errorf("one non-loopback target among several: err = %v, want ErrNotLoopback", err)
	}
}
