package router_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// A channel that holds replies until the customer fetches them (SendResult.Pending, the
// website chat's outbox): speed-to-lead ends at the first human reply's "delivered" status,
// not at the Send; an automatic message's status ends nothing.
func TestPendingSendEndsSpeedToLeadAtDelivery(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{OfferTimeout: time.Minute, FirstResponse: time.Hour, MaxOffers: 5}})
	var mu sync.Mutex
	refs := map[string]string{} // outbound kind → channel message id
	e.r.RegisterSender("outbox", channels.SenderFunc(func(_ context.Context, out channels.Outbound) (channels.SendResult, error) {
		mu.Lock()
		defer mu.Unlock()
		refs[out.Kind] = "ob-" + out.ID
		return channels.SendResult{ChannelMessageID: "ob-" + out.ID, Pending: true}, nil
	}))
	status := func(kind string) {
		t.Helper()
		mu.Lock()
		ref := refs[kind]
		mu.Unlock()
		if ref == "" {
			t.Fatalf("no %s was sent", kind)
		}
		e.ingestMsg(channels.Inbound{Channel: "outbox", MessageID: "st-" + ref, Kind: channels.KindStatus, ReceivedAt: e.clock.Now(),
			Meta: map[string]string{"ref": ref, "status": "delivered"}})
	}
	e.online("anna")
	e.ingestMsg(channels.Inbound{Channel: "outbox", MessageID: "m1", ContactID: "v1", Text: "hi", ReceivedAt: e.clock.Now()})
	e.advance(5 * time.Second)
	status("auto_ack") // the customer saw the automatic acknowledgement
	if c := e.conv(1); !c.FirstReplyAt.IsZero() {
		t.Fatalf("an automatic message ended speed-to-lead: %+v", c)
	}
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.advance(35 * time.Second)
	if _, err := e.r.Reply(e.ctx, 1, "anna", "hello", nil); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if c := e.conv(1); !c.Replied || !c.FirstReplyAt.IsZero() {
		t.Fatalf("sent, not yet delivered: %+v", c)
	}
	e.advance(20 * time.Second)
	status("reply")
	c := e.conv(1)
	if d := c.FirstReplyAt.Sub(c.FirstInboundAt); d != time.Minute {
		t.Fatalf("speed-to-lead %v, want 1m (%+v)", d, c)
	}
	e.advance(10 * time.Second)
	status("reply") // a repeated status changes nothing
	if c2 := e.conv(1); !c2.FirstReplyAt.Equal(c.FirstReplyAt) {
		t.Fatalf("first reply moved to %v", c2.FirstReplyAt)
	}
}
