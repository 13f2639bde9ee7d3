package viber

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
)

type eventLog struct {
	mu  sync.Mutex
	evs []router.Event
}

func (l *eventLog) Notify(_ context.Context, ev router.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
	return nil
}

func (l *eventLog) find(typ string) []router.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []router.Event
	for _, ev := range l.evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// End to end through the router on real Redis: a Viber message becomes a lead with the
// deep link's source, the acknowledgement and anna's reply go out with send_message, and
// after the customer unsubscribes anna is told her next reply was not delivered.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, err := router.New(router.Config{}, []router.Manager{{ID: "anna", Capacity: 3}}, router.Templates{AutoAck: "Дякуємо! Менеджер відповість за хвилину."},
		router.Deps{Redis: e.Redis, Keys: e.Keys, Clock: e.Clock, Log: slog.New(slog.DiscardHandler),
			Metrics: metrics.New(prometheus.NewRegistry(), []string{"anna"}, Name), Instance: "e2e",
			Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	r.RegisterSender(Name, e.ch)
	evs := &eventLog{}
	r.AddNotifier(evs)
	if err := r.SetOnline(ctx, "anna", true); err != nil {
		t.Fatal(err)
	}
	settle := func() {
		t.Helper()
		if err := r.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}

	e.deliver(t, "conversation_started.json")
	e.deliver(t, "message_text.json")
	settle()
	offers := evs.find(router.EventOffer)
	if len(offers) != 1 {
		t.Fatalf("offers %+v", offers)
	}
	cid := offers[0].ConversationID
	conv, _ := r.Conversation(ctx, cid)
	if conv.Name != "Олена" || conv.ContactID != userID || conv.Account != testBot || conv.Source != "utm_campaign=winter_sale" {
		t.Fatalf("conversation %+v", conv)
	}
	if s := e.api.sent("send_message"); len(s) != 1 || s[0].Body["text"] != "Дякуємо! Менеджер відповість за хвилину." {
		t.Fatalf("acknowledgement %+v", s)
	}
	if err := r.Accept(ctx, cid, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reply(ctx, cid, "anna", "Олено, «Осло» коштує 12 900 грн.", nil); err != nil {
		t.Fatal(err)
	}
	settle()
	if s := e.api.sent("send_message"); len(s) != 2 || s[1].Body["text"] != "Олено, «Осло» коштує 12 900 грн." {
		t.Fatalf("reply %+v", s)
	}

	e.deliver(t, "unsubscribed.json")
	if _, err := r.Reply(ctx, cid, "anna", "Чи актуально ще?", nil); err != nil {
		t.Fatal(err)
	}
	settle()
	fails := evs.find(router.EventSendFailure)
	if len(fails) != 1 || fails[0].ManagerID != "anna" || !strings.Contains(fails[0].Reason, "unsubscribed from the Viber bot") {
		t.Fatalf("send failures %+v", fails)
	}
	if s := e.api.sent("send_message"); len(s) != 2 {
		t.Fatalf("%d send_message calls, want nothing sent after unsubscribed", len(s))
	}
}
