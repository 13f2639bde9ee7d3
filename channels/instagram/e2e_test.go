package instagram

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/locale"
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

func newRouter(t *testing.T, e *env, sender *Channel) (*router.Router, *eventLog) {
	t.Helper()
	ms := []router.Manager{{ID: "anna", Capacity: 3}}
	r, err := router.New(router.Config{}, ms, router.Templates{}, router.Deps{Redis: e.rdb, Keys: e.keys, Clock: e.clk,
		Log: discardLog(), Metrics: metrics.New(prometheus.NewRegistry(), []string{"anna"}), Instance: "e2e",
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	r.RegisterSender("instagram", sender)
	evs := &eventLog{}
	r.AddNotifier(evs)
	if err := r.SetOnline(context.Background(), "anna", true); err != nil {
		t.Fatal(err)
	}
	return r, evs
}

// End to end through the router with real Redis: a comment webhook becomes a lead offered to
// anna; her first reply goes out as the comment's private reply; her second, before the
// customer writes a DM, is reported to her as undeliverable; after the customer's DM her
// reply goes out as a Direct message.
func TestEndToEndCommentLead(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, evs := newRouter(t, e, e.ch)
	settle := func() {
		t.Helper()
		if err := r.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}

	e.deliver(t, "comment.json")
	settle()
	offers := evs.find(router.EventOffer)
	if len(offers) != 1 || offers[0].ManagerID != "anna" {
		t.Fatalf("offers %+v", offers)
	}
	cid := offers[0].ConversationID
	conv, err := r.Conversation(ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	if conv.Channel != "instagram" || conv.Account != acct1 || conv.ContactID != "5566778899001122" || conv.Name != "anna_k" ||
		conv.Meta[MetaCommentID] != "17865799348089039" || conv.Source != "instagram_media:18023456789012345" {
		t.Fatalf("conversation %+v", conv)
	}
	// The automatic acknowledgement did not spend the private reply.
	if n := len(e.graph.requests()); n != 0 {
		t.Fatalf("%d graph requests before the manager answered", n)
	}

	if err := r.Accept(ctx, cid, "anna"); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(20 * time.Second)
	if _, err := r.Reply(ctx, cid, "anna", "Анна, здравствуйте! Цена 2 990 ₽, написали вам в Direct 🙂", nil); err != nil {
		t.Fatal(err)
	}
	settle()
	reqs := e.graph.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d graph requests, want the private reply", len(reqs))
	}
	if rc := reqs[0].Body["recipient"].(map[string]any); rc["comment_id"] != "17865799348089039" {
		t.Fatalf("recipient %v", rc)
	}
	if conv, _ = r.Conversation(ctx, cid); !conv.Replied || conv.FirstReplyAt.IsZero() {
		t.Fatalf("first human reply not recorded: %+v", conv)
	}

	if _, err := r.Reply(ctx, cid, "anna", "Вы здесь?", nil); err != nil {
		t.Fatal(err)
	}
	settle()
	fails := evs.find(router.EventSendFailure)
	if len(fails) != 1 || fails[0].ManagerID != "anna" || !strings.Contains(locale.English(fails[0].Reason), "Direct message") {
		t.Fatalf("send failures %+v", fails)
	}
	if n := len(e.graph.requests()); n != 1 {
		t.Fatalf("%d graph requests, want still 1 (no second private reply)", n)
	}

	e.clk.Set(fixtureTime.Add(time.Hour + 10*time.Second))
	e.deliver(t, "dm_after_comment.json")
	settle()
	if cm := evs.find(router.EventCustomerMessage); len(cm) != 1 || cm[0].ManagerID != "anna" {
		t.Fatalf("customer_message events %+v", cm)
	}
	if _, err := r.Reply(ctx, cid, "anna", "Да, размер S есть.", nil); err != nil {
		t.Fatal(err)
	}
	settle()
	reqs = e.graph.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d graph requests, want 2", len(reqs))
	}
	dm := reqs[1]
	if rc := dm.Body["recipient"].(map[string]any); rc["id"] != "5566778899001122" || rc["comment_id"] != nil {
		t.Fatalf("DM recipient %v", rc)
	}
	if dm.Body["message"].(map[string]any)["text"] != "Да, размер S есть." || dm.Auth != "Bearer "+token1 {
		t.Fatalf("DM %+v", dm)
	}
}
