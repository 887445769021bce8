// Package loadgen is an open-loop HTTP load generator for loopback targets.
//
// It promises:
//
//   - Open loop: request i is scheduled at start + i/rate and sent from its
//     own goroutine at that time, whether or not earlier requests have
//     finished, so a slow target cannot slow the offered load down.
//   - No coordinated omission: every latency is measured from the
//     request's scheduled send time, not from when the generator got round
//     to sending it, so time a request spent waiting behind a stalled
//     generator or a full connection pool is counted.
//   - Bounded: a run sends at most MaxRequests requests over at most
//     MaxDuration, and every request has a deadline.
//   - Loopback only: a target whose host is not a loopback address or
//     "localhost" is refused before anything is sent, and the HTTP client
//     comes from internal/egress with the loopback-only policy, which
//     checks the address actually dialed.
//   - Exact percentiles: computed by nearest rank from all sorted samples,
//     never estimated from buckets.
//
// For streaming requests it records the time to first token (the first
// SSE data line that carries generated content) as well as the full
// latency (the end of the body).
package loadgen
