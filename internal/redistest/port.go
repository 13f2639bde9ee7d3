package redistest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// Ports for servers a test starts as child processes are taken below the kernel's ephemeral
// range. A port picked by listening on :0 comes from that range, and between the moment the
// test closes its probe and the moment the child binds, any outgoing connection on the machine
// (go test runs packages in parallel, each dialling Redis and HTTP) may be given the same port
// as its local end: the child then fails with "address already in use". Below the range only
// another test can take it, and each test binary starts at a random point of the range.
const (
	portLow  = 15000
	portHigh = 32000 // exclusive; lowered to the ephemeral range's start if that is lower
)

var (
	portMu         sync.Mutex
	portHi         int // the range's end (exclusive), set on first use; 0: not yet
	portNext       int
	portKernelOnly bool // an unusual ephemeral range: the kernel chooses
)

// FreePort returns a loopback port that was free a moment ago, outside the ephemeral range
// where the kernel can tell.
func FreePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	if portHi == 0 { // first use: the kernel's range is read once per test binary
		portHi = min(portHigh, ephemeralLow())
		portKernelOnly = portHi-portLow < 1000
		if !portKernelOnly {
			portNext = portLow + rand.IntN(portHi-portLow)
		}
	}
	if portKernelOnly {
		return kernelPort()
	}
	for range portHi - portLow {
		p := portNext
		portNext++
		if portNext >= portHi {
			portNext = portLow
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // taken
		}
		_ = l.Close()
		return p, nil
	}
	return kernelPort()
}

func kernelPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
