//go:build unix

// Package e2e runs the real lidorub binary as separate processes (and, in
// TestInProcessGateway, the gateway app builds, in this process) against real Redis servers
// and breaks things: processes killed with SIGKILL or stopped with SIGTERM under load, Redis
// killed and restarted with AOF, a Redis Cluster, slow and oversized clients. Everything
// listens on loopback only and every wait is bounded.
//
// The binary is built once (go build) into a temporary directory by TestMain. The tests need
// a redis-server binary (apt-get install redis-server) for the private servers they start;
// the shared Redis comes from REDIS_URL or internal/redistest. Unix only: the suite stops
// and kills processes with signals.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lidorub/lidorub/internal/redistest"
)

// binPath is the lidorub binary built by TestMain.
var binPath string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lidorub-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "lidorub")
	cmd := exec.Command("go", "build", "-o", binPath, "github.com/lidorub/lidorub/cmd/lidorub")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/lidorub: %v\n%s", err, out)
		return 1
	}
	return redistest.Run(m)
}
