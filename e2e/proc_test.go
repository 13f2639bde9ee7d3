//go:build unix

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/redistest"
)

// freePort returns a loopback port that was free a moment ago, below the ephemeral range (see
// redistest.FreePort: a port from :0 may be taken by an outgoing connection before the child binds).
func freePort(t testing.TB) int {
	t.Helper()
	p, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// proc is a child process (a gateway or a redis-server) with its output in a file.
type proc struct {
	t       testing.TB
	name    string
	args    []string
	logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	starts  int
}

func newProc(t testing.TB, name string, args ...string) *proc {
	p := &proc{t: t, name: name, args: args, logPath: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- last lines of %s's output:\n%s", p.name, p.tail(40))
		}
	})
	return p
}

// start launches the process. The child gets a clean environment without REDIS_URL (which
// would override redis.url in the gateway's config) and dies with the test binary.
func (p *proc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			p.t.Fatalf("%s: already running", p.name)
		}
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.starts++
	fmt.Fprintf(f, "=== start #%d\n", p.starts)
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "TZ=UTC"}
	cmd.SysProcAttr = redistest.ProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("%s: start: %v", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(done)
	}()
}

// signal sends sig and waits (at most timeout) for the process to exit; it returns the exit error.
func (p *proc) signal(sig syscall.Signal, timeout time.Duration) (error, bool) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil, true
	}
	select {
	case <-done:
	default:
		_ = cmd.Process.Signal(sig)
	}
	select {
	case <-done:
	case <-time.After(timeout):
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr, true
}

// freeze suspends the process (SIGSTOP): it holds its connections and whatever was
// delivered to it, like a hung process.
func (p *proc) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGSTOP)
	}
}

// kill stops the process with SIGKILL (a crash: no cleanup at all).
func (p *proc) kill() {
	if _, ok := p.signal(syscall.SIGKILL, 10*time.Second); !ok {
		p.t.Errorf("%s: did not die after SIGKILL", p.name)
	}
}

// term stops the process with SIGTERM and returns its exit error (nil: exit status 0).
func (p *proc) term(timeout time.Duration) error {
	err, ok := p.signal(syscall.SIGTERM, timeout)
	if !ok {
		p.kill()
		return fmt.Errorf("%s: did not exit within %s of SIGTERM", p.name, timeout)
	}
	return err
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *proc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// gateway is one lidorub process.
type gateway struct {
	*proc
	addr string // 127.0.0.1:port, kept across restarts
	cfg  gwConfig
}

// gwConfig is what varies between the tests' gateway configurations.
type gwConfig struct {
	Instance          string
	Port              int
	RedisURL          string
	Cluster           bool
	SentinelMaster    string
	Prefix            string
	Managers          []manager
	ReadHeaderTimeout string // default 2s
	ReadTimeout       string // default 10s
	MaxBodyBytes      int    // default 1 MiB
	RatePerMinute     int    // default: no per-IP limit in practice
	Burst             int
	OfferTimeout      string // default 2s
	FirstResponse     string // default 3s
	ReclaimIdle       string // default 2s
}

type manager struct {
	ID       string
	Token    string
	Capacity int
}

func makeManagers(n, capacity int) []manager {
	ms := make([]manager, n)
	for i := range ms {
		id := fmt.Sprintf("m%d", i)
		ms[i] = manager{ID: id, Token: fmt.Sprintf("e2e-token-%s-0123456789", id), Capacity: capacity}
	}
	return ms
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (c gwConfig) yaml() string {
	var b bytes.Buffer
	rate, burst := c.RatePerMinute, c.Burst
	if rate == 0 {
		rate, burst = 6000000, 100000
	}
	maxBody := c.MaxBodyBytes
	if maxBody == 0 {
		maxBody = 1 << 20
	}
	fmt.Fprintf(&b, `instance_id: %s
log:
  level: info
  format: text
http:
  listen: 127.0.0.1:%d
  read_timeout: %s
  read_header_timeout: %s
  write_timeout: 10s
  idle_timeout: 30s
  shutdown_timeout: 10s
  max_body_bytes: %d
redis:
  url: %q
  cluster: %v
  sentinel_master: %q
  prefix: %s
router:
  strategy: least_busy
  offer_timeout: %s
  first_response: %s
  max_offers: 3
  workers: 4
  timer_interval: 50ms
  reclaim_idle: %s
  max_deliveries: 10
managers:
`, c.Instance, c.Port, or(c.ReadTimeout, "10s"), or(c.ReadHeaderTimeout, "2s"), maxBody,
		c.RedisURL, c.Cluster, c.SentinelMaster, c.Prefix, or(c.OfferTimeout, "2s"), or(c.FirstResponse, "3s"), or(c.ReclaimIdle, "2s"))
	for _, m := range c.Managers {
		fmt.Fprintf(&b, "  - {id: %s, token: %s, capacity: %d}\n", m.ID, m.Token, m.Capacity)
	}
	fmt.Fprintf(&b, `channels:
  form:
    rate_per_minute: %d
    burst: %d
`, rate, burst)
	return b.String()
}

// newGateway writes the config and returns a gateway that is not started yet.
func newGateway(t testing.TB, c gwConfig) *gateway {
	t.Helper()
	if c.Port == 0 {
		c.Port = freePort(t)
	}
	g := &gateway{proc: newProc(t, c.Instance, binPath), addr: "127.0.0.1:" + strconv.Itoa(c.Port), cfg: c}
	g.configure(c)
	return g
}

// configure writes c as the gateway's config for its next start (same port).
func (g *gateway) configure(c gwConfig) {
	g.t.Helper()
	c.Port = g.cfg.Port
	path := filepath.Join(g.t.TempDir(), c.Instance+".yaml")
	if err := os.WriteFile(path, []byte(c.yaml()), 0o600); err != nil {
		g.t.Fatal(err)
	}
	g.mu.Lock()
	g.args = []string{binPath, "-c", path, "serve"}
	g.mu.Unlock()
	g.cfg = c
}

// startReady starts the gateway and waits (bounded) until /readyz answers 200.
func (g *gateway) startReady() {
	g.t.Helper()
	g.start()
	g.waitReady(20 * time.Second)
}

func (g *gateway) waitReady(timeout time.Duration) {
	g.t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			g.t.Fatalf("%s exited during start-up:\n%s", g.name, g.tail(30))
		default:
		}
		resp, err := c.Get("http://" + g.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond) // polling a child process's readiness, not a timer
	}
	g.t.Fatalf("%s not ready within %s:\n%s", g.name, timeout, g.tail(30))
}

// redisServer is a private redis-server in its own directory.
type redisServer struct {
	*proc
	port int
	dir  string
}

// newRedisServer starts redis-server on a free loopback port with extra arguments.
func newRedisServer(t testing.TB, name string, extra ...string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("this test starts its own redis-server, which is not on PATH (apt-get install redis-server)")
	}
	port := freePort(t)
	dir := t.TempDir()
	args := append([]string{bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--protected-mode", "no"}, extra...)
	s := &redisServer{proc: newProc(t, name, args...), port: port, dir: dir}
	s.startReady()
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }
func (s *redisServer) url() string  { return "redis://" + s.addr() }

// startReady starts the server and waits (bounded) until it answers PING, having loaded its data.
func (s *redisServer) startReady() {
	s.t.Helper()
	s.start()
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil { // a server still loading its AOF answers LOADING, an error
			return
		}
		time.Sleep(20 * time.Millisecond) // polling a child process's readiness, not a timer
	}
	s.t.Fatalf("%s did not answer PING within 15s:\n%s", s.name, s.tail(20))
}
