package router_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// Two router instances on one Redis, 200 new conversations, 5 managers taking, answering and
// closing them while offers lapse: no conversation is ever offered or assigned to two
// managers, and no manager ever holds more than their capacity.
func TestTwoInstancesNeverDoubleAssign(t *testing.T) {
	const convs, capacity = 200, 3
	ms := []router.Manager{}
	for i := 0; i < 5; i++ {
		ms = append(ms, router.Manager{ID: fmt.Sprintf("m%d", i), Capacity: capacity})
	}
	cfg := router.Config{OfferTimeout: 30 * time.Second, FirstResponse: time.Hour, MaxOffers: 100}
	a := newEnv(t, opts{cfg: cfg, managers: ms, instance: "a"})
	b := newEnv(t, opts{cfg: cfg, managers: ms, instance: "b", shareWith: a})
	for _, m := range ms {
		if err := a.r.SetOnline(a.ctx, m.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var violations atomic.Int64
	var closed atomic.Int64
	report := func(format string, args ...any) {
		if violations.Add(1) <= 5 {
			t.Errorf(format, args...)
		}
	}
	// customers: two writers
	for w := 0; w < 2; w++ {
		w := w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < convs; i += 2 {
				in := channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: fmt.Sprintf("m%d", i),
					ContactID: fmt.Sprintf("c%d", i), Text: "hi"}
				if _, err := a.ingest.Ingest(ctx, in); err != nil {
					report("ingest: %v", err)
					return
				}
			}
		}()
	}
	// two router instances working in parallel
	for _, e := range []*env{a, b} {
		e := e
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && closed.Load() < convs {
				if _, err := e.r.Step(ctx); err != nil && ctx.Err() == nil {
					report("step: %v", err)
					return
				}
			}
		}()
	}
	// the clock moves on: some offers lapse while managers race to accept them
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil && closed.Load() < convs {
			a.clock.Advance(7 * time.Second)
			time.Sleep(2 * time.Millisecond) // pacing the load, not waiting for a timer
		}
	}()
	// managers, each working through both instances' Desk
	for i, m := range ms {
		m := m
		desk := []*env{a, b}[i%2].r
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && closed.Load() < convs {
				v, err := desk.Manager(ctx, m.ID)
				if err != nil {
					report("view: %v", err)
					return
				}
				if v.Load > capacity || len(v.Offers)+len(v.Conversations) > capacity {
					report("%s holds %d (load %d) > capacity %d", m.ID, len(v.Offers)+len(v.Conversations), v.Load, capacity)
				}
				for _, c := range v.Offers {
					if (c.ID+c.OfferSeq)%3 == 0 {
						continue // ignore this offer: it lapses and goes to someone else
					}
					_ = desk.Accept(ctx, c.ID, m.ID) // may lose the race against a lapse: fine
				}
				for _, c := range v.Conversations {
					if _, err := desk.Reply(ctx, c.ID, m.ID, "hello", nil); err != nil {
						continue
					}
					if err := desk.Close(ctx, c.ID, m.ID); err == nil {
						closed.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	a.settle()
	b.settle()
	if ctx.Err() != nil {
		t.Fatalf("timed out with %d of %d conversations closed", closed.Load(), convs)
	}
	if closed.Load() != convs {
		t.Fatalf("closed %d conversations, want %d", closed.Load(), convs)
	}
	// every offer (conversation, seq) was made exactly once, across both instances
	seen := map[string]int{}
	for _, l := range []*eventLog{a.events, b.events} {
		for _, ev := range l.evs {
			if ev.Type == router.EventOffer {
				seen[fmt.Sprintf("%d/%d", ev.ConversationID, ev.OfferSeq)]++
			}
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("offer %s notified %d times", k, n)
		}
	}
	// exactly one assignment per conversation: the closer
	assigned := map[int64]int{}
	for _, l := range []*eventLog{a.events, b.events} {
		for _, ev := range l.evs {
			if ev.Type == router.EventClosed {
				assigned[ev.ConversationID]++
			}
		}
	}
	if len(assigned) != convs {
		t.Errorf("%d conversations closed in events, want %d", len(assigned), convs)
	}
	for id, n := range assigned {
		if n != 1 {
			t.Errorf("conversation %d closed %d times", id, n)
		}
	}
	for _, m := range ms {
		v, _ := a.r.Manager(a.ctx, m.ID)
		if v.Load != 0 {
			t.Errorf("%s load %d after everything closed", m.ID, v.Load)
		}
	}
	t.Logf("%d offers for %d conversations", len(seen), convs)
}

// An instance killed mid-processing leaves its entries pending; another instance reclaims
// them once idle, and nothing is lost or applied twice.
func TestKilledInstanceWorkIsReclaimed(t *testing.T) {
	a := newEnv(t, opts{instance: "dead"})
	a.online("anna")
	for i := 0; i < 3; i++ {
		if _, err := a.ingest.Ingest(a.ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop",
			MessageID: fmt.Sprintf("x%d", i), ContactID: fmt.Sprintf("c%d", i), Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	// the dead instance read all three and crashed before acknowledging
	if err := store.EnsureGroup(a.ctx, a.rdb, a.keys.Inbound(), "router"); err != nil {
		t.Fatal(err)
	}
	got, err := a.rdb.XReadGroup(a.ctx, &redis.XReadGroupArgs{Group: "router", Consumer: "dead-in-0",
		Streams: []string{a.keys.Inbound(), ">"}, Count: 10, Block: -1}).Result()
	if err != nil || len(got[0].Messages) != 3 {
		t.Fatalf("read: %v %v", got, err)
	}
	// it even applied the first one before dying (no ack): the re-run must not duplicate it
	m0 := got[0].Messages[0]
	if err := a.r.HandleInbound(a.ctx, store.Entry{Stream: a.keys.Inbound(), ID: m0.ID, Values: m0.Values}); err != nil {
		t.Fatal(err)
	}
	b := newEnv(t, opts{instance: "alive", shareWith: a})
	// make the entries look idle for 10 minutes without waiting: XCLAIM ... IDLE
	for _, m := range got[0].Messages {
		if err := a.rdb.Do(a.ctx, "XCLAIM", a.keys.Inbound(), "router", "dead-in-0", 0, m.ID, "IDLE", 600000).Err(); err != nil {
			t.Fatal(err)
		}
	}
	b.settle()
	for id := int64(1); id <= 3; id++ {
		if c := b.conv(id); c.State != router.StateOffered && c.State != router.StateWaiting {
			t.Fatalf("conversation %d: %+v", id, c)
		}
	}
	if _, err := b.r.Conversation(b.ctx, 4); err == nil {
		t.Fatal("a fourth conversation exists: an entry was applied twice")
	}
	if p := b.rdb.XPending(b.ctx, b.keys.Inbound(), "router").Val().Count; p != 0 {
		t.Fatalf("%d entries still pending", p)
	}
	// applying the same entry id again (a redelivery after a crash between apply and ack) is a no-op
	n, _ := b.rdb.XLen(b.ctx, b.keys.Inbound()).Result()
	if n != 3 {
		t.Fatalf("inbound length %d", n)
	}
}
