//go:build !linux

package redistest

// ephemeralLow is the first port of the ephemeral range (IANA's 49152 on macOS and Windows;
// the ports FreePort uses are below it either way).
func ephemeralLow() int { return 49152 }
