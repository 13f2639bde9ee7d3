//go:build unix

package e2e

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
)

// An in-process gateway, built by package app from the same configuration the process tests
// give the binary, runs the lead lifecycle under the load checks: every lead posted is
// stored once, offered, accepted, contacted and closed, no manager ever holds more than
// their capacity, and the whole gateway stops cleanly when its context ends.
func TestInProcessGateway(t *testing.T) {
	const leads = 200
	rdb, prefix := redistest.New(t)
	cleanupKeys(t, rdb, prefix)
	managers := makeManagers(3, 8)
	c := gwConfig{Instance: "gw-inproc", Port: freePort(t), RedisURL: redistest.URL(t), Prefix: prefix, Managers: managers}
	cfg, err := config.Parse([]byte(c.yaml()), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := app.Build(context.Background(), cfg, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopGateway := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- g.Run(runCtx, ln) }()
	defer stopGateway()

	gw := &gateway{addr: ln.Addr().String(), cfg: c}
	f := newFleet(t, rdb, prefix, managers, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f.audit(ctx)
	mctx, stopManagers := context.WithCancel(ctx)
	defer stopManagers()
	var bg sync.WaitGroup
	var handled, maxHeld atomic.Int64
	for _, m := range managers {
		bg.Add(1)
		go func() { defer bg.Done(); f.runManager(mctx, m, 0, &handled) }()
	}
	bg.Add(1)
	go func() { defer bg.Done(); f.sample(mctx, 100*time.Millisecond, &maxHeld) }()

	var progress atomic.Int64
	results := f.sendLeads(ctx, leads, 200, 8, &progress)
	convs := f.waitAllClosed(ctx, leads, 30*time.Second)
	stopManagers()
	bg.Wait()
	f.violations.report(t)
	f.checkLeads(ctx, results, convs)

	stopGateway()
	select {
	case err := <-stopped:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("gateway stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the gateway did not stop within its shutdown timeout")
	}
	t.Logf("%d leads closed by %d managers (%d handled, max %d held at once)", leads, len(managers), handled.Load(), maxHeld.Load())
}
