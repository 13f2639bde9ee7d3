package router_test

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

const caller = "+74951234567"

// call is a channels/calls item from the number caller.
func call(id string, c channels.Call, at time.Time, boost int) channels.Inbound {
	return channels.Inbound{Kind: channels.KindCall, Channel: "calls", Account: "zadarma", MessageID: id,
		ContactID: caller, Phone: caller, Text: "call " + id, ReceivedAt: at, PriorityBoost: boost, Call: &c}
}

func histCount(t *testing.T, e *env, ch string) uint64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lidorub_speed_to_lead_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "channel" && l.GetValue() == ch {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// A missed call is a callback lead with a raised priority; a manager's call that does not
// connect is an attempt on the transcript, one that connects ends speed-to-lead and takes
// the conversation from the manager it was offered to.
func TestMissedCallCallbackLead(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{OfferTimeout: time.Minute, MaxOffers: 5}})
	e.online("anna")
	e.ingestMsg(call("z1:end", channels.Call{Direction: channels.CallIn}, t0, 3))
	c := e.conv(1)
	if c.State != router.StateOffered || c.OfferTo != "anna" || c.Priority != 3 || c.Channel != "calls" || c.Phone != caller {
		t.Fatalf("missed call: %+v, want a callback lead of priority 3 offered to anna", c)
	}
	e.advance(20 * time.Second)
	e.ingestMsg(call("z2:out_end", channels.Call{Direction: channels.CallOut, ManagerID: "boris"}, e.clock.Now(), 0))
	if c := e.conv(1); c.Replied || !c.FirstReplyAt.IsZero() || c.State != router.StateOffered || c.OfferTo != "anna" {
		t.Fatalf("an attempt that did not connect counted as contact: %+v", c)
	}
	e.advance(10 * time.Second)
	connected := e.clock.Now().Add(-5 * time.Second)
	e.ingestMsg(call("z3:out_end", channels.Call{Direction: channels.CallOut, Connected: true, ConnectedAt: connected, ManagerID: "boris"}, e.clock.Now(), 0))
	c = e.conv(1)
	if !c.Replied || !c.FirstReplyAt.Equal(connected) || c.State != router.StateAssigned || c.ManagerID != "boris" {
		t.Fatalf("connected callback: %+v, want assigned to boris, first reply at %s", c, connected)
	}
	if got := histCount(t, e, "calls"); got != 1 {
		t.Fatalf("speed-to-lead observed %d times, want 1", got)
	}
	tr, err := e.r.Transcript(e.ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range tr {
		lines = append(lines, m.Dir+":"+m.Kind+":"+m.ManagerID)
	}
	if want := []string{"in:call:", "out:call:boris", "out:call:boris"}; !slices.Equal(lines, want) {
		t.Fatalf("transcript %v, want %v", lines, want)
	}
	if got, want := e.events.of(1), []string{"offer:anna", "offer_withdrawn:anna(taken)", "assigned:boris(call)"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	// anna's load went back, boris carries the conversation
	for id, load := range map[string]int{"anna": 0, "boris": 1} {
		v, err := e.r.Manager(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Load != load {
			t.Errorf("%s load %d, want %d", id, v.Load, load)
		}
	}
	// the first-reply timer is not armed: nothing lapses later
	e.advance(time.Hour)
	if c := e.conv(1); c.State != router.StateAssigned || c.ManagerID != "boris" {
		t.Fatalf("after an hour: %+v", c)
	}
}

// An answered call from a new number is a lead already answered (speed-to-lead = ring time),
// assigned to the manager who answered; answered by nobody known, it is queued, answered.
func TestAnsweredCallIsAnAnsweredLead(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{OfferTimeout: time.Minute, FirstResponse: time.Minute, MaxOffers: 5}})
	e.online("anna")
	start := t0.Add(-40 * time.Second)
	answered := t0.Add(-25 * time.Second)
	e.ingestMsg(call("m1:summary", channels.Call{Direction: channels.CallIn, Connected: true, ConnectedAt: answered, ManagerID: "boris"}, start, 3))
	c := e.conv(1)
	if c.State != router.StateAssigned || c.ManagerID != "boris" || !c.Replied || !c.FirstReplyAt.Equal(answered) || !c.FirstInboundAt.Equal(start) {
		t.Fatalf("answered call: %+v, want assigned to boris, answered after 15 s of ringing", c)
	}
	if got := e.events.of(1); !slices.Equal(got, []string{"assigned:boris(call)"}) {
		t.Fatalf("events %v: nobody else may be offered it", got)
	}
	// answered by an extension that maps to nobody: an answered lead in the queue
	e2 := newEnv(t, opts{cfg: router.Config{OfferTimeout: time.Minute, FirstResponse: time.Minute, MaxOffers: 5}})
	e2.online("anna")
	e2.ingestMsg(call("m2:summary", channels.Call{Direction: channels.CallIn, Connected: true, ConnectedAt: answered}, start, 0))
	c = e2.conv(1)
	if c.State != router.StateOffered || c.OfferTo != "anna" || !c.Replied || !c.FirstReplyAt.Equal(answered) {
		t.Fatalf("answered by nobody known: %+v", c)
	}
	if err := e2.r.Accept(e2.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e2.advance(2 * time.Minute) // no first-reply timer: it was answered
	if c := e2.conv(1); c.State != router.StateAssigned || c.ManagerID != "anna" {
		t.Fatalf("answered lead taken back for want of a reply: %+v", c)
	}
}

// A manager's call to a number with no open conversation creates nothing.
func TestOutboundCallToAStrangerIsIgnored(t *testing.T) {
	e := newEnv(t, opts{})
	e.ingestMsg(call("z9:out_end", channels.Call{Direction: channels.CallOut, Connected: true, ConnectedAt: t0, ManagerID: "anna"}, t0, 0))
	if _, err := e.r.Conversation(e.ctx, 1); err == nil {
		t.Fatal("an outbound call opened a conversation")
	}
	if v := testutil.ToFloat64(e.metrics.InboundIgnored.WithLabelValues("calls", channels.KindCall)); v != 1 {
		t.Fatalf("ignored calls counted %v, want 1", v)
	}
}

// A call entry applied again (an instance applied it and died before acknowledging) changes
// nothing: process.lua and call.lua each keep their own done marker.
func TestCallAppliedTwiceIsOnce(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{OfferTimeout: time.Minute, MaxOffers: 5}})
	e.online("anna")
	e.ingestMsg(call("m1:summary", channels.Call{Direction: channels.CallIn, Connected: true, ConnectedAt: t0, ManagerID: "boris"}, t0.Add(-10*time.Second), 0))
	e.ingestMsg(call("z1:out_end", channels.Call{Direction: channels.CallOut, ManagerID: "boris"}, t0, 0))
	msgs, err := e.rdb.XRange(e.ctx, e.keys.Inbound(), "-", "+").Result()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("inbound %v %v", msgs, err)
	}
	for _, m := range msgs {
		if err := e.r.HandleInbound(e.ctx, store.Entry{Stream: e.keys.Inbound(), ID: m.ID, Values: m.Values}); err != nil {
			t.Fatal(err)
		}
	}
	e.settle()
	tr, err := e.r.Transcript(e.ctx, 1, 0)
	if err != nil || len(tr) != 2 {
		t.Fatalf("transcript %+v %v, want the answered call and the attempt once each", tr, err)
	}
	if v, _ := e.r.Manager(e.ctx, "boris"); v.Load != 1 {
		t.Fatalf("boris's load %d, want 1", v.Load)
	}
	if got := e.events.of(1); !slices.Equal(got, []string{"assigned:boris(call)"}) {
		t.Fatalf("events %v", got)
	}
}
