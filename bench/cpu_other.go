//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package bench

import "time"

// processCPU is not measured on this system (no getrusage): the report's per-request CPU
// figures of this process read 0 there; rates are unaffected.
func processCPU() time.Duration { return 0 }
