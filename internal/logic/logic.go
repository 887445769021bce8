// Package logic holds what the relay needs to route and account a request:
// the requested model, sampling parameters, the chosen target, and the
// outcome (usage, stop reason, error class). None of it is user content.
//
// This package is a leaf and never imports the content package, so code that
// only needs logic (routing, audit, metrics) cannot reach content at all.
package logic

// Params are the routing and sampling parameters of a request.
type Params struct {
	// Model is the model name or alias the client asked for. It is
	// client-supplied: validate it against known identifiers before it is
	// recorded anywhere.
	Model string
	// Stream reports whether the client asked for a streamed reply.
	Stream bool
	// MaxTokens caps the reply; 0 means the client set no cap.
	MaxTokens int
	// Nil pointers mean "not set by the client".
	Temperature *float64
	TopP        *float64
	TopK        *int
	Seed        *int64
	// Session is the client-named session, empty when stateless.
	Session string
	// IncludeUsage is the OpenAI front's stream_options.include_usage: send
	// usage as a separate final chunk instead of on the finishing chunk.
	IncludeUsage bool
	// Thinking is what the client asked of the model's reasoning (the
	// Anthropic front's thinking parameter; the zero value elsewhere).
	Thinking Thinking
}

// ThinkingMode is the kind of reasoning a client asked for.
type ThinkingMode uint8

const (
	ThinkingUnset    ThinkingMode = iota // the client said nothing
	ThinkingDisabled                     // {"type":"disabled"}
	ThinkingEnabled                      // {"type":"enabled","budget_tokens":n}
	ThinkingAdaptive                     // {"type":"adaptive"}: the model decides
)

// Thinking is a client's request about reasoning.
type Thinking struct {
	Mode ThinkingMode
	// Budget is the token budget of ThinkingEnabled, else 0.
	Budget int
	// Omit is display "omitted": reasoning asked for, its text not shown.
	Omit bool
}

// Shown reports whether the model's reasoning text is to reach a client
// that speaks an API with a thinking switch (Anthropic's).
func (t Thinking) Shown() bool {
	return (t.Mode == ThinkingEnabled || t.Mode == ThinkingAdaptive) && !t.Omit
}

// Bounds on the numeric parameters that every backend can take. The
// embedded engine and llama.cpp count tokens in int32, so a token count
// or top_k must fit one; each API codec checks its own, narrower,
// documented ranges first and names its own field.
const (
	MaxTokensLimit = 1<<31 - 1 // MaxTokens (0 means no cap)
	MaxTopK        = 1<<31 - 1 // TopK, from 0
	MaxTemperature = 2.0       // from 0; OpenAI's range (Anthropic's is 0 to 1)
	MaxTopP        = 1.0       // from 0
)

// ParamError names a parameter out of range. Field is the parameter's
// generic name; Msg is text the relay wrote, never the client's value.
type ParamError struct {
	Field string
	Msg   string
}

func (e *ParamError) Error() string { return e.Field + ": " + e.Msg }

// Check reports the first parameter outside what every backend can take
// (the bounds above), or nil. The decoders check each API's own ranges
// before; Check is the last word for any caller (the library included), so
// that no value can wrap around or reach a backend as NaN or infinity.
func (p *Params) Check() *ParamError {
	switch {
	case p.MaxTokens < 0 || p.MaxTokens > MaxTokensLimit:
		return &ParamError{"max_tokens", "must be an integer from 1 to 2147483647"}
	case p.Temperature != nil && !inRange(*p.Temperature, 0, MaxTemperature):
		return &ParamError{"temperature", "must be a number from 0 to 2"}
	case p.TopP != nil && !inRange(*p.TopP, 0, MaxTopP):
		return &ParamError{"top_p", "must be a number from 0 to 1"}
	case p.TopK != nil && (*p.TopK < 0 || *p.TopK > MaxTopK):
		return &ParamError{"top_k", "must be an integer from 0 to 2147483647"}
	}
	return nil
}

// inRange is lo <= v <= hi, false for NaN.
func inRange(v, lo, hi float64) bool { return v >= lo && v <= hi }

// Target is one concrete place a request can go: a configured backend and a
// model name that backend knows.
type Target struct {
	Provider string
	Model    string
}

// String renders the target as "provider/model".
func (t Target) String() string { return t.Provider + "/" + t.Model }

// StopReason is why a reply ended.
type StopReason uint8

