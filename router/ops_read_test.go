package router_test

import (
	"testing"
	"time"

	"github.com/lidorub/lidorub/router"
)

// TestOpsQueueTeam: the queue lists waiting and offered leads oldest first; the team lists
// every manager with presence, load and capacity.
func TestOpsQueueTeam(t *testing.T) {
	e := newEnv(t, opts{managers: append(managers("anna", "boris"), router.Manager{ID: "olga", Role: router.RoleSupervisor, Capacity: 1})})
	q, err := e.r.Queue(e.ctx)
	if err != nil || len(q) != 0 {
		t.Fatalf("empty queue: %v %v", q, err)
	}
	e.inbound("c1", "hello")
	e.advance(time.Second)
	e.inbound("c2", "hello")
	e.advance(time.Second)
	e.inbound("c3", "hello")
	e.online("anna") // capacity 2: c1 and c2 offered to anna, c3 waits
	q, err = e.r.Queue(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range q {
		got = append(got, c.ContactID+":"+c.State+":"+c.OfferTo)
	}
	want := []string{"c1:offered:anna", "c2:offered:anna", "c3:waiting:"}
	if len(got) != len(want) {
		t.Fatalf("queue %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("queue %v, want %v", got, want)
		}
	}
	team, err := e.r.Team(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(team) != 3 {
		t.Fatalf("team of %d", len(team))
	}
	a, b, o := team[0], team[1], team[2]
	if a.ID != "anna" || !a.Online || a.Load != 2 || a.Capacity != 2 || len(a.Offers) != 2 || a.QueueLength != 1 {
		t.Fatalf("anna %+v", a)
	}
	if b.ID != "boris" || b.Online || b.Load != 0 {
		t.Fatalf("boris %+v", b)
	}
	if o.ID != "olga" || o.Capacity != 1 {
		t.Fatalf("olga %+v", o)
	}
}

// TestOpsQueueIncludesSalesQueue: handed-off leads offered to a sales manager and those
// queued for one (nobody free) are in the queue with their sales state; an accepted one and
// a lead still with its lead-manager are not.
func TestOpsQueueIncludesSalesQueue(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{}, []router.Manager{{ID: "sasha", Capacity: 1}})
	offered := e.handoff() // sasha's only slot
	queued := e.handoff()  // nobody free: {P}:sales:waiting
	held := e.assigned()   // with lena, not handed off
	if offered.SalesState != router.SalesOffered || offered.SalesOfferTo != "sasha" || queued.SalesState != router.SalesQueued {
		t.Fatalf("setup: %s/%s %s", offered.SalesState, offered.SalesOfferTo, queued.SalesState)
	}
	states := func() map[int64]string {
		t.Helper()
		q, err := e.r.Queue(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]string{}
		for _, c := range q {
			m[c.ID] = c.SalesState + ":" + c.SalesOfferTo
		}
		return m
	}
	got := states()
	want := map[int64]string{offered.ID: "offered:sasha", queued.ID: "queued:"}
	if len(got) != len(want) || got[offered.ID] != want[offered.ID] || got[queued.ID] != want[queued.ID] {
		t.Fatalf("queue %v, want %v (lead %d held by lena must not be there)", got, want, held)
	}
	if err := e.r.SalesAccept(e.ctx, offered.ID, "sasha"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if got := states(); len(got) != 1 || got[queued.ID] != "queued:" {
		t.Fatalf("after accept: %v", got)
	}
}
