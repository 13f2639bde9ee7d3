package whatsapp

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// Erasure and retention of a linked-device conversation leave no personal data in Redis:
// a customer writes from a LID chat, the auto-ack and a reply go out through the channel (the
// whatsmeow client is the package's fake), the customer reads the reply; then the
// conversation is erased by a supervisor (or closed and left to retention on the fake clock)
// and a scan of every key of the prefix finds neither the phone, the LID, nor any text.
func TestErasureLeavesNoPersonalData(t *testing.T) {
	for _, how := range []string{"erase", "retention"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			rdb, prefix := redistest.New(t)
			keys := store.NewKeys(prefix).WithSalt("test-salt")
			clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
			m := metrics.New(prometheus.NewRegistry(), []string{"anna", "sue"})
			r, err := router.New(router.Config{Retention: 24 * time.Hour},
				[]router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor}},
				router.Templates{AutoAck: "Thanks, a manager will answer shortly."}, router.Deps{
					Redis: rdb, Keys: keys, Clock: clk, Log: slog.New(slog.DiscardHandler), Metrics: m, Instance: "gw-1",
					Sleep: func(context.Context, time.Duration) error { return nil },
				})
			if err != nil {
				t.Fatal(err)
			}
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
			if err := r.Accept(ctx, 1, "anna"); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Reply(ctx, 1, "anna", "Your private code is SECRET-WA-REPLY", nil); err != nil {
				t.Fatal(err)
			}
			settle()
			c.mu.Lock()
			last := c.sent[len(c.sent)-1]
			c.mu.Unlock()
			pn := types.NewJID("4915112345678", types.DefaultUserServer)
			if !c.dispatch(&events.Receipt{MessageSource: types.MessageSource{Chat: types.NewJID("93528374651234", types.HiddenUserServer), SenderAlt: pn},
				Type: types.ReceiptTypeRead, MessageIDs: []string{last.ID}, Timestamp: clk.Now()}) {
				t.Fatal("receipt not acked")
			}
			settle()
			needles := []string{"4915112345678", "93528374651234", "hello from a lid chat", "SECRET-WA-REPLY"}
			if hits, err := redistest.Find(ctx, rdb, prefix, needles); err != nil || len(hits) == 0 {
				t.Fatalf("before erasure the scan finds %v (%v): it would prove nothing after", hits, err)
			}

			switch how {
			case "erase":
				if err := r.Erase(ctx, 1, "sue"); err != nil {
					t.Fatal(err)
				}
			case "retention":
				if err := r.Close(ctx, 1, "anna"); err != nil {
					t.Fatal(err)
				}
				settle()
				clk.Advance(24*time.Hour + time.Second)
			}
			settle()
			hits, err := redistest.Find(ctx, rdb, prefix, needles)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 0 {
				t.Fatalf("personal data left after %s:\n%s", how, strings.Join(hits, "\n"))
			}
		})
	}
}