const (
	StopUnknown   StopReason = iota
	StopEnd                  // the model finished its turn
	StopMaxTokens            // the token cap was reached
	StopSequence             // a stop sequence matched
	StopToolUse              // the model called a tool
	StopRefusal              // the backend refused to answer
)

// String names the stop reason in the relay's own words (the library's
// Stream.StopReason): "end", "max_tokens", "stop_sequence", "tool_use",
// "refusal", and "" for StopUnknown (still running, or never said). The
// API codecs map it to each API's own names.
func (s StopReason) String() string {
	switch s {
	case StopEnd:
		return "end"
	case StopMaxTokens:
		return "max_tokens"
	case StopSequence:
		return "stop_sequence"
	case StopToolUse:
		return "tool_use"
	case StopRefusal:
		return "refusal"
	}
	return ""
}

// Usage counts tokens.
type Usage struct {
	Input  int
	Output int
	// CacheRead and CacheWrite are the prompt-cache parts of Input, when
	// the backend reports them. Input always counts every input token,
	// cached or not (OpenAI's prompt_tokens); the Anthropic codec splits
	// them out again for its input_tokens.
	CacheRead  int
	CacheWrite int
}

// Status is the metadata of a reply: everything but its content.
type Status struct {
	Usage Usage
	Stop  StopReason
	// StopSequence is 1 + the index into the request's stop list of the
	// sequence that matched, or 0 when none did or the backend did not say.
	StopSequence int
	// Model is the model the backend reports having used.
	Model string
	// Estimated is true when Usage was estimated because the backend did
	// not report it.
	Estimated bool
}

// ErrorClass classifies a failure for clients, retries and the audit log.
type ErrorClass uint8

const (
	ErrNone           ErrorClass = iota
	ErrInvalidRequest            // 400
	ErrAuthentication            // 401
	ErrPermission                // 403
	ErrNotFound                  // 404
	ErrTooLarge                  // 413
	ErrRateLimited               // 429
	ErrUpstream                  // 502: the backend failed or answered nonsense
	ErrUnavailable               // 503: no backend can serve this
	ErrTimeout                   // 504
	ErrOverloaded                // 529 (Anthropic) / 503
	ErrCanceled                  // the client went away
	ErrInternal                  // 500: a bug in the relay
)

var errClassNames = [...]string{
	ErrNone:           "none",
	ErrInvalidRequest: "invalid_request",
	ErrAuthentication: "authentication",
	ErrPermission:     "permission",
	ErrNotFound:       "not_found",
	ErrTooLarge:       "too_large",
	ErrRateLimited:    "rate_limited",
	ErrUpstream:       "upstream",
	ErrUnavailable:    "unavailable",
	ErrTimeout:        "timeout",
	ErrOverloaded:     "overloaded",
	ErrCanceled:       "canceled",
	ErrInternal:       "internal",
}

// String names the class.
func (c ErrorClass) String() string {
	if int(c) < len(errClassNames) {
		return errClassNames[c]
	}
	return "internal"
}

// HTTPStatus is the status code a front presents for the class.
func (c ErrorClass) HTTPStatus() int {
	switch c {
	case ErrNone:
		return 200
	case ErrInvalidRequest:
		return 400
	case ErrAuthentication:
		return 401
	case ErrPermission:
		return 403
	case ErrNotFound:
		return 404
	case ErrTooLarge:
		return 413
	case ErrRateLimited:
		return 429
	case ErrUpstream:
		return 502
	case ErrUnavailable:
		return 503
	case ErrTimeout:
		return 504
	case ErrOverloaded:
		return 529
	case ErrCanceled:
		return 499
	default:
		return 500
	}
}

// ClassForStatus maps an upstream HTTP status to a class.
func ClassForStatus(code int) ErrorClass {
	switch {
	case code < 400:
		return ErrNone
	case code == 400 || code == 422:
		return ErrInvalidRequest
	case code == 401:
		return ErrAuthentication
	case code == 403:
		return ErrPermission
	case code == 404:
		return ErrNotFound
	case code == 408 || code == 504:
		return ErrTimeout
	case code == 413:
		return ErrTooLarge
	case code == 429:
		return ErrRateLimited
	case code == 503 || code == 529:
		return ErrOverloaded
	case code >= 500:
		return ErrUpstream
	default:
		return ErrInvalidRequest
	}
}
