//go:build !linux

package redistest

import "syscall"

// ProcAttr: no parent-death signal outside Linux; the process is stopped by the test's
// cleanup, and a test binary killed outright may leave it running.
func ProcAttr() *syscall.SysProcAttr { return nil }
