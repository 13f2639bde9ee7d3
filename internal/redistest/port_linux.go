package redistest

import (
	"os"
	"strconv"
	"strings"
)

// ephemeralLow is the first port of the kernel's range for the local end of outgoing
// connections (net.ipv4.ip_local_port_range; 32768 by default).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}
