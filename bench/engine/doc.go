// Package enginebench measures what the relay's HTTP path costs on top of
// the embedded engine (issue 5, "Measure").
//
// Its benchmarks (bench_test.go; run them with
// `go test -run '^$' -bench . ./bench/engine`) drive one generated
// random-weight model two ways in the same process and the same run:
//
//   - through the relay: a real HTTP server on 127.0.0.1 serving
//     relay.New(...).Handler(), a real API key, the OpenAI streaming
//     endpoint, the sandboxed engine child behind it (this test binary
//     doubles as that child, as `relay engine` does);
//   - directly: engine.Load, OpenModel and Session.Generate with the same
//     model file, prompt, parameters and one thread.
//
// BenchmarkThroughput reports completion tokens per second both ways and
// their ratio; BenchmarkTTFT the median time to the first emitted piece.
// Requests alternate between the two paths so that load from other work
// on the machine falls on both alike.
//
// The package's non-test code is the measuring side only: reading an
// OpenAI stream for its timing and token counts ([ReadStream]) and the
// median ([Median]). It never keeps, prints or logs content: a chunk's
// text is looked at only for whether it is empty.
package enginebench
