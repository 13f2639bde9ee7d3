package whatsappcloud

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
)

// router starts a router on e's Redis with anna online, the channel as its sender.
func (e *env) router(t *testing.T) (*router.Router, *eventLog, func()) {
	t.Helper()
	ctx := context.Background()
	r, err := router.New(router.Config{}, []router.Manager{{ID: "anna", Capacity: 3}}, router.Templates{AutoAck: "Спасибо! Менеджер ответит в течение минуты."},
		router.Deps{Redis: e.rdb, Keys: e.keys, Clock: e.clk, Log: slog.New(slog.DiscardHandler),
			Metrics: metrics.New(prometheus.NewRegistry(), []string{"anna"}), Instance: "e2e",
			Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	r.RegisterSender("whatsappcloud", e.ch)
	evs := &eventLog{}
	r.AddNotifier(evs)
	if err := r.SetOnline(ctx, "anna", true); err != nil {
		t.Fatal(err)
	}
	return r, evs, func() {
		t.Helper()
		if err := r.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

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

// End to end through the router with real Redis: a WhatsApp webhook becomes a lead, the
// acknowledgement and anna's reply reach the fake Cloud API, and a failed status for her
// reply is reported to her.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, evs, settle := e.router(t)

	e.deliver(t, "text.json")
	settle()
	offers := evs.find(router.EventOffer)
	if len(offers) != 1 {
		t.Fatalf("offers %+v", offers)
	}
	cid := offers[0].ConversationID
	conv, _ := r.Conversation(ctx, cid)
	if conv.Name != "Ольга 🌸" || conv.Phone != "+79161234567" || conv.ContactID != customer || conv.Account != phone1 {
		t.Fatalf("conversation %+v", conv)
	}
	reqs := e.graph.requests()
	if len(reqs) != 1 || reqs[0].Body["text"].(map[string]any)["body"] != "Спасибо! Менеджер ответит в течение минуты." {
		t.Fatalf("auto-ack requests %+v", reqs)
	}

	if err := r.Accept(ctx, cid, "anna"); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(30 * time.Second)
	if _, err := r.Reply(ctx, cid, "anna", "Ольга, да, «Осло» есть в наличии.", nil); err != nil {
		t.Fatal(err)
	}
	settle()
	reqs = e.graph.requests()
	if len(reqs) != 2 || reqs[1].Body["to"] != customer || reqs[1].Body["text"].(map[string]any)["body"] != "Ольга, да, «Осло» есть в наличии." {
		t.Fatalf("reply requests %+v", reqs)
	}
	if conv, _ = r.Conversation(ctx, cid); !conv.Replied {
		t.Fatal("reply not recorded")
	}

	// Meta reports the reply (wamid.out2 from the fake server) as failed.
	body := []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"statuses":[{"id":"wamid.out2","status":"failed","timestamp":"%d","recipient_id":%q,"errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable"}]}]},"field":"messages"}]}]}`,
		phone1, e.clk.Now().Unix(), customer))
	if w := e.post(t, body, meta.Sign(testSecret, body)); w.Code != 200 {
		t.Fatalf("status webhook: %d", w.Code)
	}
	settle()
	fails := evs.find(router.EventSendFailure)
	if len(fails) != 1 || fails[0].ManagerID != "anna" || !strings.Contains(fails[0].Reason, "Message undeliverable (WhatsApp error 131026)") {
		t.Fatalf("send failures %+v", fails)
	}
}

// TestRevokeNeverOpensALead end to end: a revoke (and edits) with no conversation open no
// lead and send nothing; once the customer wrote, the revoke marks their message deleted in
// the transcript, and still nothing is sent.
func TestRevokeNeverOpensALead(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, evs, settle := e.router(t)
	e.deliver(t, "revoke_edit.json")
	settle()
	if offers := evs.find(router.EventOffer); len(offers) != 0 {
		t.Fatalf("a revoke/edit opened a lead: %+v", offers)
	}
	if n := len(e.graph.requests()); n != 0 {
		t.Fatalf("%d messages sent for a revoke/edit", n)
	}

	e.deliver(t, "text.json")
	settle()
	body := bytes.ReplaceAll(fixture(t, "revoke_edit.json"), []byte("wamid.revoke1"), []byte("wamid.revoke2"))
	body = bytes.ReplaceAll(body, []byte(`"wamid.edit`), []byte(`"wamid.edit.again`))
	if w := e.post(t, body, meta.Sign(testSecret, body)); w.Code != 200 {
		t.Fatal(w.Code)
	}
	settle()
	offers := evs.find(router.EventOffer)
	if len(offers) != 1 {
		t.Fatalf("offers %+v", offers)
	}
	tr, err := r.Transcript(ctx, offers[0].ConversationID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) < 2 || !tr[0].Deleted || tr[0].Text != "" || tr[1].Kind != "auto_ack" {
		t.Fatalf("transcript %+v", tr)
	}
	if n := len(e.graph.requests()); n != 1 {
		t.Fatalf("%d messages sent, want the acknowledgement only", n)
	}
}
