package otel

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/egress"
)

// countingListener counts the connections a test server accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// collector is a loopback OTLP endpoint that keeps every request body and
// answers with reply (200 with an empty body when reply is nil).
type collector struct {
	srv      *httptest.Server
	listener *countingListener
	reply    func(w http.ResponseWriter, r *http.Request)

	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
}

func newCollector(t *testing.T, reply func(http.ResponseWriter, *http.Request)) *collector {
	t.Helper()
	c := &collector{reply: reply}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("collector read: %v", err)
		}
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.headers = append(c.headers, r.Header.Clone())
		c.mu.Unlock()
		if c.reply != nil {
			c.reply(w, r)
		}
	}))
	c.listener = &countingListener{Listener: c.srv.Listener}
	c.srv.Listener = c.listener
	c.srv.Start()
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) url() string { return c.srv.URL + "/v1/traces" }

func (c *collector) requests() int {
	bodies, _ := c.snapshot()
	return len(bodies)
}

// snapshot returns the bodies and headers received so far, in order.
func (c *collector) snapshot() ([][]byte, []http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.bodies...), append([]http.Header(nil), c.headers...)
}

// spans decodes every span received so far, in order.
func (c *collector) spans(t *testing.T) []map[string]any {
	t.Helper()
	bodies, _ := c.snapshot()
	var all []map[string]any
	for _, b := range bodies {
		_, sp := decodeSpans(t, b)
		all = append(all, sp...)
	}
	return all
}

// client is what the relay would pass: an egress client for loopback.
func client() *http.Client { return egress.New(egress.LoopbackOnly).HTTPClient() }

