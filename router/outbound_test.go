package router_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/promtest"
	"github.com/lidorub/lidorub/router"
)

func TestSendFailures(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{SendRetries: 2, MaxDeliveries: 3}})
	calls := 0
	e.sender.fail = func(out channels.Outbound) error {
		if out.Kind != "reply" {
			return nil
		}
		calls++
		if out.Text == "temp" {
			return errors.New("connection reset")
		}
		return channels.Permanentf("the customer blocked the bot")
	}
	e.online("anna")
	e.inbound("c1", "hi")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Reply(e.ctx, 1, "anna", "perm", nil); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if calls != 1 {
		t.Fatalf("permanent failure retried: %d calls", calls)
	}
	var failure *router.Event
	for i, ev := range e.events.evs {
		if ev.Type == router.EventSendFailure {
			failure = &e.events.evs[i]
		}
	}
	if failure == nil || failure.ManagerID != "anna" || failure.Reason != "the customer blocked the bot" {
		t.Fatalf("send failure not reported to anna: %v", e.events.of(1))
	}
	if got := testutil.ToFloat64(e.metrics.SendFailed.WithLabelValues("telegram", "permanent")); got != 1 {
		t.Fatalf("permanent failures %v", got)
	}
	if n := promtest.HistogramCount(t, e.reg, "lidorub_speed_to_lead_seconds", "channel", "telegram"); n != 0 {
		t.Fatalf("speed_to_lead counted an undelivered reply")
	}
	// temporary: tried 1 + send_retries times, then left pending for redelivery
	calls = 0
	if _, err := e.r.Reply(e.ctx, 1, "anna", "temp", nil); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if calls != 3 {
		t.Fatalf("temporary failure: %d calls, want 3", calls)
	}
	if got := promtest.Gauge(t, e.reg, "lidorub_stream_pending", "stream", "outbound"); got != 1 {
		t.Fatalf("outbound pending %v, want 1", got)
	}
}

// A rate limit longer than the in-handler wait is deferred durably: nothing stays pending
// (so reclaim cannot send it early), a second instance sends it when it is due, a rate
// limit that never ends is reported after max_deliveries deferrals, and an erased
// conversation's deferred reply is dropped.
func TestRateLimitDeferredDurably(t *testing.T) {
	team := []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor}}
	cfg := router.Config{MaxDeliveries: 2, ReclaimIdle: 10 * time.Second}
	e := newEnv(t, opts{cfg: cfg, managers: team})
	limited := map[string]bool{}
	e.sender.fail = func(out channels.Outbound) error {
		if limited[out.Text] {
			return &channels.RetryAfterError{After: time.Minute, Err: errors.New("429")}
		}
		return nil
	}
	e.online("anna")
	e.inbound("c1", "hi")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	limited["once"] = true
	if _, err := e.r.Reply(e.ctx, 1, "anna", "once", nil); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if got := promtest.Gauge(t, e.reg, "lidorub_stream_pending", "stream", "outbound"); got != 0 {
		t.Fatalf("outbound pending %v: a deferred send must not be left for reclaim", got)
	}
	e.advance(59 * time.Second)
	if e.sender.last().Text == "once" {
		t.Fatal("sent before retry_after")
	}
	limited["once"] = false
	other := newEnv(t, opts{shareWith: e, instance: "other", cfg: cfg, managers: team})
	other.clock.Advance(time.Second)
	other.settle()
	if other.sender.last().Text != "once" || len(other.sender.sent) != 1 {
		t.Fatalf("the deferred reply was not sent by the other instance when due: %+v", other.sender.sent)
	}

	limited["never"] = true
	if _, err := e.r.Reply(e.ctx, 1, "anna", "never", nil); err != nil {
		t.Fatal(err)
	}
	e.settle()
	for i := 0; i < 3; i++ {
		e.advance(time.Minute)
	}
	var failure *router.Event
	for i, ev := range e.events.evs {
		if ev.Type == router.EventSendFailure {
			failure = &e.events.evs[i]
		}
	}
	if failure == nil || failure.ManagerID != "anna" || !strings.Contains(failure.Reason, "rate-limiting") {
		t.Fatalf("endless rate limit not reported to anna: %v", e.events.of(1))
	}

	if _, err := e.r.Reply(e.ctx, 1, "anna", "never", nil); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if n := e.rdb.ZCard(e.ctx, e.keys.Core("deferred")).Val(); n != 1 {
		t.Fatalf("%d deferred sends, want 1", n)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	if n := e.rdb.ZCard(e.ctx, e.keys.Core("deferred")).Val(); n != 0 {
		t.Fatalf("%d deferred sends left after erasure, want 0", n)
	}
	limited["never"] = false
	e.advance(2 * time.Minute)
	for _, out := range e.sender.sent {
		if out.Text == "never" {
			t.Fatal("a reply of an erased conversation was sent")
		}
	}
}
