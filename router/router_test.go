package router_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
)

func TestHappyPathOfferAcceptReply(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna")
	e.inbound("c1", "hello, what is the price?")

	c := e.conv(1)
	if c.State != router.StateOffered || c.OfferTo != "anna" || c.OfferSeq != 1 {
		t.Fatalf("after inbound: state %s offer_to %q seq %d", c.State, c.OfferTo, c.OfferSeq)
	}
	if got := e.sender.kinds(); !slices.Equal(got, []string{"auto_ack"}) {
		t.Fatalf("sent %v, want the auto-ack", got)
	}
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(12 * time.Second)
	id, err := e.r.Reply(e.ctx, 1, "anna", "Hi! It costs 100.", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.settle()
	last := e.sender.last()
	if last.ID != id || last.Text != "Hi! It costs 100." || last.ContactID != "c1" || last.ManagerID != "anna" || !last.Human() {
		t.Fatalf("last send %+v", last)
	}
	c = e.conv(1)
	if c.State != router.StateAssigned || !c.Replied || c.FirstReplyAt.Sub(c.FirstInboundAt) != 12*time.Second {
		t.Fatalf("after reply: %+v", c)
	}
	if n := histCount(t, e, "lidorub_speed_to_lead_seconds", "telegram"); n != 1 {
		t.Fatalf("speed_to_lead count %d, want 1", n)
	}
	want := []string{"offer:anna", "assigned:anna"}
	if diff := cmp.Diff(want, e.events.of(1)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	// a later customer message reaches the assigned manager
	e.inbound("c1", "and delivery?")
	ev := e.events.of(1)
	if ev[len(ev)-1] != "customer_message:anna(message)" {
		t.Fatalf("events %v", ev)
	}
	tr, err := e.r.Transcript(e.ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range tr {
		lines = append(lines, m.Dir+":"+m.Kind)
	}
	if diff := cmp.Diff([]string{"in:message", "out:auto_ack", "out:reply", "in:message"}, lines); diff != "" {
		t.Fatalf("transcript (-want +got):\n%s", diff)
	}
}

func TestOfferTimeoutReoffersToAnotherManager(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{OfferTimeout: 30 * time.Second, MaxOffers: 5}})
	e.online("anna", "boris")
	e.inbound("c1", "hi")
	first := e.conv(1).OfferTo

	e.advance(29 * time.Second)
	if c := e.conv(1); c.OfferTo != first || c.State != router.StateOffered {
		t.Fatalf("re-offered before the timeout: %+v", c)
	}
	e.advance(1 * time.Second)
	c := e.conv(1)
	if c.State != router.StateOffered || c.OfferTo == first || c.OfferSeq != 2 {
		t.Fatalf("after timeout: state %s offer_to %s (first %s) seq %d", c.State, c.OfferTo, first, c.OfferSeq)
	}
	if got := testutil.ToFloat64(e.metrics.Breaches.WithLabelValues("offer_timeout")); got != 1 {
		t.Fatalf("offer_timeout breaches %v", got)
	}
	if got := testutil.ToFloat64(e.metrics.Reoffers); got != 1 {
		t.Fatalf("reoffers %v", got)
	}
	// the lapsed manager cannot accept the stale offer any more
	if err := e.r.Accept(e.ctx, 1, first); !errors.Is(err, router.ErrNotYours) {
		t.Fatalf("stale accept: %v", err)
	}
	if err := e.r.Accept(e.ctx, 1, c.OfferTo); err != nil {
		t.Fatal(err)
	}
	want := []string{"offer:" + first, "offer_withdrawn:" + first + "(lapsed)", "offer:" + c.OfferTo, "assigned:" + c.OfferTo}
	e.settle()
	if diff := cmp.Diff(want, e.events.of(1)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	// both lapse in turn: a new round starts and it goes back to the first one
	e2 := newEnv(t, opts{cfg: router.Config{OfferTimeout: 10 * time.Second, MaxOffers: 10}})
	e2.online("anna", "boris")
	e2.inbound("c9", "hi")
	var order []string
	for i := 0; i < 4; i++ {
		order = append(order, e2.conv(1).OfferTo)
		e2.advance(10 * time.Second)
	}
	if order[0] == order[1] || order[0] != order[2] || order[1] != order[3] {
		t.Fatalf("offer order %v: want alternating managers", order)
	}
}

func TestFirstResponseBreachAndEscalation(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{OfferTimeout: 20 * time.Second, FirstResponse: 60 * time.Second, MaxOffers: 2}})
	e.online("anna", "boris")
	e.inbound("c1", "hi")
	m1 := e.conv(1).OfferTo
	if err := e.r.Accept(e.ctx, 1, m1); err != nil {
		t.Fatal(err)
	}
	e.advance(59 * time.Second)
	if c := e.conv(1); c.State != router.StateAssigned {
		t.Fatalf("released too early: %+v", c)
	}
	e.advance(time.Second)
	c := e.conv(1)
	if c.State != router.StateOffered || c.OfferTo == m1 {
		t.Fatalf("after first-response breach: %+v", c)
	}
	if got := testutil.ToFloat64(e.metrics.Breaches.WithLabelValues("first_response")); got != 1 {
		t.Fatalf("first_response breaches %v", got)
	}
	if c.Escalated {
		t.Fatal("escalated after 1 offer, max_offers is 2")
	}
	// second offer lapses too: max_offers reached -> escalation, and it keeps waiting/being offered
	e.advance(20 * time.Second)
	c = e.conv(1)
	if !c.Escalated || c.State != router.StateOffered {
		t.Fatalf("after max offers: %+v", c)
	}
	if got := testutil.ToFloat64(e.metrics.Escalations.WithLabelValues("max_offers")); got != 1 {
		t.Fatalf("escalations %v", got)
	}
	ev := e.events.of(1)
	if !slices.Contains(ev, "released:"+m1+"(no_reply)") || !slices.Contains(ev, "escalation(max_offers)") {
		t.Fatalf("events %v", ev)
	}
	// escalated once only
	e.advance(20 * time.Second)
	if got := testutil.ToFloat64(e.metrics.Escalations.WithLabelValues("max_offers")); got != 1 {
		t.Fatalf("escalations after another lapse %v", got)
	}
}

