package router_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

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
