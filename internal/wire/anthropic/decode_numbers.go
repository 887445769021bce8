package anthropic

import (
	"math"

	"github.com/inference-relay/relay/internal/wire"
)

// The numeric parameters' ranges, as the Messages API documents them (and
// what the backends can take); wire.IntParam and wire.NumParam decode them.
var (
	// max_tokens: from 1 (0 would mean "no cap" to the rest of the relay),
	// to what the embedded engine counts in (int32).
	tokensRange      = wire.IntRange{Lo: 1, Hi: math.MaxInt32}
	topKRange        = wire.IntRange{Lo: 0, Hi: math.MaxInt32}
	temperatureRange = wire.NumRange{Lo: 0, Hi: 1}
	topPRange        = wire.NumRange{Lo: 0, Hi: 1}
)
