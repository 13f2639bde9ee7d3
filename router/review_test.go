package router_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// afterReadHook runs f once, right after the first pipeline that reads (HGETALL) key: between Reply's ownership check and what follows it. f may use the same
// client: the hook is disarmed by then.
type afterReadHook struct {
	key   string
	fired atomic.Bool
	f     func()
}

func (h *afterReadHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *afterReadHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *afterReadHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if a := c.Args(); c.Name() == "hgetall" && len(a) > 1 && a[1] == h.key {
				if h.fired.CompareAndSwap(false, true) {
					h.f()
				}
				break
			}
		}
		return err
	}
}

// A conversation erased while its manager's reply is on its way (between Reply's ownership
// check and the reply script) must stay erased: no key of it may come back.
func TestReplyRacingEraseLeavesNoGhost(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 1}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	e.online("anna")
	e.inbound("c1", "hello")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.rdb.AddHook(&afterReadHook{key: e.keys.Core("conv", "1"), f: func() {
		if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
			t.Errorf("erase: %v", err)
		}
	}})
	if _, err := e.r.Reply(e.ctx, 1, "anna", "hi there", nil); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("reply to an erased conversation: %v, want ErrNotFound", err)
	}
	if n := e.rdb.Exists(e.ctx, e.keys.Core("conv", "1")).Val(); n != 0 {
		t.Fatalf("the erased conversation's hash is back: %v", e.rdb.HGetAll(e.ctx, e.keys.Core("conv", "1")).Val())
	}
	if _, err := e.r.Conversation(e.ctx, 1); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("erased conversation readable: %v", err)
	}
}

// A reply that only ever fails temporarily must not vanish into the dead-letter stream
// unnoticed: once its deliveries are used up, its author is told, as for a permanent failure.
func TestReplyFailingTemporarilyForeverIsReported(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{SendRetries: 1, MaxDeliveries: 3}})
	e.sender.fail = func(out channels.Outbound) error {
		if out.Kind == "reply" {
			return errors.New("connection reset")
		}
		return nil
	}
	e.online("anna")
	e.inbound("c1", "hi")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	outID, err := e.r.Reply(e.ctx, 1, "anna", "hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.settle()
	stream := e.keys.Core("outbound")
	for round := 0; round < 10; round++ {
		p, err := e.rdb.XPendingExt(e.ctx, &redis.XPendingExtArgs{Stream: stream, Group: "send", Start: "-", End: "+", Count: 10}).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		// the entry has been pending for ten minutes (simulated): it is reclaimed
		for _, x := range p {
			if err := e.rdb.Do(e.ctx, "XCLAIM", stream, "send", x.Consumer, 0, x.ID, "IDLE", 600000, "JUSTID").Err(); err != nil {
				t.Fatal(err)
			}
		}
		e.settle()
	}
	var failure *router.Event
	for i, ev := range e.events.evs {
		if ev.Type == router.EventSendFailure {
			failure = &e.events.evs[i]
		}
	}
	if failure == nil || failure.ManagerID != "anna" || failure.Message == nil || failure.Message.ID != outID {
		t.Fatalf("the undeliverable reply was not reported to anna: %v", e.events.of(1))
	}
	tr, err := e.r.Transcript(e.ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if last := tr[len(tr)-1]; last.Kind != "note" || last.ID != outID {
		t.Fatalf("transcript does not record the failure: %+v", last)
	}
}

// Shutdown does not wait out a send's retry backoff (a rate limit up to half of reclaim_idle
// is waited out in the handler): the wait is cut short, and the entry is left pending for the
// next instance, which cannot reclaim it before the rate limit's deadline.
func TestShutdownCutsSendRetryWaitShort(t *testing.T) {
	waiting := make(chan struct{}, 1)
	e := newEnv(t, opts{cfg: router.Config{Workers: 1}, sleep: func(ctx context.Context, d time.Duration) error {
		select {
		case waiting <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute): // a real backoff, as in production
			return nil
		}
	}})
	e.sender.fail = func(channels.Outbound) error {
		return &channels.RetryAfterError{After: 10 * time.Second, Err: errors.New("429")}
	}
	if _, err := e.ingest.Ingest(e.ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m1",
		ContactID: "c1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.r.Run(ctx) }()
	select {
	case <-waiting: // the auto-acknowledgement was rate limited; its worker waits to retry
	case <-time.After(10 * time.Second):
		t.Fatal("the auto-acknowledgement was never sent")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return: shutdown waits out the send's retry backoff")
	}
	if p := e.rdb.XPending(e.ctx, e.keys.Core("outbound"), "send").Val(); p == nil || p.Count != 1 {
		t.Fatalf("outbound pending %+v, want the auto-acknowledgement left for the next instance", p)
	}
}
