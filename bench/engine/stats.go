package enginebench

import (
	"slices"
	"time"
)

// Median returns the 50th percentile of d (the mean of the two middle
// values when len(d) is even), or 0 for none. d is not reordered.
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
