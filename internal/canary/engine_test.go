package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/inference-relay/relay/internal/engine/enginetest"
	"github.com/inference-relay/relay/internal/gguf"
)

// This file sends canaries through the embedded engine: `relay serve`
// starts itself as a sandboxed `relay engine` child and serves a generated
// random-weight model through both APIs. Content crosses a socketpair to
// the child; the child's argv and environment must never carry any, and
// nothing the relay writes may either.

const (
	// engineModel is the model the engine serves in this file.
	engineModel = "tiny"
	// engineContext is the engine's context length: a prompt longer than
	// this many tokens is refused with a 400.
	engineContext = 512
	// engineMaxTokens bounds the replies that are meant to finish: the
	// tiny model runs to its token limit (it almost never ends its turn).
	engineMaxTokens = 8
)

// startEngineRelay is startRelay for the engine: no stand-ins, a config
// with [engine] and one [[model]] (a tiny GGUF generated here), an API key
// from `relay keys create`, and `relay serve`, killed when the test ends.
// (startRelay writes a fixed config and takes no extra TOML.)
func startEngineRelay(t *testing.T, libDir string) *relayProc {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	modelPath := filepath.Join(dir, "tiny.gguf")
	f, err := os.Create(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := gguf.TinyLlama(f, 1, gguf.TinyOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "relay.toml")
	cfg := fmt.Sprintf(`autodetect = false
max_body_bytes = %d

[engine]
threads = 1
ollama = false
lib_dir = %q
context_length = %d

[[model]]
name = %q
path = %q
`, maxBody, libDir, engineContext, engineModel, modelPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// A bare environment, as in startRelay.
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "xdg")}

	return launchRelay(t, cfgPath, state, env, "canary-engine")
}

// engineRecords counts, in order, the audit records the test expects with
// provider "engine" and model "tiny", by status class.
type engineRecords struct {
	status []string // "2xx", "4xx" or "canceled", one per request
}

func (e *engineRecords) expect(h *relayProc, status string) {
	h.expectAudit(1)
	e.status = append(e.status, status)
}

// TestEngineWritesNoCanary sends canaries through the embedded engine with
// both SDKs along every path it serves, reads the engine child's argv and
// environment while it runs, and searches all the relay wrote.
func TestEngineWritesNoCanary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the engine child runs sandboxed on Linux only")
	}
	h := startEngineRelay(t, enginetest.LibDir(t))
	var reg registry
	var recs engineRecords
	for _, p := range []struct {
		name string
		run  func(*testing.T, *relayProc, *registry, *engineRecords)
	}{
		{"success", engineSuccess},
		{"client-cancel", engineClientCancel},
		{"prompt-too-long", engineTooLong},
		{"sessions", engineSessions},
	} {
		t.Run(p.name, func(t *testing.T) { p.run(t, h, &reg, &recs) })
	}

	child := engineChildProc(t, h)
	if len(child) > 0 {
		assertNoCanary(t, child, reg.All())
	}

	h.fetchReports(t)
	if _, err := h.terminate(); err != nil {
		t.Error(err)
	}
	srcs := h.outputs(t)
	if !hasSource(srcs, "state/weights.json") {
		t.Error("the state directory holds no weights.json: the engine's weights were not verified there")
	}
	assertNoCanary(t, srcs, reg.All())
	assertNotVacuous(t, srcs, h.audited.Load())
	assertEngineRecords(t, srcs, recs.status)
}

func hasSource(srcs []source, name string) bool {
	for _, s := range srcs {
		if s.Name == name {
			return true
		}
	}
	return false
}

