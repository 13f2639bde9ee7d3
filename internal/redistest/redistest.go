// Package redistest gives tests a real Redis: the server named by REDIS_URL, or else a
// private redis-server started on a free port for the test binary. With neither, the test
// fails with a clear message; it never skips.
//
// Every call to New returns a unique key prefix, so tests (and packages running in
// parallel against one shared REDIS_URL) never see each other's keys and nothing is flushed.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	once    sync.Once
	url     string
	startEr error
	proc    *exec.Cmd
	dir     string
)

// Run is for TestMain: it runs the tests and stops the private redis-server, if one was started.
//
//	func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }
func Run(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop kills the private redis-server, if any.
func Stop() {
	if proc != nil && proc.Process != nil {
		_ = proc.Process.Kill()
		_, _ = proc.Process.Wait()
		proc = nil
	}
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

// URL returns the Redis URL tests use, starting a private server if needed.
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { url, startEr = resolve() })
	if startEr != nil {
		tb.Fatalf("redistest: no Redis for the tests: %v\n"+
			"Set REDIS_URL=redis://127.0.0.1:6379 or install redis-server (apt-get install redis-server).", startEr)
	}
	return url
}

// New returns a client connected to the test Redis and a fresh, unique key prefix.
// When the test ends, every key built from the prefix (they all start with "{"+prefix) is
// deleted and the client is closed, so a shared REDIS_URL does not collect test data.
func New(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	opt, err := redis.ParseURL(URL(tb))
	if err != nil {
		tb.Fatalf("redistest: bad REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	prefix := Prefix()
	tb.Cleanup(func() {
		DeletePrefix(c, prefix)
		_ = c.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redistest: Redis at %s does not answer: %v", opt.Addr, err)
	}
	return c, prefix
}

// DeletePrefix deletes every key that starts with "{"+prefix (best effort).
func DeletePrefix(c redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, "{"+prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			_ = c.Unlink(ctx, batch...).Err()
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		_ = c.Unlink(ctx, batch...).Err()
	}
}

// Prefix returns a unique key prefix for one test.
func Prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

func resolve() (string, error) {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u, nil
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("REDIS_URL is not set and redis-server is not on PATH")
	}
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	dir, err = os.MkdirTemp("", "redistest")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	cmd.SysProcAttr = ProcAttr()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start redis-server: %w", err)
	}
	proc = cmd
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return "redis://" + addr, nil
		}
		time.Sleep(20 * time.Millisecond) // waiting for a child process to listen, not for a timer
	}
	Stop()
	return "", fmt.Errorf("redis-server did not listen on %s within 10s", addr)
}
