package router_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

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
