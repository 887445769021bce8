// Package bench measures what the relay adds to a request, against two
// baselines measured in the same run on the same machine: the upstream
// itself, and a bare reverse proxy in front of it.
//
// [Start] brings up, on loopback TCP in this process, one OpenAI stand-in
// upstream with a fixed latency and three ways to reach it: directly,
// through net/http/httputil.ReverseProxy, and through the relay (an
// "openai-compatible" backend, requests carrying a real API key).
// [MeasureLatency] runs the same open-loop load against each (see
// bench/loadgen) and [FindMaxRate] finds the highest rate each sustains.
// [Run] does all of it and returns a [Summary] with the ratios the
// project's targets are stated in.
//
// Everything shares the machine's cores (load generator, proxy, relay and
// stand-in), so absolute numbers say little; the ratios against the
// baselines of the same run are what the targets judge.
package bench
