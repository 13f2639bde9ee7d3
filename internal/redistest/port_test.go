package redistest

import (
	"net"
	"strconv"
	"testing"
)

// TestFreePortBelowTheEphemeralRange: the ports handed to child servers are distinct, free
// (a listener binds them) and outside the range the kernel gives outgoing connections.
func TestFreePortBelowTheEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if p < portLow || p >= ephemeralLow() {
			t.Fatalf("port %d outside [%d, %d)", p, portLow, ephemeralLow())
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		defer l.Close()
	}
}
