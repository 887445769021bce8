package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/discovery"
)

// BenchmarkStartup measures what a newcomer waits for: from starting
// `relay serve` to its listening (the discovery file written once the
// sockets are bound) and to a first answer from the demo model, with a
// fresh state directory (cold: first key, demo model written and hashed)
// and with the same directory again (warm). The baseline, in the same run,
// is starting the same binary for `relay version`: the process start cost
// every number includes. Run:
//
//	go test -run '^$' -bench Startup -benchtime 5x ./cmd/relay
func BenchmarkStartup(b *testing.B) {
	libs, ok := llamaLibs()
	if !ok {
		b.Skip("llama.cpp libraries not installed: run scripts/setup-llama")
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cfgPath := filepath.Join(b.TempDir(), "relay.toml")
	cfg := "autodetect = false\n\n[engine]\nlib_dir = " + quote(libs) + "\nthreads = 1\nollama = false\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) *exec.Cmd {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), "RELAY_TEST_AS_RELAY=1")
		return cmd
	}
	var version, coldListen, coldAnswer, warmListen, warmAnswer time.Duration
	for range b.N {
		start := time.Now()
		if out, err := run("version").CombinedOutput(); err != nil {
			b.Fatalf("version: %v %s", err, out)
		}
		version += time.Since(start)

		state := filepath.Join(b.TempDir(), "state")
		for _, warm := range []bool{false, true} {
			l, a := startAndAsk(b, run, cfgPath, state)
			if warm {
				warmListen += l
				warmAnswer += a
			} else {
				coldListen += l
				coldAnswer += a
			}
		}
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Milliseconds()) / n }
	b.ReportMetric(ms(version), "ms_version_baseline")
	b.ReportMetric(ms(coldListen), "ms_to_listen_cold")
	b.ReportMetric(ms(coldAnswer), "ms_to_first_answer_cold")
	b.ReportMetric(ms(warmListen), "ms_to_listen_warm")
	b.ReportMetric(ms(warmAnswer), "ms_to_first_answer_warm")
	b.ReportMetric(float64(warmListen)/float64(version), "warm_listen_over_baseline")
}

// startAndAsk starts relay serve on state, waits for it to listen, asks
// the demo model for one token through the local token, stops it, and
// returns the two durations from the start.
func startAndAsk(b *testing.B, run func(...string) *exec.Cmd, cfgPath, state string) (listen, answer time.Duration) {
	b.Helper()
	var stderr bytes.Buffer
	cmd := run("serve", "--config", cfgPath, "--state-dir", state, "--listen", "127.0.0.1:0")
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}()
	var info discovery.Info
	for {
		var err error
		if info, err = discovery.Find(state); err == nil {
			break
		}
		if time.Since(start) > 2*time.Minute { // a hang guard
			b.Fatalf("relay serve did not listen: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	listen = time.Since(start)
	body := []byte(`{"model":"demo-random-weights","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, info.URL+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+info.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("first answer: HTTP %d; %s", resp.StatusCode, stderr.String())
	}
	return listen, time.Since(start)
}

func quote(s string) string {
	b := []byte{'"'}
	for _, c := range []byte(s) {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}