// engineSuccess sends a conversation with history, a system prompt, a stop
// sequence, header and query canaries through both fronts, streamed and
// not.
func engineSuccess(t *testing.T, h *relayProc, reg *registry, recs *engineRecords) {
	for _, front := range fronts {
		for _, stream := range []bool{false, true} {
			path := "engine/success/" + front + "/" + mode(stream)
			c := chatTurns{
				model:  engineModel,
				system: reg.Text(path, "system prompt"),
				turns: []turn{
					{role: "user", text: reg.Text(path, "earlier user message")},
					{role: "assistant", text: reg.Text(path, "assistant turn in history")},
					{role: "user", text: reg.Text(path, "user message text")},
				},
				stop: []string{reg.Text(path, "stop sequence")},
				max:  engineMaxTokens,
			}
			hdr := map[string]string{
				"X-Canary":   reg.Token(path, "custom request header"),
				"User-Agent": reg.Token(path, "User-Agent header"),
			}
			query := map[string]string{"q": reg.Token(path, "query string")}
			recs.expect(h, "2xx")
			err := withTimeout(requestTimeout, func(ctx context.Context) error {
				_, err := send(ctx, h.HTTP, h.URL, h.Key, front, stream, c, hdr, query, nil)
				return err
			})
			if err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
	}
}

// engineClientCancel cancels a long stream after its first chunk, through
// both fronts. The audit trail must record each as canceled (checked at
// the end), and the engine must serve the requests that follow.
func engineClientCancel(t *testing.T, h *relayProc, reg *registry, recs *engineRecords) {
	// Far more tokens than can be generated before the cancel lands, and
	// still within the context with the prompt.
	const long = engineContext - 112
	for _, front := range fronts {
		path := "engine/client-cancel/" + front
		system, user := reg.Text(path, "system prompt"), reg.Text(path, "user message text")
		recs.expect(h, "canceled")
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		chunks := 0
		var err error
		if front == frontOpenAI {
			cl := openaiClient(h.HTTP, h.URL, h.Key)
			s := cl.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
				Model: engineModel, MaxTokens: openai.Int(long),
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage(user)},
			})
			for s.Next() {
				chunks++
				cancel()
			}
			err = s.Err()
			s.Close()
		} else {
			cl := anthropicClient(h.HTTP, h.URL, h.Key)
			s := cl.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
				Model: engineModel, MaxTokens: long, System: []anthropic.TextBlockParam{{Text: system}},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(user))},
			})
			for s.Next() {
				chunks++
				cancel()
			}
			err = s.Err()
			s.Close()
		}
		cancel()
		if chunks == 0 {
			t.Errorf("%s: no chunk arrived before the cancel (err %v)", path, err)
		}
	}
}

// engineTooLong sends prompts longer than the engine's context, through
// both fronts, streamed and not: each is refused with a 400.
func engineTooLong(t *testing.T, h *relayProc, reg *registry, recs *engineRecords) {
	for _, front := range fronts {
		for _, stream := range []bool{false, true} {
			path := "engine/prompt-too-long/" + front + "/" + mode(stream)
			// The tiny model's tokenizer is byte-level and merges no hex
			// digits: twice the context in bytes is far more tokens than fit.
			var words []string
			for n := 0; n < 2*engineContext; n += len(words[len(words)-1]) + 1 {
				words = append(words, reg.Text(path, "text of a prompt too long for the context"))
			}
			c := chatTurns{
				model:  engineModel,
				system: reg.Text(path, "system prompt"),
				turns:  []turn{{role: "user", text: strings.Join(words, " ")}},
				stop:   []string{reg.Text(path, "stop sequence")},
				max:    engineMaxTokens,
			}
			recs.expect(h, "4xx")
			err := withTimeout(requestTimeout, func(ctx context.Context) error {
				_, err := send(ctx, h.HTTP, h.URL, h.Key, front, stream, c, nil, nil, nil)
				return err
			})
			if got := apiStatus(err); got != http.StatusBadRequest {
				t.Errorf("%s: status %d (%v), want 400", path, got, err)
			}
		}
	}
}

// engineSessions holds two sessions of two turns through the engine, one
// named by the X-Relay-Session header (OpenAI front), one by the body's
// session_id (Anthropic front), streamed and not, and ends each with POST
// /v1/session/end, named once in the body and once in the header.
func engineSessions(t *testing.T, h *relayProc, reg *registry, recs *engineRecords) {
	for _, tc := range []struct {
		front    string
		inHeader bool
	}{
		{frontOpenAI, true},
		{frontAnthropic, false},
	} {
		path := "engine/session/" + tc.front
		var hdr map[string]string
		var body map[string]any
		var id string
		if tc.inHeader {
			id = reg.Token(path, "X-Relay-Session header")
			hdr = map[string]string{"X-Relay-Session": id}
		} else {
			id = reg.Token(path, "session_id body field") // ids are printable ASCII only
			body = map[string]any{"session_id": id}
		}
		var first reply
		for i, stream := range []bool{false, true} {
			turnPath := fmt.Sprintf("%s/turn-%d", path, i+1)
			c := chatTurns{
				model: engineModel,
				turns: []turn{{role: "user", text: reg.Text(turnPath, "user message text")}},
				stop:  []string{reg.Text(turnPath, "stop sequence")},
				max:   engineMaxTokens,
			}
			if i == 0 {
				c.system = reg.Text(turnPath, "system prompt")
			}
			// The session keeps the model's first reply as history, and
			// the engine refuses a NUL in content: random weights may
			// emit one, and then the second turn is a 400.
			nul := i == 1 && strings.ContainsRune(first.text, 0)
			if nul {
				recs.expect(h, "4xx")
			} else {
				recs.expect(h, "2xx")
			}
			var r reply
			err := withTimeout(requestTimeout, func(ctx context.Context) (err error) {
				r, err = send(ctx, h.HTTP, h.URL, h.Key, tc.front, stream, c, hdr, nil, body)
				return err
			})
			switch {
			case nul && apiStatus(err) == http.StatusBadRequest:
				t.Logf("%s: the first reply held a NUL; the second turn was refused, as it must be", turnPath)
			case err != nil:
				t.Fatalf("%s: %v", turnPath, err)
			}
			if i == 0 {
				first = r
			}
		}
		endSession(t, h, path, id, tc.inHeader)
	}
}

