package router_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
)

// While a handed-off lead waits for a sales manager (queued or offered) the lead-manager who
// handed it off holds the customer conversation: the customer's messages reach them, they may
// reply, and closing it withdraws the sales offer or queue entry. Once a sales manager accepts,
// the conversation is theirs.
func TestSalesLeadManagerHoldsUntilSalesAccepts(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{AcceptTimeout: time.Hour}, []router.Manager{{ID: "s1", Capacity: 1}})
	a := e.handoff() // offered to s1
	b := e.handoff() // queued: s1 is at capacity
	if a.SalesState != router.SalesOffered || b.SalesState != router.SalesQueued {
		t.Fatalf("states %q %q", a.SalesState, b.SalesState)
	}
	for _, c := range []*router.Conversation{a, b} {
		e.inbound("c"+itoa(int(c.ID)), "are you there?")
		if ev := e.events.of(c.ID); !contains(ev, "customer_message:lena(message)") {
			t.Errorf("lead %d (%s): the customer's message notified nobody: %v", c.ID, c.SalesState, ev)
		}
		if _, err := e.r.Reply(e.ctx, c.ID, "lena", "our expert calls within the hour", nil); err != nil {
			t.Errorf("lead %d (%s): lena cannot reply: %v", c.ID, c.SalesState, err)
		}
		if _, err := e.r.Reply(e.ctx, c.ID, "s1", "hi", nil); !errors.Is(err, router.ErrNotYours) {
			t.Errorf("lead %d (%s): s1 replied before accepting: %v", c.ID, c.SalesState, err)
		}
	}
	if c := e.conv(a.ID); c.SalesState != router.SalesOffered || c.SalesOfferTo != "s1" {
		t.Fatalf("lena's reply changed the sales state: %q", c.SalesState)
	}
	if lena, _ := e.r.Manager(e.ctx, "lena"); lena.Load != 0 {
		t.Errorf("holding the waiting leads put them back on lena's load: %d", lena.Load)
	}

	// lena closes the queued lead, then the offered one: the queue entry and the offer go
	if err := e.r.Close(e.ctx, b.ID, "lena"); err != nil {
		t.Fatalf("close the queued lead: %v", err)
	}
	if err := e.r.Close(e.ctx, a.ID, "lena"); err != nil {
		t.Fatalf("close the offered lead: %v", err)
	}
	e.settle()
	if ev := e.events.of(a.ID); !contains(ev, "sales_offer_withdrawn:s1(closed)") {
		t.Errorf("s1 was not told the offer ended: %v", ev)
	}
	p := "{" + e.keys.Prefix + "}:"
	for _, k := range []string{"sales:waiting", "sales:open", "mgr:s1:convs", "mgr:lena:convs"} {
		if n := e.rdb.ZCard(e.ctx, p+k).Val(); n != 0 {
			t.Errorf("%s still holds %d closed leads", k, n)
		}
	}
	if n := e.rdb.ZCard(e.ctx, p+"timers").Val(); n != 0 {
		t.Errorf("%d timers left after closing both leads", n)
	}
	for _, id := range []string{"s1", "lena"} {
		if m, _ := e.r.Manager(e.ctx, id); m.Load != 0 {
			t.Errorf("%s's load %d after the closes", id, m.Load)
		}
	}
	if err := e.r.SalesAccept(e.ctx, a.ID, "s1"); err == nil {
		t.Error("s1 accepted a closed lead")
	}
	if en := e.entries(); len(en) != 2 {
		t.Errorf("closing made ledger decisions: %d entries", len(en))
	}

	// once a sales manager accepts, the conversation is theirs
	c := e.handoff()
	if c.SalesOfferTo != "s1" {
		t.Fatalf("the next lead went to %q", c.SalesOfferTo)
	}
	if err := e.r.SalesAccept(e.ctx, c.ID, "s1"); err != nil {
		t.Fatal(err)
	}
	e.inbound("c"+itoa(int(c.ID)), "hello?")
	if ev := e.events.of(c.ID); !contains(ev, "customer_message:s1(message)") {
		t.Errorf("after acceptance the message did not reach s1: %v", ev)
	}
	if _, err := e.r.Reply(e.ctx, c.ID, "lena", "hi", nil); !errors.Is(err, router.ErrNotYours) {
		t.Errorf("lena replied to s1's lead: %v", err)
	}
	if err := e.r.Close(e.ctx, c.ID, "lena"); !errors.Is(err, router.ErrNotYours) {
		t.Errorf("lena closed s1's lead: %v", err)
	}
}