func TestReplyBeforeDeadlineStopsTimer(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{FirstResponse: 60 * time.Second}})
	e.online("anna")
	e.inbound("c1", "hi")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Reply(e.ctx, 1, "anna", "hello", nil); err != nil {
		t.Fatal(err)
	}
	e.advance(10 * time.Minute)
	if c := e.conv(1); c.State != router.StateAssigned || c.ManagerID != "anna" {
		t.Fatalf("answered conversation moved: %+v", c)
	}
	if got := testutil.ToFloat64(e.metrics.Breaches.WithLabelValues("first_response")); got != 0 {
		t.Fatalf("breaches %v", got)
	}
}

func TestQueueOrderAndDrainOnOnline(t *testing.T) {
	prio := 7
	e := newEnv(t, opts{
		managers: []router.Manager{{ID: "anna", Capacity: 10}},
		qualify:  &qualify.Config{Rules: []qualify.Rule{{Name: "price", Keywords: []string{"price"}, Priority: &prio, Tags: []string{"price"}}}},
	})
	e.inbound("a", "hello")             // conv 1, prio 0, oldest
	e.advance(time.Second)              //
	e.inbound("b", "what is the price") // conv 2, prio 7
	e.advance(time.Second)
	e.inbound("c", "hi again") // conv 3, prio 0
	e.advance(time.Second)
	e.inbound("d", "price please") // conv 4, prio 7, newer than 2
	for id := int64(1); id <= 4; id++ {
		if c := e.conv(id); c.State != router.StateWaiting {
			t.Fatalf("conv %d offered with nobody online: %+v", id, c)
		}
	}
	if got := gauge(t, e, "lidorub_waiting_conversations", ""); got != 4 {
		t.Fatalf("waiting gauge %v", got)
	}
	e.online("anna")
	var offered []int64
	for _, ev := range e.events.evs {
		if ev.Type == router.EventOffer {
			offered = append(offered, ev.ConversationID)
		}
	}
	if diff := cmp.Diff([]int64{2, 4, 1, 3}, offered); diff != "" {
		t.Fatalf("offer order (-want +got):\n%s", diff)
	}
	if c := e.conv(2); !slices.Equal(c.Tags, []string{"price"}) || c.Priority != 7 {
		t.Fatalf("qualification not stored: %+v", c)
	}
}

