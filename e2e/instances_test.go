//go:build unix

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lidorub/lidorub/internal/redistest"
)

// Three gateway processes on one Redis take 2,000 web-form leads while six synthetic
// lead-managers accept, mark contacted and close them through the agent API (and let one
// offer in ten lapse and one accepted lead in 25 go uncontacted, so both kinds of timers
// fire). Mid-run one process hangs, is killed with SIGKILL and replaced by a process with a
// new instance id (its pending entries must be reclaimed); later another is stopped with
// SIGTERM (graceful shutdown under load) and restarted. Every lead answered 2xx must end as exactly one conversation with its one
// message, at every sampled moment no conversation is held by two managers and nobody is
// above capacity, and every timer fires once.
func TestThreeInstancesSurviveKillAndTerm(t *testing.T) {
	const (
		leads       = 2000
		rate        = 250 // leads per second
		ignoreEvery = 10
	)
	rdb, prefix := redistest.New(t)
	cleanupKeys(t, rdb, prefix)
	url := redistest.URL(t)
	managers := makeManagers(6, 8)
	var gws []*gateway
	for i := 1; i <= 3; i++ {
		gws = append(gws, newGateway(t, gwConfig{Instance: fmt.Sprintf("gw-%d", i), RedisURL: url, Prefix: prefix, Managers: managers}))
	}
	f := newFleet(t, rdb, prefix, managers, gws...)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	f.audit(ctx)
	for _, g := range gws {
		g.startReady()
	}
	start := time.Now()

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var bg sync.WaitGroup
	var handled, maxHeld atomic.Int64
	for _, m := range managers {
		bg.Add(1)
		go func() { defer bg.Done(); f.runManager(runCtx, m, ignoreEvery, &handled) }()
	}
	bg.Add(1)
	go func() { defer bg.Done(); f.sample(runCtx, 100*time.Millisecond, &maxHeld) }()

	var progress atomic.Int64
	var results []leadResult
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		results = f.sendLeads(ctx, leads, rate, 24, &progress)
	}()

	waitProgress := func(n int64) {
		for progress.Load() < n && ctx.Err() == nil {
			select {
			case <-sent:
				return
			case <-time.After(10 * time.Millisecond): // watching the load's progress
			}
		}
	}
	// A third of the way in gw-2 hangs (SIGSTOP) for 300ms, so that entries are delivered to
	// it and never acknowledged, then is killed with SIGKILL. It comes back after a second
	// under a new instance id (a replacement pod), so what its old consumers held pending
	// must be reclaimed by the others after reclaim_idle (2s).
	waitProgress(leads / 3)
	killedAt := progress.Load()
	gws[1].freeze()
	time.Sleep(300 * time.Millisecond) // hung under load
	gws[1].kill()
	pendingAtKill := f.pendingOf(ctx, "gw-2-")
	time.Sleep(time.Second) // the process stays dead for a while under load
	c := gws[1].cfg
	c.Instance = "gw-2-replacement"
	gws[1].configure(c)
	gws[1].startReady()
	// SIGTERM gw-3 two thirds of the way in: graceful shutdown under load.
	waitProgress(2 * leads / 3)
	termAt := progress.Load()
	termStart := time.Now()
	termErr := gws[2].term(15 * time.Second)
	termTook := time.Since(termStart)
	if termErr != nil {
		t.Errorf("gw-3 after SIGTERM: %v (want exit status 0)", termErr)
	}
	if out := gws[2].output(); !strings.Contains(out, "stopped cleanly") {
		t.Errorf("gw-3 did not log a clean stop:\n%s", gws[2].tail(15))
	}
	gws[2].startReady()
	<-sent
	sentAt := time.Since(start)

	convs := f.waitAllClosed(ctx, leads, 60*time.Second)
	stopRun()
	bg.Wait()
	f.violations.report(t)
	f.checkLeads(ctx, results, convs)
	ts := f.checkTimers(ctx)
	if ts.lapsed == 0 {
		t.Errorf("no offer lapsed: the offer timers were not exercised")
	}
	if ts.released == 0 {
		t.Errorf("no conversation was released for lack of a first contact: first-response timers were not exercised")
	}
	reclaimed := 0
	for _, g := range gws {
		reclaimed += strings.Count(g.output(), "reclaimed entry from a stalled consumer")
	}
	if pendingAtKill == 0 {
		t.Errorf("gw-2 held no pending entries when killed: reclaiming was not exercised")
	}
	if reclaimed < int(pendingAtKill) {
		t.Errorf("gw-2 died holding %d pending entries; only %d reclaims were logged", pendingAtKill, reclaimed)
	}
	if f.samples.Load() < 10 || f.apiChecks.Load() < 100 {
		t.Errorf("too few invariant checks: %d snapshots, %d API views", f.samples.Load(), f.apiChecks.Load())
	}
	dups := 0
	for _, r := range results {
		if r.dup {
			dups++
		}
	}
	t.Logf("%d leads in %s (SIGKILL gw-2 at %d, SIGTERM gw-3 at %d, graceful stop took %s); all closed after %s; "+
		"%d closed by managers, %d offers, %d lapsed, %d released for no reply, %d timers fired; "+
		"%d retried leads answered as duplicates; %d snapshots (max %d held at once), %d API views checked; %d entries pending on gw-2 when killed, %d stream entries reclaimed from stalled consumers",
		leads, sentAt.Round(time.Millisecond), killedAt, termAt, termTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond),
		handled.Load(), ts.offers, ts.lapsed, ts.released, ts.fired, dups, f.samples.Load(), maxHeld.Load(), f.apiChecks.Load(), pendingAtKill, reclaimed)
}
