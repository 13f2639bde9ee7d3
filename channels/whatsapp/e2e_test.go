package whatsapp

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// TestEndToEndWithRouter: a WhatsApp message becomes a conversation offered to a manager; the
// auto-ack and the manager's reply go out through this channel; the customer's read receipt
// updates the reply's delivery state; a logged-out device escalates through the router.
func TestEndToEndWithRouter(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	m := metrics.New(prometheus.NewRegistry(), []string{"anna"})
	r, err := router.New(router.Config{}, []router.Manager{{ID: "anna", Capacity: 2}}, router.Templates{}, router.Deps{
		Redis: rdb, Keys: keys, Clock: clk, Log: slog.New(slog.DiscardHandler), Metrics: m, Instance: "gw-1",
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var evs []string
	r.AddNotifier(router.NotifierFunc(func(_ context.Context, ev router.Event) error {
		mu.Lock()
		defer mu.Unlock()
		evs = append(evs, ev.Type+":"+ev.ManagerID+":"+ev.Reason)
		return nil
	}))
	wa := newEnv(t, rdb, keys, clk, func(_ *Config, d *channels.Deps) {
		d.Ingester = store.NewIngest(rdb, keys, clk, m)
		d.Alerter = r
	})
	r.RegisterSender(channels.WhatsApp, wa.ch)
	settle := func() {
		t.Helper()
		if err := r.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}

	wa.step(t)
	c := wa.client("sales")
	c.dispatch(&events.Connected{})
	if err := r.SetOnline(ctx, "anna", true); err != nil {
		t.Fatal(err)
	}
	if !c.dispatch(loadMessage(t, "lid_sender_alt.json")) {
		t.Fatal("message not acked")
	}
	settle()

	conv, err := r.Conversation(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if conv.State != router.StateOffered || conv.OfferTo != "anna" {
		t.Fatalf("conversation %+v", conv)
	}
	c.mu.Lock()
	sent := append([]sentMessage(nil), c.sent...)
	c.mu.Unlock()
	pn := types.NewJID("4915112345678", types.DefaultUserServer)
	if len(sent) != 1 || sent[0].To != pn || !strings.Contains(sent[0].Text, "manager") {
		t.Fatalf("auto-ack: %+v", sent)
	}

	if err := r.Accept(ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	outID, err := r.Reply(ctx, 1, "anna", "Hi Anna! Yes, still available.", nil)
	if err != nil {
		t.Fatal(err)
	}
	settle()
	c.mu.Lock()
	last := c.sent[len(c.sent)-1]
	c.mu.Unlock()
	if last.Text != "Hi Anna! Yes, still available." || last.To != pn || last.ID != DeriveMessageID("sales", outID) {
		t.Fatalf("reply sent as %+v", last)
	}

	// The customer reads it (the receipt comes from the LID chat).
	if !c.dispatch(&events.Receipt{MessageSource: types.MessageSource{Chat: types.NewJID("93528374651234", types.HiddenUserServer), SenderAlt: pn},
		Type: types.ReceiptTypeRead, MessageIDs: []string{last.ID}, Timestamp: clk.Now()}) {
		t.Fatal("receipt not acked")
	}
	settle()
	if st, err := rdb.Get(ctx, keys.Core("out", outID)).Result(); err != nil || st != "read" {
		t.Fatalf("reply status %q, %v", st, err)
	}

	// The phone removes the device: the router escalates the channel alert.
	c.dispatch(&events.LoggedOut{})
	settle()
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, e := range evs {
		reason, ok := strings.CutPrefix(e, router.EventEscalation+"::channel: whatsapp/sales: ")
		found = found || (ok && strings.HasPrefix(locale.English(reason), "WhatsApp logged this device out"))
	}
	if !found || testing.Verbose() {
		t.Logf("events %q", evs)
	}
	if !found {
		t.Fatalf("no escalation among events %v", evs)
	}
}