func TestCapacityAndOfflineReturnsUnanswered(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "boris", Capacity: 2}}})
	e.online("anna")
	for _, c := range []string{"a", "b", "c"} {
		e.inbound(c, "hi")
	}
	v, err := e.r.Manager(e.ctx, "anna")
	if err != nil {
		t.Fatal(err)
	}
	if v.Load != 2 || len(v.Offers) != 2 || v.QueueLength != 1 {
		t.Fatalf("anna: load %d offers %d queue %d", v.Load, len(v.Offers), v.QueueLength)
	}
	// anna accepts 1 and answers it, accepts 2 without answering
	for _, id := range []int64{1, 2} {
		if err := e.r.Accept(e.ctx, id, "anna"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.r.Reply(e.ctx, 1, "anna", "hi", nil); err != nil {
		t.Fatal(err)
	}
	// closing frees a slot: the queued one is offered at once
	e.online("boris")
	if c := e.conv(3); c.OfferTo != "boris" {
		t.Fatalf("conv 3 not offered to boris: %+v", c)
	}
	if err := e.r.SetOnline(e.ctx, "anna", false); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if c := e.conv(1); c.State != router.StateAssigned || c.ManagerID != "anna" {
		t.Fatalf("answered conversation taken from anna: %+v", c)
	}
	if c := e.conv(2); c.OfferTo != "boris" || c.State != router.StateOffered {
		t.Fatalf("unanswered conversation not returned and re-offered: %+v", c)
	}
	if slices.Contains(e.events.of(2), "released:anna(offline)") == false {
		t.Fatalf("events %v", e.events.of(2))
	}
}

func TestOffHoursTemplate(t *testing.T) {
	shifts := []router.Shift{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "18:00", TimeZone: "Europe/Moscow"}}
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 2, Shifts: shifts}},
		tpl: router.Templates{AutoAck: "ACK", OffHours: "CLOSED"}})
	e.clock.Set(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)) // Saturday
	e.online("anna")
	e.inbound("c1", "hi")
	if got := e.sender.last(); got.Kind != "off_hours" || got.Text != "CLOSED" {
		t.Fatalf("sent %+v, want the off-hours template", got)
	}
	if c := e.conv(1); c.State != router.StateWaiting {
		t.Fatalf("offered off shift: %+v", c)
	}
	// Monday 09:00 Moscow = 06:00 UTC: the shift starts and the queue drains
	e.clock.Set(time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC))
	e.settle()
	if c := e.conv(1); c.OfferTo != "anna" {
		t.Fatalf("not offered when the shift started: %+v", c)
	}
	e.inbound("c2", "hi")
	if got := e.sender.last(); got.Kind != "auto_ack" || got.Text != "ACK" || got.ContactID != "c2" {
		t.Fatalf("sent %+v, want the auto-ack", got)
	}
}

func TestQualifyTouristClosesPolitely(t *testing.T) {
	e := newEnv(t, opts{tpl: router.Templates{Close: "BYE"}})
	e.online("anna")
	e.inbound("c1", "just looking")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Qualify(e.ctx, 1, "anna", "cold"); !errors.Is(err, router.ErrInvalid) {
		t.Fatalf("bad level: %v", err)
	}
	if err := e.r.Qualify(e.ctx, 1, "boris", router.QualTourist); !errors.Is(err, router.ErrNotYours) {
		t.Fatalf("other manager: %v", err)
	}
	if err := e.r.Qualify(e.ctx, 1, "anna", router.QualTourist); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if got := e.sender.last(); got.Kind != "close" || got.Text != "BYE" {
		t.Fatalf("sent %+v", got)
	}
	c := e.conv(1)
	if c.State != router.StateClosed || c.Qualification != "tourist" {
		t.Fatalf("%+v", c)
	}
	if v, _ := e.r.Manager(e.ctx, "anna"); v.Load != 0 {
		t.Fatalf("load after close %d", v.Load)
	}
	// writing again opens a new conversation whose speed-to-lead counts afresh
	e.inbound("c1", "actually, I want to buy")
	if c := e.conv(2); c.State != router.StateOffered || c.ContactID != "c1" {
		t.Fatalf("reopen: %+v", c)
	}
	if ttl := e.rdb.PTTL(e.ctx, e.keys.Core("conv", "1")).Val(); ttl <= 0 {
		t.Fatalf("closed conversation has no retention TTL: %v", ttl)
	}
}

