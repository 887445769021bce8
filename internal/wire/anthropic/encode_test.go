package anthropic

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/logic"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\s/", `"q\"b\\s/"`},
		{"nl\n\r\t", `"nl\n\r\t"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"<&>", `"<&>"`},
		{"bad\xff\xfeutf", `"bad\ufffd\ufffdutf"`},
		{"cut\xe2\x82", `"cut\ufffd\ufffd"`},
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
		{"é€😀", `"é€😀"`},
	}
	for _, tc := range tests {
		got := string(appendString(nil, []byte(tc.in)))
		if got != tc.want {
			t.Errorf("appendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("appendString(%q) is not valid JSON: %v", tc.in, err)
		}
	}
}

func TestAppendObject(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `{}`},
		{`not json`, `{}`},
		{`[1,2]`, `{}`},
		{`"s"`, `{}`},
		{`{"a": 1,` + "\n" + ` "b": [ 2 ]}`, `{"a":1,"b":[2]}`},
		{`{"a":1`, `{}`},
		{"{\"k\":\"\xff\"}", "{\"k\":\"\uFFFD\"}"},
	}
	for _, tc := range tests {
		if got := string(appendObject([]byte("x"), []byte(tc.in), "{}")); got != "x"+tc.want {
			t.Errorf("appendObject(%q) = %s, want x%s", tc.in, got, tc.want)
		}
	}
}

func TestEncodeResponse(t *testing.T) {
	msg := content.Message{Role: content.RoleAssistant, Parts: []content.Part{
		{Kind: content.PartThinking, Text: content.FromString("think"), Signature: content.FromString("sig")},
		{Kind: content.PartText, Text: content.FromString("hi \"there\"\n\xff")},
		{Kind: content.PartImage, Data: content.FromString("ignored")},
		{Kind: content.PartToolCall, ToolID: content.FromString("toolu_1"), ToolName: content.FromString("f"), Args: content.FromString(`{"a": 1}`)},
		{Kind: content.PartToolCall, ToolName: content.FromString("g"), Args: content.FromString(`{"a": `)},
	}}
	st := logic.Status{Stop: logic.StopToolUse, Usage: logic.Usage{Input: 30, CacheRead: 10, CacheWrite: 5, Output: 7}}
	b, err := EncodeResponse("msg_1", "claude-x", msg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[` +
		`{"type":"thinking","thinking":"think","signature":"sig"},` +
		`{"type":"text","text":"hi \"there\"\n\ufffd"},` +
		`{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}},` +
		`{"type":"tool_use","id":"toolu_relay_3","name":"g","input":{}}],` +
		`"stop_reason":"tool_use","stop_sequence":null,` +
		`"usage":{"input_tokens":15,"cache_creation_input_tokens":5,"cache_read_input_tokens":10,"output_tokens":7}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if !json.Valid(b) {
		t.Error("invalid JSON")
	}
}

func TestEncodeResponseStopReasons(t *testing.T) {
	tests := []struct {
		st      logic.StopReason
		seq     []byte
		reason  string
		seqJSON string
	}{
		{logic.StopEnd, nil, "end_turn", "null"},
		{logic.StopUnknown, nil, "end_turn", "null"},
		{logic.StopMaxTokens, nil, "max_tokens", "null"},
		{logic.StopSequence, []byte("END\n"), "stop_sequence", `"END\n"`},
		{logic.StopSequence, nil, "stop_sequence", "null"},
		{logic.StopToolUse, nil, "tool_use", "null"},
		{logic.StopRefusal, nil, "refusal", "null"},
		{logic.StopEnd, []byte("ignored"), "end_turn", "null"},
	}
	for _, tc := range tests {
		b, _ := EncodeResponse("id", "m", content.Message{}, logic.Status{Stop: tc.st}, tc.seq)
		want := `"content":[],"stop_reason":"` + tc.reason + `","stop_sequence":` + tc.seqJSON + `,`
		if !strings.Contains(string(b), want) {
			t.Errorf("stop %d: %s lacks %s", tc.st, b, want)
		}
	}
}

func TestEncodeCountTokensAndModels(t *testing.T) {
	if got := string(EncodeCountTokens(42)); got != `{"input_tokens":42}` {
		t.Errorf("count tokens = %s", got)
	}
	created := time.Date(2025, 2, 19, 0, 0, 0, 0, time.UTC)
	got := string(EncodeModels([]Model{{ID: "a", DisplayName: "A", Created: created}, {ID: "b"}}))
	want := `{"data":[{"type":"model","id":"a","display_name":"A","created_at":"2025-02-19T00:00:00Z"},` +
		`{"type":"model","id":"b","display_name":"b","created_at":"0001-01-01T00:00:00Z"}],"has_more":false,"first_id":"a","last_id":"b"}`
	if got != want {
		t.Errorf("models = %s\nwant     %s", got, want)
	}
	if got := string(EncodeModels(nil)); got != `{"data":[],"has_more":false,"first_id":null,"last_id":null}` {
		t.Errorf("empty models = %s", got)
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		status     int
		class      logic.ErrorClass
		wantStatus int
		wantType   string
	}{
		{0, logic.ErrInvalidRequest, 400, "invalid_request_error"},
		{0, logic.ErrAuthentication, 401, "authentication_error"},
		{0, logic.ErrPermission, 403, "permission_error"},
		{0, logic.ErrNotFound, 404, "not_found_error"},
		{0, logic.ErrTooLarge, 413, "request_too_large"},
		{0, logic.ErrRateLimited, 429, "rate_limit_error"},
		{0, logic.ErrOverloaded, 529, "overloaded_error"},
		{503, logic.ErrOverloaded, 503, "overloaded_error"},
		{0, logic.ErrUpstream, 502, "api_error"},
		{0, logic.ErrTimeout, 504, "api_error"},
		{0, logic.ErrInternal, 500, "api_error"},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		WriteError(rec, tc.status, tc.class, []byte("bad \"thing\""))
		if rec.Code != tc.wantStatus {
			t.Errorf("%v: status %d, want %d", tc.class, rec.Code, tc.wantStatus)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
		want := `{"type":"error","error":{"type":"` + tc.wantType + `","message":"bad \"thing\""}}`
		if rec.Body.String() != want {
			t.Errorf("body %s, want %s", rec.Body.String(), want)
		}
	}
}

func TestParseUpstreamError(t *testing.T) {
	tests := []struct {
		status int
		body   string
		class  logic.ErrorClass
		msg    string
	}{
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too big"},"request_id":"r"}`, logic.ErrInvalidRequest, "max_tokens: too big"},
		{401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, logic.ErrAuthentication, "invalid x-api-key"},
		{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, logic.ErrOverloaded, "Overloaded"},
		{500, `{"type":"error","error":{"type":"api_error","message":"oops"}}`, logic.ErrUpstream, "oops"},
		{504, `{"type":"error","error":{"type":"timeout_error","message":"slow"}}`, logic.ErrTimeout, "slow"},
		{402, `{"type":"error","error":{"type":"billing_error","message":"pay"}}`, logic.ErrPermission, "pay"},
		{429, `{"type":"error","error":{"type":"brand_new_error","message":"x"}}`, logic.ErrRateLimited, "x"},
		{502, `<html>bad gateway</html>`, logic.ErrUpstream, "the backend answered with HTTP 502 and no error detail"},
		{404, `{"error":{"type":"not_found_error"}}`, logic.ErrNotFound, "the backend reported an error without a message"},
	}
	for _, tc := range tests {
		class, msg := ParseUpstreamError(tc.status, []byte(tc.body))
		if class != tc.class || string(msg) != tc.msg {
			t.Errorf("ParseUpstreamError(%d, %s) = %v %q, want %v %q", tc.status, tc.body, class, msg, tc.class, tc.msg)
		}
	}
}
