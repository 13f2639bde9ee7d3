package router_test

import (
	"errors"
	"testing"

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
