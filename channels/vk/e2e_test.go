package vk

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

// End to end through the router on real Redis: a VK message becomes a lead, the
// acknowledgement and anna's reply go out with messages.send, the customer's edit replaces
// the text in the transcript, and after message_deny anna is told her next reply was not
// delivered; a 901 from VK is reported to her as well.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, err := router.New(router.Config{}, []router.Manager{{ID: "anna", Capacity: 3}}, router.Templates{AutoAck: "Спасибо! Менеджер ответит в течение минуты."},
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

	e.deliver(t, "message_new.json")
	e.deliver(t, "message_new.json") // VK's retry
	settle()
	offers := evs.find(router.EventOffer)
	if len(offers) != 1 {
		t.Fatalf("offers %+v", offers)
	}
	cid := offers[0].ConversationID
	if calls, _ := e.api.snapshot(); len(calls) != 1 || calls[0].Message != "Спасибо! Менеджер ответит в течение минуты." || calls[0].Peer != userID {
		t.Fatalf("acknowledgement %+v", calls)
	}
	e.deliver(t, "message_edit.json")
	settle()
	tr, err := r.Transcript(ctx, cid, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) < 1 || !strings.HasSuffix(tr[0].Text, "по Москве и области?") || !tr[0].Edited {
		t.Fatalf("transcript after the edit %+v", tr)
	}
	if err := r.Accept(ctx, cid, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reply(ctx, cid, "anna", "Здравствуйте! 42 900 ₽ с доставкой.", nil); err != nil {
		t.Fatal(err)
	}
	settle()
	if calls, _ := e.api.snapshot(); len(calls) != 2 || calls[1].Message != "Здравствуйте! 42 900 ₽ с доставкой." {
		t.Fatalf("reply %+v", calls)
	}

	e.Clock.Advance(time.Minute)
	e.deliver(t, "message_deny.json")
	if _, err := r.Reply(ctx, cid, "anna", "Актуально?", nil); err != nil {
		t.Fatal(err)
	}
	settle()
	fails := evs.find(router.EventSendFailure)
	if len(fails) != 1 || fails[0].ManagerID != "anna" || !strings.Contains(fails[0].Reason, "forbidden messages from the VK community") {
		t.Fatalf("send failures %+v", fails)
	}

	e.Clock.Advance(time.Minute)
	e.deliver(t, "message_allow.json")
	e.api.reply = func(int) (int, string) { return 200, string(fixture(t, "error_901.json")) }
	if _, err := r.Reply(ctx, cid, "anna", "Актуально?", nil); err != nil {
		t.Fatal(err)
	}
	settle()
	fails = evs.find(router.EventSendFailure)
	if len(fails) != 2 || !strings.Contains(fails[1].Reason, "has not allowed messages from the community (error 901") {
		t.Fatalf("send failures %+v", fails)
	}
}
