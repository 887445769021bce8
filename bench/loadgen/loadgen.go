package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Bounds on one run, whatever the Config asks for.
const (
	MaxRequests = 1_000_000
	MaxDuration = 10 * time.Minute
	// DefaultTimeout is a request's deadline, counted from its scheduled
	// send time, when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
)

// Request is what every request of a run sends: a POST of Body to URL.
type Request struct {
	URL    string
	Header http.Header
	Body   []byte
	// Stream marks a streaming (SSE) request: time to first token is
	// recorded too.
	Stream bool
	// Client sends this request (default: Config.Client).
	Client *http.Client
}

// Config is one run's load.
type Config struct {
	Rate     float64       // requests per second, > 0
	Duration time.Duration // how long to keep sending, > 0
	// Timeout is each request's deadline from its scheduled send time
	// (default DefaultTimeout). A request past it counts as an error.
	Timeout time.Duration
	// Client sends the requests (default NewClient sized for the rate).
	Client *http.Client
}

// Result is what a run measured.
type Result struct {
	Offered  float64 // requests per second asked for
	Sent     int     // requests scheduled and sent
	OK       int     // 200 with a complete body (and content, if streaming)
	Errors   int     // Sent - OK
	Elapsed  time.Duration
	Achieved float64 // OK per second of Elapsed
	// ErrorKinds counts errors by kind: "timeout", "transport",
	// "canceled" (the run's context ended), "status NNN", "no content".
	// Never a response body.
	ErrorKinds map[string]int

	Latency Stats // successful requests, scheduled send to end of body
	TTFT    Stats // streaming only: scheduled send to first content
	// SendLag is how late the generator actually started each request
	// relative to its schedule: a large value means the generator itself
	// could not keep up (the latencies still count it).
	SendLag Stats

	// The raw samples of successful requests, for pooling runs.
	Latencies []time.Duration
	TTFTs     []time.Duration
}

// ErrorRate is Errors/Sent (0 for an empty run).
func (r *Result) ErrorRate() float64 {
	if r.Sent == 0 {
		return 0
	}
	return float64(r.Errors) / float64(r.Sent)
}

// sample is one request's outcome.
type sample struct {
	lag, latency, ttft time.Duration
	done               time.Duration // completion, from the run's start
	errKind            string        // "" when the request succeeded
}

// Run sends req at cfg.Rate for cfg.Duration and waits for every request
// to finish or pass its deadline. Canceling ctx stops sending; the result
// then covers what was sent, and the error is ctx's.
func Run(ctx context.Context, req Request, cfg Config) (*Result, error) {
	rs, err := RunEach(ctx, []Request{req}, cfg)
	if rs == nil {
		return nil, err
	}
	return rs[0], err
}

// RunEach interleaves several requests in one run: each is offered at
// cfg.Rate, so the run sends len(reqs)×Rate requests a second, the j-th
// going to reqs[j % len(reqs)]. Targets compared this way see the same
// moments of whatever else the machine is doing, which a comparison of
// runs one after the other cannot promise. Results are in reqs' order.
func RunEach(ctx context.Context, reqs []Request, cfg Config) ([]*Result, error) {
	if len(reqs) == 0 {
		return nil, errors.New("loadgen: no request to send")
	}
	for _, r := range reqs {
		if err := CheckLoopback(r.URL); err != nil {
			return nil, err
		}
	}
	if !(cfg.Rate > 0) || cfg.Duration <= 0 {
		return nil, errors.New("loadgen: rate and duration must be positive")
	}
	if cfg.Duration > MaxDuration {
		return nil, fmt.Errorf("loadgen: duration is over the limit of %v", MaxDuration)
	}
	k := len(reqs)
	perReq := int(cfg.Rate * cfg.Duration.Seconds())
	if perReq*k > MaxRequests {
		return nil, fmt.Errorf("loadgen: rate × duration is over the limit of %d requests", MaxRequests)
	}
	n := max(perReq, 1) * k
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(idleConns(cfg.Rate))
	}

	samples := make([]sample, n)
	interval := float64(time.Second) / (cfg.Rate * float64(k))
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	<-timer.C
	start := time.Now()
	sent := 0
	var err error
schedule:
	for i := range n {
		at := start.Add(time.Duration(float64(i) * interval))
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				err = ctx.Err()
				break schedule
			}
		} else if ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		sent++
		req := reqs[i%k]
		client := cfg.Client
		if req.Client != nil {
			client = req.Client
		}
		wg.Go(func() { samples[i] = one(ctx, client, cfg.Timeout, req, start, at) })
	}
	wg.Wait()
	out := make([]*Result, k)
	for j := range k {
		var mine []sample
		for i := j; i < sent; i += k {
			mine = append(mine, samples[i])
		}
		out[j] = summarize(cfg.Rate, mine)
	}
	return out, err
}

// idleConns sizes the connection pool for a rate: the requests in flight
// at once if each took a whole second, with a floor and a ceiling.
// Loopback requests take far less, which leaves headroom for a slow
// target.
func idleConns(rate float64) int {
	return max(64, min(int(rate), 4096))
}

// one sends one request scheduled at at and measures it.
func one(ctx context.Context, client *http.Client, timeout time.Duration, req Request, start, at time.Time) sample {
	ctx, cancel := context.WithDeadline(ctx, at.Add(timeout))
	defer cancel()
	s := sample{lag: time.Since(at)}
	finish := func(kind string) sample {
		now := time.Now()
		s.errKind = kind
		s.latency = now.Sub(at)
		s.done = now.Sub(start)
		return s
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return finish("transport")
	}
	for k, v := range req.Header {
		hr.Header[k] = v
	}
	if hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(hr)
	if err != nil {
		return finish(errKind(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return finish(fmt.Sprintf("status %d", resp.StatusCode))
	}
	body := io.Reader(resp.Body)
	if req.Stream {
		br := bufio.NewReader(resp.Body)
		found, err := FirstContent(br)
		if err != nil {
			return finish(errKind(ctx, err))
		}
		if !found {
			return finish("no content")
		}
		s.ttft = time.Since(at)
		body = br
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return finish(errKind(ctx, err))
	}
	return finish("")
}

func errKind(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	return "transport"
}

func summarize(rate float64, samples []sample) *Result {
	r := &Result{Offered: rate, Sent: len(samples), ErrorKinds: map[string]int{}}
	lags := make([]time.Duration, 0, len(samples))
	for _, s := range samples {
		lags = append(lags, s.lag)
		r.Elapsed = max(r.Elapsed, s.done)
		if s.errKind != "" {
			r.ErrorKinds[s.errKind]++
			continue
		}
		r.OK++
		r.Latencies = append(r.Latencies, s.latency)
		if s.ttft > 0 {
			r.TTFTs = append(r.TTFTs, s.ttft)
		}
	}
	r.Errors = r.Sent - r.OK
	if r.Elapsed > 0 {
		r.Achieved = float64(r.OK) / r.Elapsed.Seconds()
	}
	r.Latency = Summarize(r.Latencies)
	r.TTFT = Summarize(r.TTFTs)
	r.SendLag = Summarize(lags)
	return r
}