func TestHotIsHandedOff(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna")
	e.inbound("c1", "I want 10 units")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Qualify(e.ctx, 1, "anna", router.QualHot); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if c := e.conv(1); c.Qualification != "hot" || !c.HandedOff {
		t.Fatalf("%+v", c)
	}
	if !slices.Contains(e.events.of(1), "qualified:anna(hot)") {
		t.Fatalf("no audit event: %v", e.events.of(1))
	}
}

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
	if n := histCount(t, e, "lidorub_speed_to_lead_seconds", "telegram"); n != 0 {
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
	if got := gaugeL(t, e, "lidorub_stream_pending", "stream", "outbound"); got != 1 {
		t.Fatalf("outbound pending %v, want 1", got)
	}
}

func TestReplyOnFormLeadNeedsContacted(t *testing.T) {
	e := newEnv(t, opts{noSender: true})
	e.online("anna")
	e.ingestMsg(channels.Inbound{Channel: channels.Form, Account: "site", MessageID: "f1", ContactID: "+79991234567",
		Phone: "+79991234567", DisplayName: "Ivan", Text: "call me"})
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Reply(e.ctx, 1, "anna", "hello", nil); !errors.Is(err, router.ErrConflict) {
		t.Fatalf("reply on a form lead: %v", err)
	}
	e.clock.Advance(45 * time.Second)
	if err := e.r.MarkContacted(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	c := e.conv(1)
	if !c.Replied || c.FirstReplyAt.Sub(c.FirstInboundAt) != 45*time.Second {
		t.Fatalf("%+v", c)
	}
	if n := histCount(t, e, "lidorub_speed_to_lead_seconds", "form"); n != 1 {
		t.Fatalf("speed_to_lead form count %d", n)
	}
}

func TestSpamIsClosedNotOffered(t *testing.T) {
	e := newEnv(t, opts{qualify: &qualify.Config{Rules: []qualify.Rule{{Name: "spam", Keywords: []string{"casino"}, Spam: true}}}})
	e.online("anna")
	e.inbound("s1", "best CASINO bonus")
	if c := e.conv(1); c.State != router.StateClosed || !c.Spam {
		t.Fatalf("%+v", c)
	}
	if len(e.sender.kinds()) != 0 || len(e.events.of(1)) != 0 {
		t.Fatalf("spam got a reply or an offer: %v %v", e.sender.kinds(), e.events.of(1))
	}
	if ttl := e.rdb.PTTL(e.ctx, e.keys.Core("conv", "1")).Val(); ttl <= 0 {
		t.Fatalf("spam conversation kept forever: %v", ttl)
	}
}

func TestPassGoesToNext(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{Strategy: router.RoundRobin}})
	e.online("anna", "boris", "carl")
	e.inbound("c1", "hi")
	first := e.conv(1).OfferTo
	if err := e.r.Pass(e.ctx, 1, first); err != nil {
		t.Fatal(err)
	}
	if c := e.conv(1); c.OfferTo == first || c.State != router.StateOffered {
		t.Fatalf("%+v", c)
	}
}