func newExporter(t *testing.T, c Config) *Exporter {
	t.Helper()
	if c.Client == nil {
		c.Client = client()
	}
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

func closeExporter(t *testing.T, e *Exporter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func event(i byte) audit.Event {
	return audit.Event{Time: time.Unix(1_700_000_000, 0), RequestID: audit.RequestID{0: i, 15: 1}, Duration: time.Second}
}

func statsWant(t *testing.T, e *Exporter, want Stats) {
	t.Helper()
	if diff := cmp.Diff(want, e.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestSpansArriveWithExactAttributes(t *testing.T) {
	c := newCollector(t, nil)
	e := newExporter(t, Config{
		Endpoint: c.url(), FlushInterval: time.Hour,
		Headers: map[string]string{"Authorization": "Bearer collector-token"},
	})
	full := testEvent(t)
	e.Record(full)
	e.Record(event(1))
	closeExporter(t, e)

	_, headers := c.snapshot()
	if len(headers) != 1 {
		t.Fatalf("collector got %d requests, want 1", len(headers))
	}
	h := headers[0]
	if h.Get("Content-Type") != "application/json" || h.Get("Authorization") != "Bearer collector-token" {
		t.Errorf("headers: Content-Type %q, Authorization %q", h.Get("Content-Type"), h.Get("Authorization"))
	}
	spans := c.spans(t)
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	if diff := cmp.Diff(allKeys, attrKeys(t, spans[0])); diff != "" {
		t.Errorf("full event's attribute keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(baseKeys, attrKeys(t, spans[1])); diff != "" {
		t.Errorf("plain event's attribute keys (-want +got):\n%s", diff)
	}
	if spans[0]["traceId"] != full.RequestID.String() || spans[0]["name"] != "chat llama3.2:3b" {
		t.Errorf("span 0 = %v", spans[0])
	}
	statsWant(t, e, Stats{Enabled: true, Exported: 2})
}

// With no endpoint nothing leaves the machine: the listener a working
// exporter does reach sees no connection at all.
func TestDisabledMakesNoConnection(t *testing.T) {
	c := newCollector(t, nil)
	off, err := New(Config{Client: client(), Headers: map[string]string{"A": "b"}, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		off.Record(event(byte(i)))
	}
	time.Sleep(50 * time.Millisecond) // several flush intervals, had there been a worker
	if err := off.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	statsWant(t, off, Stats{})
	if n := c.listener.n.Load(); n != 0 {
		t.Fatalf("disabled exporter: %d connections", n)
	}

	// The control: the listener does count an enabled exporter's connection.
	on := newExporter(t, Config{Endpoint: c.url()})
	on.Record(event(1))
	closeExporter(t, on)
	if n := c.listener.n.Load(); n == 0 {
		t.Fatal("listener counted no connection from an enabled exporter")
	}
}

func TestNilExporterIsANoOp(t *testing.T) {
	var e *Exporter
	e.Record(event(1))
	if err := e.Close(context.Background()); err != nil {
		t.Error(err)
	}
	statsWant(t, e, Stats{})
}

func TestQueueOverflowDropsAndCounts(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	c := newCollector(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release
	})
	e := newExporter(t, Config{Endpoint: c.url(), BatchSize: 1, QueueSize: 4, FlushInterval: time.Hour})

	// The first event goes out at once and the worker waits on the
	// collector, so from here on nothing leaves the queue.
	e.Record(event(0))
	<-arrived
	for i := range 7 {
		e.Record(event(byte(i + 1)))
	}
	statsWant(t, e, Stats{Enabled: true, Dropped: 3})

	close(release)
	closeExporter(t, e)
	statsWant(t, e, Stats{Enabled: true, Exported: 5, Dropped: 3})
	if n := len(c.spans(t)); n != 5 {
		t.Errorf("collector got %d spans, want 5", n)
	}
}

// A 5xx is retried once; then the batch's spans count as failed.
func TestCollectorErrorCountsFailed(t *testing.T) {
	c := newCollector(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	e := newExporter(t, Config{Endpoint: c.url(), FlushInterval: time.Hour})
	for i := range 3 {
		e.Record(event(byte(i)))
	}
	closeExporter(t, e)
	statsWant(t, e, Stats{Enabled: true, Failed: 3})
	if n := c.requests(); n != 2 {
		t.Errorf("collector got %d requests, want 2 (one retry)", n)
	}
}

// A 4xx other than 429 will not get better: it is not retried.
func TestClientErrorIsNotRetried(t *testing.T) {
	c := newCollector(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	})
	e := newExporter(t, Config{Endpoint: c.url(), FlushInterval: time.Hour})
	e.Record(event(1))
	closeExporter(t, e)
	statsWant(t, e, Stats{Enabled: true, Failed: 1})
	if n := c.requests(); n != 1 {
		t.Errorf("collector got %d requests, want 1", n)
	}
}

// A failure that passes is covered by the retry.
func TestRetrySucceeds(t *testing.T) {
	var calls atomic.Int64
	c := newCollector(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	e := newExporter(t, Config{Endpoint: c.url(), FlushInterval: time.Hour})
	e.Record(event(1))
	closeExporter(t, e)
	statsWant(t, e, Stats{Enabled: true, Exported: 1})
}

// Nothing listening: the connection error counts as failed, no panic.
func TestUnreachableCollector(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	e := newExporter(t, Config{Endpoint: "http://" + addr + "/v1/traces", FlushInterval: time.Hour})
	e.Record(event(1))
	closeExporter(t, e)
	statsWant(t, e, Stats{Enabled: true, Failed: 1})
}

func TestCloseFlushes(t *testing.T) {
	c := newCollector(t, nil)
	e := newExporter(t, Config{Endpoint: c.url(), FlushInterval: time.Hour})
	for i := range 5 {
		e.Record(event(byte(i)))
	}
	if n := c.requests(); n != 0 {
		t.Fatalf("sent %d requests before the batch filled or the interval passed", n)
	}
	closeExporter(t, e)
	if n := len(c.spans(t)); n != 5 {
		t.Errorf("collector got %d spans, want 5", n)
	}
	statsWant(t, e, Stats{Enabled: true, Exported: 5})

	// Closed: further events are dropped, and Close again is harmless.
	e.Record(event(9))
	closeExporter(t, e)
	statsWant(t, e, Stats{Enabled: true, Exported: 5, Dropped: 1})
	if n := c.requests(); n != 1 {
		t.Errorf("collector got %d requests, want 1", n)
	}
}

func TestBatchSize(t *testing.T) {
	c := newCollector(t, nil)
	e := newExporter(t, Config{Endpoint: c.url(), BatchSize: 2, FlushInterval: time.Hour})
	for i := range 5 {
		e.Record(event(byte(i)))
	}
	closeExporter(t, e)
	var sizes []int
	bodies, _ := c.snapshot()
	for _, b := range bodies {
		_, sp := decodeSpans(t, b)
		sizes = append(sizes, len(sp))
	}
	if diff := cmp.Diff([]int{2, 2, 1}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	var order []string
	for _, sp := range c.spans(t) {
		order = append(order, sp["traceId"].(string))
	}
	for i, id := range order {
		if want := event(byte(i)).RequestID.String(); id != want {
			t.Errorf("span %d = %s, want %s (events out of order)", i, id, want)
		}
	}
}

func TestFlushInterval(t *testing.T) {
	c := newCollector(t, nil)
	e := newExporter(t, Config{Endpoint: c.url(), FlushInterval: 10 * time.Millisecond})
	e.Record(event(1))
	deadline := time.Now().Add(10 * time.Second)
	for c.requests() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a partial batch was never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closeExporter(t, e)
	statsWant(t, e, Stats{Enabled: true, Exported: 1})
}

func TestPartialSuccess(t *testing.T) {
	c := newCollector(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"partialSuccess":{"rejectedSpans":"1","errorMessage":"too old"}}`)
	})
	e := newExporter(t, Config{Endpoint: c.url(), FlushInterval: time.Hour})
	e.Record(event(1))
	e.Record(event(2))
	closeExporter(t, e)
	statsWant(t, e, Stats{Enabled: true, Exported: 1, Failed: 1})
}

// A collector that never stops talking cannot hold the exporter: it reads
// a bounded prefix of the answer and hangs up.
func TestResponseBodyIsBounded(t *testing.T) {
	var written atomic.Int64
	c := newCollector(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	e := newExporter(t, Config{Endpoint: c.url(), FlushInterval: time.Hour})
	e.Record(event(1))
	closeExporter(t, e) // fails the test if the read never ends
	statsWant(t, e, Stats{Enabled: true, Exported: 1})
	// An unbounded read would have drained gigabytes by the deadline; a
	// bounded one lets through little more than the socket buffers hold.
	if n := written.Load(); n > 64<<20 {
		t.Errorf("collector wrote %d bytes before the exporter hung up", n)
	}
}

// A redirect is not followed: spans go only where the operator said.
func TestRedirectNotFollowed(t *testing.T) {
	other := newCollector(t, nil)
	c := newCollector(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.url(), http.StatusTemporaryRedirect)
	})
	// A client that would follow redirects, to show the exporter stops it.
	e := newExporter(t, Config{Endpoint: c.url(), Client: &http.Client{}, FlushInterval: time.Hour})
	e.Record(event(1))
	closeExporter(t, e)
	if n := other.listener.n.Load(); n != 0 {
		t.Errorf("redirect target got %d connections", n)
	}
	statsWant(t, e, Stats{Enabled: true, Failed: 1})
}

// When Close's context ends first, in-flight requests are abandoned and
// their spans counted as failed, and Close reports the context's error.
func TestCloseGivesUpWithContext(t *testing.T) {
	arrived := make(chan struct{}, 1)
	c := newCollector(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done() // hang until the exporter gives up
	})
	e := newExporter(t, Config{Endpoint: c.url(), BatchSize: 1, FlushInterval: time.Hour})
	e.Record(event(1))
	<-arrived
	e.Record(event(2))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// The collector never answers: Close returning at all is it giving up
	// at its context's deadline (a hung Close fails at the test timeout).
	if err := e.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	statsWant(t, e, Stats{Enabled: true, Failed: 2})
}

// Many goroutines record at once while the exporter sends; every event is
// either exported or dropped. Run with -race.
func TestConcurrentRecord(t *testing.T) {
	c := newCollector(t, nil)
	e := newExporter(t, Config{Endpoint: c.url(), BatchSize: 8, QueueSize: 64, FlushInterval: time.Millisecond})
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				e.Record(event(byte(w*each + i)))
				_ = e.Stats()
			}
		})
	}
	// Close races the last Records on purpose: none may be lost uncounted.
	wg.Wait()
	closeExporter(t, e)
	s := e.Stats()
	if s.Exported+s.Dropped != workers*each || s.Failed != 0 {
		t.Errorf("stats %+v: want exported+dropped = %d, no failures", s, workers*each)
	}
	if got := uint64(len(c.spans(t))); got != s.Exported {
		t.Errorf("collector got %d spans, stats say %d exported", got, s.Exported)
	}
}

// Record never waits on the collector.
func TestRecordDoesNotBlock(t *testing.T) {
	release := make(chan struct{})
	c := newCollector(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	e := newExporter(t, Config{Endpoint: c.url(), BatchSize: 1, QueueSize: 1, FlushInterval: time.Hour})
	done := make(chan struct{})
	go func() {
		for i := range 1000 {
			e.Record(event(byte(i)))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked on a stalled collector")
	}
}
