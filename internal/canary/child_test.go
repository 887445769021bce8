package canary

import (
	"bytes"
	"encoding/json"
	"runtime"
	"testing"
)

// TestRelayProcessWritesNoCanary runs the real binary, sends canaries
// along every path, stops it with SIGTERM mid-stream, and searches all it
// wrote.
func TestRelayProcessWritesNoCanary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the suite stops the relay with SIGTERM")
	}
	h := startRelay(t)
	var reg registry
	for _, p := range []struct {
		name string
		run  func(*testing.T, *relayProc, *registry)
	}{
		{"success", pathSuccess},
		{"count-tokens", pathCountTokens},
		{"model-names", pathModelNames},
		{"headers", pathHeaders},
		{"urls-and-methods", pathURLs},
		{"upstream-errors", pathUpstreamErrors},
		{"upstream-hang", pathHang},
		{"client-cancel", pathClientCancel},
		{"midstream", pathMidstream},
		{"malformed", pathMalformed},
		{"oversized", pathOversized},
	} {
		t.Run(p.name, func(t *testing.T) { p.run(t, h, &reg) })
	}
	h.fetchReports(t)
	t.Run("sigterm-mid-stream", func(t *testing.T) { sigtermMidStream(t, h, &reg) })
	if h.running() {
		// The SIGTERM path failed before signalling; stop the relay so
		// that what it wrote can still be scanned.
		if _, err := h.terminate(); err != nil {
			t.Error(err)
		}
	}

	srcs := h.outputs(t)
	assertNoCanary(t, srcs, reg.All())
	assertNotVacuous(t, srcs, h.audited.Load())
}

// assertNotVacuous checks that the scanned outputs are the real thing: the
// audit trail holds a record for every audited request, and stderr a log
// record for each.
func assertNotVacuous(t *testing.T, srcs []source, audited int64) {
	t.Helper()
	var auditFile, stderr []byte
	for _, s := range srcs {
		switch s.Name {
		case "state/audit.jsonl":
			auditFile = s.Data
		case "relay serve stderr":
			stderr = s.Data
		}
	}
	records := 0
	for _, line := range bytes.Split(auditFile, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rec struct {
			Seq   int64           `json:"seq"`
			Event json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(line, &rec); err != nil || rec.Seq != int64(records+1) || len(rec.Event) == 0 {
			t.Errorf("audit record %d is not a chained record: %.200s", records+1, line)
		}
		records++
	}
	if int64(records) < audited {
		t.Errorf("the audit trail holds %d records; %d requests should have been recorded", records, audited)
	}
	logLines := bytes.Count(stderr, []byte("request_id"))
	if int64(logLines) < audited {
		t.Errorf("stderr holds %d log records with a request_id; want one for each of the %d audited requests", logLines, audited)
	}
	t.Logf("audit records: %d (expected at least %d); stderr: %d bytes, %d request log records", records, audited, len(stderr), logLines)
}