// endSession ends session id through POST /v1/session/end, named in the
// header or the body, and checks that it held turns and is gone after.
func endSession(t *testing.T, h *relayProc, path, id string, inHeader bool) {
	t.Helper()
	end := func() (int, []byte) {
		var req *http.Request
		if inHeader {
			req = h.newRequest(context.Background(), http.MethodPost, "/v1/session/end", nil)
			req.Header.Set("X-Relay-Session", id)
		} else {
			b, err := json.Marshal(map[string]string{"session_id": id})
			if err != nil {
				t.Fatal(err)
			}
			req = h.newRequest(context.Background(), http.MethodPost, "/v1/session/end", bytes.NewReader(b))
		}
		return h.do(t, req)
	}
	code, b := end()
	var got struct {
		Ended    bool `json:"ended"`
		Messages int  `json:"messages"`
	}
	if err := json.Unmarshal(b, &got); code != http.StatusOK || err != nil || !got.Ended || got.Messages < 2 {
		t.Errorf("%s: ending the session: status %d, body %.300s", path, code, b)
	}
	if code, b := end(); code != http.StatusNotFound {
		t.Errorf("%s: ending the session again: status %d, want 404; body %.300s", path, code, b)
	}
}

// engineChildProc finds the engine child's pid in GET /audit and reads its
// /proc cmdline and environ while it runs. It checks the child is the
// relay's engine, so the scan of what it returns is not vacuous.
func engineChildProc(t *testing.T, h *relayProc) []source {
	t.Helper()
	code, body := h.do(t, h.newRequest(context.Background(), http.MethodGet, "/audit", nil))
	if code != http.StatusOK {
		t.Fatalf("GET /audit: status %d", code)
	}
	var doc struct {
		Engine struct {
			Children []struct {
				Name      string `json:"name"`
				Pid       int    `json:"pid"`
				NoNetwork bool   `json:"no_network"`
			} `json:"children"`
		} `json:"engine"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET /audit: %v", err)
	}
	if len(doc.Engine.Children) != 1 || doc.Engine.Children[0].Pid <= 0 {
		t.Errorf("GET /audit: engine children %+v, want one with a pid", doc.Engine.Children)
		return nil
	}
	ch := doc.Engine.Children[0]
	if !ch.NoNetwork {
		t.Errorf("the engine child %q runs with a network", ch.Name)
	}
	dir := "/proc/" + strconv.Itoa(ch.Pid)
	var srcs []source
	for _, name := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(dir + "/" + name)
		if err != nil {
			t.Errorf("reading the engine child's %s: %v", name, err)
			continue
		}
		srcs = append(srcs, source{Name: "engine child /proc/PID/" + name, Data: b})
	}
	if len(srcs) > 0 && srcs[0].Name == "engine child /proc/PID/cmdline" {
		argv := strings.Split(strings.TrimSuffix(string(srcs[0].Data), "\x00"), "\x00")
		if len(argv) < 2 || filepath.Base(argv[0]) != filepath.Base(relayBin) || argv[1] != "engine" {
			t.Errorf("pid %d is not the relay's engine child: argv %q", ch.Pid, argv)
		}
		t.Logf("engine child pid %d: argv %q", ch.Pid, argv)
	}
	if len(srcs) == 2 {
		t.Logf("engine child environment: %d variables, %d bytes", bytes.Count(srcs[1].Data, []byte{0}), len(srcs[1].Data))
	}
	return srcs
}

// assertEngineRecords checks that the audit file holds one record per
// request sent to the engine, in order, each naming provider "engine" and
// model "tiny" with the status class the client saw.
func assertEngineRecords(t *testing.T, srcs []source, want []string) {
	t.Helper()
	var auditFile []byte
	for _, s := range srcs {
		if s.Name == "state/audit.jsonl" {
			auditFile = s.Data
		}
	}
	var got []string
	for _, line := range bytes.Split(auditFile, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rec struct {
			Event struct {
				Provider string `json:"provider"`
				Model    string `json:"model"`
				Status   string `json:"status"`
			} `json:"event"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Errorf("audit record: %v: %.200s", err, line)
			continue
		}
		if rec.Event.Provider != "engine" || rec.Event.Model != engineModel {
			t.Errorf("audit record for provider %q model %q; every request went to the engine's %q: %.300s", rec.Event.Provider, rec.Event.Model, engineModel, line)
			continue
		}
		got = append(got, rec.Event.Status)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit statuses of the engine's records:\n got %q\nwant %q", got, want)
	}
}
