//go:build !unix

package bench

import "time"

// processCPU is not available here: the CPU cost phase is skipped.
func processCPU() (time.Duration, bool) { return 0, false }
