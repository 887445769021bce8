package openai

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/inference-relay/relay/internal/wire"
)

// The numeric parameters' ranges, as the Chat Completions API documents them (and
// what the backends can take); wire.IntParam and wire.NumParam decode them.
var (
	tokensRange      = wire.IntRange{Lo: 1, Hi: math.MaxInt32}             // max_tokens, max_completion_tokens: the engine counts in int32
	seedRange        = wire.IntRange{Lo: math.MinInt64, Hi: math.MaxInt64} // seed
	nRange           = wire.IntRange{Lo: 1, Hi: 128}                       // n (only 1 is served)
	topLogprobsRange = wire.IntRange{Lo: 0, Hi: 20}                        // top_logprobs
	logitBiasRange   = wire.IntRange{Lo: -100, Hi: 100}                    // logit_bias values
	temperatureRange = wire.NumRange{Lo: 0, Hi: 2}                         // temperature
	topPRange        = wire.NumRange{Lo: 0, Hi: 1}                         // top_p
	penaltyRange     = wire.NumRange{Lo: -2, Hi: 2}                        // frequency_penalty, presence_penalty
)

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
		if _, err := wire.IntParam(v, "logit_bias", logitBiasRange); err != nil || wire.IsNull(v) {
			return reqErr("logit_bias", "values "+logitBiasRange.Msg())
		}
	}
	return nil
}
