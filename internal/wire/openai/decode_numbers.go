package openai

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/inference-relay/relay/internal/wire"
)

// The numeric parameters are decoded from their raw JSON here rather than
// by encoding/json into typed fields, so that every value outside its range
// — too large for the Go type (2^63, 1e400), a fraction where an integer
// belongs, a string — gets one error that names the field and its range.

// intRange is an integer parameter's documented (or backend-imposed)
// bounds.
type intRange struct{ lo, hi int64 }

func (r intRange) msg() string {
	return "must be an integer from " + strconv.FormatInt(r.lo, 10) + " to " + strconv.FormatInt(r.hi, 10)
}

// numRange is a number parameter's bounds.
type numRange struct{ lo, hi float64 }

func (r numRange) msg() string {
	return "must be a number from " + strconv.FormatFloat(r.lo, 'g', -1, 64) + " to " + strconv.FormatFloat(r.hi, 'g', -1, 64)
}

var (
	tokensRange      = intRange{1, math.MaxInt32}             // max_tokens, max_completion_tokens: the engine counts in int32
	seedRange        = intRange{math.MinInt64, math.MaxInt64} // seed
	nRange           = intRange{1, 128}                       // n (only 1 is served)
	topLogprobsRange = intRange{0, 20}                        // top_logprobs
	logitBiasRange   = intRange{-100, 100}                    // logit_bias values
	temperatureRange = numRange{0, 2}                         // temperature
	topPRange        = numRange{0, 1}                         // top_p
	penaltyRange     = numRange{-2, 2}                        // frequency_penalty, presence_penalty
)

// number returns raw's JSON number literal, or nil when raw is absent or
// null; ok is false when raw is some other JSON value.
func number(raw json.RawMessage) (lit []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return nil, false
	}
	return raw, true
}

// intParam decodes an optional integer parameter: nil when absent or null.
// Anything but an integer literal within r (a fraction, an exponent, a
// value past int64, a string) is an error naming field.
func intParam(raw json.RawMessage, field string, r intRange) (*int64, error) {
	lit, ok := number(raw)
	if !ok {
		return nil, reqErr(field, r.msg())
	}
	if lit == nil {
		return nil, nil
	}
	v, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil || v < r.lo || v > r.hi {
		return nil, reqErr(field, r.msg())
	}
	return &v, nil
}

// numParam decodes an optional number parameter: nil when absent or null.
// A value that overflows float64 (1e400) or lies outside r is an error
// naming field; -0 becomes 0.
func numParam(raw json.RawMessage, field string, r numRange) (*float64, error) {
	lit, ok := number(raw)
	if !ok {
		return nil, reqErr(field, r.msg())
	}
	if lit == nil {
		return nil, nil
	}
	v, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < r.lo || v > r.hi {
		return nil, reqErr(field, r.msg())
	}
	if v == 0 {
		v = 0 // -0 becomes 0: backends need not print a negative zero
	}
	return &v, nil
}

// checkLogitBias accepts null or an object mapping token ids (decimal
// integers) to integer biases from -100 to 100. The relay does not apply
// it; it refuses what the API would.
func checkLogitBias(raw json.RawMessage) error {
	if wire.IsNull(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return reqErr("logit_bias", "must be an object mapping token ids to integers from -100 to 100")
	}
	for k, v := range m {
		if id, err := strconv.ParseUint(k, 10, 32); err != nil || strconv.FormatUint(id, 10) != k {
			return reqErr("logit_bias", "keys must be token ids (non-negative integers)")
		}
		if _, err := intParam(v, "logit_bias", logitBiasRange); err != nil || wire.IsNull(v) {
			return reqErr("logit_bias", "values "+logitBiasRange.msg())
		}
	}
	return nil
}
