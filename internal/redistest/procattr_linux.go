package redistest

import "syscall"

// ProcAttr is what a test sets as exec.Cmd.SysProcAttr for a server process it starts (the
// private redis-server, the gateway in the failure suite): the kernel kills the process when
// the test binary dies, however it dies (Linux: Pdeathsig).
func ProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
