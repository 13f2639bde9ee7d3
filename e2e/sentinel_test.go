//go:build unix

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/redistest"
)

// The pipeline through Redis Sentinel: a master, one Sentinel monitoring it, and a gateway
// configured with redis.sentinel_master and the Sentinel's address as its seed list.
func TestPipelineThroughSentinel(t *testing.T) {
	const leads, rate = 50, 100
	master := newRedisServer(t, "redis-master")
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf") // Sentinel rewrites its config file: it must be writable
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor e2emaster 127.0.0.1 %d 1\n", port, dir, master.port)), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := &redisServer{proc: newProc(t, "redis-sentinel", bin, conf, "--sentinel"), port: port, dir: dir}
	sentinel.startReady()
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.addr()})
	t.Cleanup(func() { sc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr, err := sc.GetMasterAddrByName(ctx, "e2emaster").Result()
	if err != nil || len(addr) != 2 || addr[1] != strconv.Itoa(master.port) {
		t.Fatalf("sentinel reports master %v, %v; want port %d", addr, err, master.port)
	}

	rdb := redis.NewClient(&redis.Options{Addr: master.addr()})
	t.Cleanup(func() { rdb.Close() })
	prefix := redistest.Prefix()
	managers := makeManagers(2, 5)
	gw := newGateway(t, gwConfig{Instance: "gw-sentinel", RedisURL: sentinel.addr(), SentinelMaster: "e2emaster", Prefix: prefix, Managers: managers})
	f := newFleet(t, rdb, prefix, managers, gw)
	f.audit(ctx)
	gw.startReady()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var bg sync.WaitGroup
	var handled atomic.Int64
	for _, m := range managers {
		bg.Add(1)
		go func() { defer bg.Done(); f.runManager(runCtx, m, 0, &handled) }()
	}
	var progress atomic.Int64
	results := f.sendLeads(ctx, leads, rate, 4, &progress)
	convs := f.waitAllClosed(ctx, leads, 30*time.Second)
	stopRun()
	bg.Wait()
	f.violations.report(t)
	f.checkLeads(ctx, results, convs)
	t.Logf("%d leads through Sentinel-discovered master %s:%s, all closed", len(convs), addr[0], addr[1])
}