// A sales manager going offline keeps the leads they accepted but their open offers are
// withdrawn at once and decided again (ledgered with them skipped as offline), not left to
// lapse after accept_timeout. Table: going offline themselves, forced by a supervisor.
func TestSalesOfflineWithdrawsOpenOffers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		offline func(e *salesEnv) error
	}{
		{"self", func(e *salesEnv) error { return e.r.SetOnline(e.ctx, "s1", false) }},
		{"forced", func(e *salesEnv) error { return e.r.ForceOffline(e.ctx, "sue", "s1") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSalesEnv(t, router.SalesConfig{AcceptTimeout: time.Hour, Strategy: router.SalesRoundRobin}, sm("s1", "s2"))
			kept := e.handoff() // s1
			if err := e.r.SalesAccept(e.ctx, kept.ID, "s1"); err != nil {
				t.Fatal(err)
			}
			e.handoff()         // s2
			open := e.handoff() // s1, not accepted
			if open.SalesOfferTo != "s1" {
				t.Fatalf("third lead offered to %q, want s1", open.SalesOfferTo)
			}
			if err := tc.offline(e); err != nil {
				t.Fatal(err)
			}
			e.settle()
			if c := e.conv(open.ID); c.SalesOfferTo != "s2" || c.SalesState != router.SalesOffered {
				t.Fatalf("s1's open offer: %q to %q, want offered to s2 at once", c.SalesState, c.SalesOfferTo)
			}
			if c := e.conv(kept.ID); c.SalesState != router.SalesAccepted || c.ManagerID != "s1" {
				t.Errorf("s1 lost the lead they accepted: %q held by %q", c.SalesState, c.ManagerID)
			}
			if ev := e.events.of(open.ID); !contains(ev, "sales_offer_withdrawn:s1(offline)") {
				t.Errorf("events %v", ev)
			}
			if s1, _ := e.r.Manager(e.ctx, "s1"); s1.Load != 1 || len(s1.Offers) != 0 {
				t.Errorf("s1: load %d, %d offers; want 1 (the accepted lead), 0", s1.Load, len(s1.Offers))
			}
			en := e.entries()
			last := en[len(en)-1]
			if len(en) != 4 || last.Lead != open.ID || last.Chosen != "s2" || last.Cands[0].ID != "s1" || last.Cands[0].Skip != ledger.SkipOffline {
				t.Errorf("ledger %+v", en)
			}
			if got := e.stages(open.ID); !contains(got, "sales_lapsed:s1") {
				t.Errorf("timeline %v", got)
			}
		})
	}
}

// best_conversion counts as "got" only the leads a sales manager kept: a lead they accepted
// and then rejected, or lost by a first-contact breach, leaves their got window, so it does
// not lower their conversion rate. The next decision's ledger entry records got 0 for s1.
func TestSalesBestConversionGotOnlyKeptLeads(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop func(e *salesEnv, id int64) error
	}{
		{"reject", func(e *salesEnv, id int64) error { return e.r.SalesReject(e.ctx, id, "s1", "not_our_region") }},
		{"breach", func(e *salesEnv, id int64) error { e.advance(time.Hour + time.Second); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSalesEnv(t, router.SalesConfig{Strategy: router.SalesBestConversion, FirstContact: time.Hour,
				AcceptTimeout: 24 * time.Hour}, sm("s1", "s2"))
			c := e.handoff()
			if c.SalesOfferTo != "s1" {
				t.Fatalf("offered to %q, want s1", c.SalesOfferTo)
			}
			if err := e.r.SalesAccept(e.ctx, c.ID, "s1"); err != nil {
				t.Fatal(err)
			}
			got := "{" + e.keys.Prefix + "}:sales:got:s1"
			if n := e.rdb.ZCard(e.ctx, got).Val(); n != 1 {
				t.Fatalf("accepted: got window %d, want 1", n)
			}
			if err := tc.drop(e, c.ID); err != nil {
				t.Fatal(err)
			}
			e.settle()
			if n := e.rdb.ZCard(e.ctx, got).Val(); n != 0 {
				t.Errorf("s1 did not keep the lead but it still counts as got (%d)", n)
			}
			en := e.entries()
			last := en[len(en)-1]
			if last.Lead != c.ID || last.Cands[0].ID != "s1" || last.Cands[0].Got != 0 {
				t.Errorf("the re-decision records %+v", last)
			}
		})
	}
}