func TestStrategies(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		want     []string
	}{
		{router.RoundRobin, []string{"anna", "boris", "carl", "anna"}},
		{router.LeastBusy, []string{"anna", "boris", "carl", "anna"}},
		{router.LongestIdle, []string{"anna", "boris", "carl", "anna"}},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			e := newEnv(t, opts{cfg: router.Config{Strategy: tc.strategy}})
			e.online("anna", "boris", "carl")
			var got []string
			for i, c := range []string{"a", "b", "c", "d"} {
				e.clock.Advance(time.Second)
				e.inbound(c, "hi")
				got = append(got, e.conv(int64(i+1)).OfferTo)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
	// least_busy counts open conversations, not history
	e := newEnv(t, opts{cfg: router.Config{Strategy: router.LeastBusy}, managers: []router.Manager{{ID: "anna", Capacity: 5}, {ID: "boris", Capacity: 5}}})
	e.online("anna", "boris")
	e.inbound("a", "hi") // anna
	e.inbound("b", "hi") // boris
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Close(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.inbound("c", "hi")
	if got := e.conv(3).OfferTo; got != "anna" {
		t.Fatalf("least_busy offered to %s, anna has 0 open", got)
	}
}

func TestDisabledTemplateSendsNothing(t *testing.T) {
	e := newEnv(t, opts{tpl: router.Templates{AutoAck: router.Disabled}})
	e.online("anna")
	e.inbound("c1", "hi")
	if got := e.sender.kinds(); len(got) != 0 {
		t.Fatalf("sent %v with auto_ack disabled", got)
	}
	if c := e.conv(1); c.OfferTo != "anna" {
		t.Fatalf("%+v", c)
	}
}

func TestEraseOnRequest(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 1}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	e.online("anna")
	e.inbound("c1", "my phone is +7 999 000 00 00")
	e.inbound("c2", "hello") // queued: anna is at capacity
	if err := e.r.Erase(e.ctx, 1, "anna"); !errors.Is(err, router.ErrForbidden) {
		t.Fatalf("lead-manager erased: %v", err)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if _, err := e.r.Conversation(e.ctx, 1); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("conversation still readable: %v", err)
	}
	if n := e.rdb.Exists(e.ctx, e.keys.Core("conv", "1", "log"), e.keys.Core("contact", "telegram", "shop", "c1")).Val(); n != 0 {
		t.Fatalf("%d keys of the erased conversation remain", n)
	}
	// anna's slot was freed: the queued conversation is offered to her
	if c := e.conv(2); c.OfferTo != "anna" {
		t.Fatalf("%+v", c)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("second erase: %v", err)
	}
}

func TestNoAutoAckOnCommentLeads(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna")
	e.ingestMsg(channels.Inbound{Channel: channels.Instagram, Account: "ig1", MessageID: "cm1", ContactID: "u1",
		Text: "price?", NoAutoReply: true, Meta: map[string]string{"origin": "comment", "comment_id": "cm1"}})
	if got := e.sender.kinds(); len(got) != 0 {
		t.Fatalf("sent %v to a comment lead", got)
	}
	if c := e.conv(1); c.OfferTo != "anna" || c.Meta["comment_id"] != "cm1" {
		t.Fatalf("%+v", c)
	}
}

// A conversation's meta (often longer than Redis' 64-byte listpack value limit) is kept in
// its own key, so the conversation hash stays a compact listpack; it still reads back, and
// erasure deletes it.
func TestMetaKeptOutOfTheHash(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 1}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	e.online("anna")
	meta := map[string]string{"consent_at": "2026-11-25T10:00:00.123456789Z", "policy_version": "1",
		"page_url": "https://example.com/landing/premium-package?utm_source=bench&utm_campaign=load"}
	e.ingestMsg(channels.Inbound{Channel: channels.Form, Account: "default", MessageID: "f1", ContactID: "+79990000000",
		Phone: "+79990000000", Text: "call me back", Meta: meta})
	if c := e.conv(1); c.Meta["page_url"] != meta["page_url"] || c.Meta["consent_at"] != meta["consent_at"] {
		t.Fatalf("meta = %v, want %v", c.Meta, meta)
	}
	if enc := e.rdb.ObjectEncoding(e.ctx, e.keys.Core("conv", "1")).Val(); enc != "listpack" {
		t.Errorf("conversation hash encoding = %q, want listpack", enc)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	if n := e.rdb.Exists(e.ctx, e.keys.Core("conv", "1", "meta")).Val(); n != 0 {
		t.Fatal("the erased conversation's meta remains")
	}
}

func TestLongCyrillicReplyIsAccepted(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna")
	e.inbound("c1", "привет")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("ж", 4096) // 8 KiB of UTF-8, 4096 characters
	if _, err := e.r.Reply(e.ctx, 1, "anna", text, nil); err != nil {
		t.Fatalf("4096 characters refused: %v", err)
	}
	if _, err := e.r.Reply(e.ctx, 1, "anna", text+"ж", nil); !errors.Is(err, router.ErrInvalid) {
		t.Fatalf("4097 characters: %v", err)
	}
}
