package router_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// Erasure deletes the contact's inbound entries that were applied, acknowledged or not (a
// crash between applying and acknowledging), and keeps a pending one not yet applied: it is
// a new message, which makes a new conversation.
func TestEraseKeepsUnappliedInbound(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor}}})
	e.inbound("c1", "first")
	ingest := func(id, text string) string {
		t.Helper()
		res, err := e.ingest.Ingest(e.ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: id,
			ContactID: "c1", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return res.EntryID
	}
	applied := ingest("c1-applied", "applied, not acknowledged")
	fresh := ingest("c1-fresh", "not applied yet")
	// a consumer that died after process.lua for the first and before applying the second
	if err := e.rdb.XReadGroup(e.ctx, &redis.XReadGroupArgs{Group: "router", Consumer: "dead",
		Streams: []string{e.keys.Inbound(), ">"}, Count: 2, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.rdb.Set(e.ctx, e.keys.Core("done", applied), "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, m := range e.rdb.XRange(e.ctx, e.keys.Inbound(), "-", "+").Val() {
		left = append(left, m.ID)
	}
	if !slices.Equal(left, []string{fresh}) {
		t.Fatalf("inbound entries left %v, want only the unapplied %s", left, fresh)
	}
}

// forgetRecorder is a channel's erasure hook that fails while fail is set.
type forgetRecorder struct {
	mu    sync.Mutex
	calls []string
	fail  bool
}

func (f *forgetRecorder) Forget(_ context.Context, account, contactID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, account+"/"+contactID)
	if f.fail {
		return errors.New("hook down")
	}
	return nil
}

func (f *forgetRecorder) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// The forget job of an erased or retired conversation calls its channel's Forget hook, and
// stays queued (retried on the next sweep) while the hook fails.
func TestForgetJobCallsChannelHook(t *testing.T) {
	const retention = time.Hour
	e := newEnv(t, opts{cfg: router.Config{Retention: retention},
		managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	hook := &forgetRecorder{fail: true}
	e.r.RegisterForgetter(channels.Telegram, hook)
	e.online("anna")
	e.inbound("c1", "erase me")
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatalf("erase with a failing hook: %v (the sweep retries, erasure itself succeeded)", err)
	}
	if got := hook.called(); !slices.Equal(got, []string{"shop/c1"}) {
		t.Fatalf("hook calls %v, want [shop/c1]", got)
	}
	if _, err := e.r.Step(e.ctx); err == nil {
		t.Fatal("a step with a failing hook reported no error")
	}
	if got := len(hook.called()); got != 2 {
		t.Fatalf("hook called %d times, want 2 (the job retried on the next sweep)", got)
	}
	hook.mu.Lock()
	hook.fail = false
	hook.mu.Unlock()
	e.settle()
	e.settle()
	if got := len(hook.called()); got != 3 {
		t.Fatalf("hook called %d times, want 3 (once more, then the job is done)", got)
	}
	// retention
	e.inbound("c2", "retire me")
	e.closeConv(2, e.take(2))
	e.advance(retention + time.Second)
	if got := hook.called(); !slices.Equal(got[3:], []string{"shop/c2"}) {
		t.Fatalf("hook calls after retention %v, want shop/c2 last", got)
	}
	// a channel without a hook
	e.ingestMsg(channels.Inbound{Channel: channels.Instagram, Account: "ig", MessageID: "i1", ContactID: "c3", Text: "hi"})
	if err := e.r.Erase(e.ctx, 3, "sue"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if got := len(hook.called()); got != 4 {
		t.Fatalf("hook called %d times, want 4 (not for another channel)", got)
	}
}