// Every error of the sales tier a manager reads in the staff bot carries a catalogue message
// (ru and en), not only its English text.
func TestSalesErrorsCarryCatalogueMessages(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{}, sm("s1"))
	c := e.handoff()
	if err := e.r.SalesAccept(e.ctx, c.ID, "s1"); err != nil {
		t.Fatal(err)
	}
	long := string(make([]rune, 5000))
	cat, err := locale.New("ru", nil) // the locale tests check ru/en parity
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key string
		err       error
	}{
		{"long note", "sales.error.note_too_long", e.r.Handoff(e.ctx, e.assigned(), "lena", router.QualHot, long)},
		{"unknown rejection", "sales.error.unknown_reason", e.r.SalesReject(e.ctx, c.ID, "s1", "bored")},
		{"negative amount", "sales.error.amount_negative", e.r.RecordOutcome(e.ctx, c.ID, "s1", router.Outcome{Result: router.OutcomeWon, Amount: -1})},
		{"bad currency", "sales.error.currency", e.r.RecordOutcome(e.ctx, c.ID, "s1", router.Outcome{Result: router.OutcomeWon, Currency: "RUBL"})},
		{"unknown loss", "sales.error.unknown_reason", e.r.RecordOutcome(e.ctx, c.ID, "s1", router.Outcome{Result: router.OutcomeLost, Reason: "bored"})},
		{"bad result", "sales.error.result", e.r.RecordOutcome(e.ctx, c.ID, "s1", router.Outcome{Result: "maybe"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var le *locale.Error
			if !errors.Is(tc.err, router.ErrInvalid) || !errors.As(tc.err, &le) || le.Msg.Key != tc.key {
				t.Fatalf("%v: want ErrInvalid with the catalogue message %s", tc.err, tc.key)
			}
			if !cat.Has(tc.key) {
				t.Errorf("the catalogue has no %s", tc.key)
			}
		})
	}
}

// A supervisor closing a handed-off lead (CloseLead) ends its sales side too: an open sales
// offer is withdrawn (load back, no accept timer that would offer the closed lead again), a
// queued lead leaves the sales queue, an accepted lead's first-contact timer stops.
func TestSalesSupervisorCloseEndsSalesSide(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{AcceptTimeout: time.Minute, FirstContact: time.Hour}, []router.Manager{{ID: "s1", Capacity: 2}})
	held := e.handoff()
	if err := e.r.SalesAccept(e.ctx, held.ID, "s1"); err != nil {
		t.Fatal(err)
	}
	offered := e.handoff()
	queued := e.handoff()
	if offered.SalesState != router.SalesOffered || queued.SalesState != router.SalesQueued {
		t.Fatalf("states %q %q", offered.SalesState, queued.SalesState)
	}
	for _, id := range []int64{queued.ID, offered.ID, held.ID} { // the queued one first: no capacity frees for it
		if err := e.r.CloseLead(e.ctx, "sue", id); err != nil {
			t.Fatal(err)
		}
	}
	e.advance(2 * time.Hour) // any timer left would fire now
	p := "{" + e.keys.Prefix + "}:"
	for _, k := range []string{"sales:waiting", "mgr:s1:convs", "timers"} {
		if n := e.rdb.ZCard(e.ctx, p+k).Val(); n != 0 {
			t.Errorf("%s still holds %d entries of closed leads", k, n)
		}
	}
	if s1, _ := e.r.Manager(e.ctx, "s1"); s1.Load != 0 || len(s1.Offers) != 0 {
		t.Errorf("s1: load %d, %d offers after the closes", s1.Load, len(s1.Offers))
	}
	if ev := e.events.of(offered.ID); !contains(ev, "sales_offer_withdrawn:s1(closed)") {
		t.Errorf("events %v", ev)
	}
	if en := e.entries(); len(en) != 3 {
		t.Errorf("closed leads were decided again: %d ledger entries, want 3", len(en))
	}
}
