package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/wire"
)

// FuzzDecodeRequest: any body either decodes or fails with a RequestError;
// what decodes can be encoded for the upstream as valid JSON.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":9,"system":[{"type":"text","text":"s"}],"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}}]},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"a":[1]}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}]}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"s"},{"type":"redacted_thinking","data":"d"}]}]}`))
	f.Add([]byte(`{"model":"m",}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[]} x`))
	f.Add([]byte("{\"model\":\"\xff\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}"))
	for _, n := range outOfRange {
		f.Add([]byte(`{"model":"m",` + n + `,"messages":[{"role":"user","content":"hi"}]}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, p, err := DecodeRequest(body)
		if err != nil {
			var re *wire.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not a *wire.RequestError", err)
			}
			return
		}
		// Whatever was accepted is within what every backend can take.
		if pe := p.Check(); pe != nil || p.MaxTokens < 1 {
			t.Fatalf("accepted params out of range: %+v (%v)", p, pe)
		}
		out, err := EncodeUpstream(logic.Target{Model: p.Model}, p, r)
		if err != nil {
			t.Fatalf("EncodeUpstream: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("EncodeUpstream produced invalid JSON")
		}
	})
}

// FuzzUpstreamStream: arbitrary bytes from the upstream never panic and
// never hang; the stream ends with an error or io.EOF.
func FuzzUpstreamStream(f *testing.F) {
	f.Add([]byte(sseBody(
		`message_start|{"type":"message_start","message":{"model":"m","usage":{"input_tokens":3}}}`,
		`content_block_start|{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
		`content_block_delta|{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`,
		`content_block_start|{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{"a":1}}}`,
		`content_block_delta|{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}`,
		`message_delta|{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"s"},"usage":{"output_tokens":1}}`,
		`message_stop|{"type":"message_stop"}`,
	)))
	f.Add([]byte(sseBody(`error|{"type":"error","error":{"type":"overloaded_error","message":"o"}}`)))
	f.Add([]byte("data: {\"type\":\"content_block_start\",\"index\":-1,\"content_block\":{\"type\":\"thinking\",\"signature\":\"s\"}}\n\n"))
	f.Add([]byte("event: x\r\ndata: {\r\n\r\n:comment\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := NewUpstreamStream(io.NopCloser(bytes.NewReader(body)), nil)
		done := make(chan error, 1)
		go func() {
			if err := s.WaitStart(); err != nil {
				if _, again := s.Recv(); again != err {
					done <- errors.New("WaitStart's error is not sticky")
					return
				}
			}
			// Every delta comes from input bytes, so more deltas than
			// bytes would mean a loop that makes things up.
			for n := 0; ; n++ {
				if n > len(body) {
					done <- errors.New("more deltas than input bytes")
					return
				}
				if _, err := s.Recv(); err != nil {
					done <- nil
					return
				}
			}
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Recv hung")
		}
		_ = s.Status()
		_ = s.Close()
	})
}
