package api_test

import (
	"testing"
	"time"

	"github.com/lidorub/lidorub/router"
)

func TestStaleReport(t *testing.T) {
	e := newSalesEnv(t) // sales.stale_after: the default 336h
	a := e.handedOff("c1")
	e.clock.Advance(time.Hour)
	b := e.handedOff("c2")
	if a.SalesOfferTo != "sasha" || b.SalesOfferTo != "sasha" {
		t.Fatalf("offered to %q, %q", a.SalesOfferTo, b.SalesOfferTo)
	}
	e.ok(sashaTok, "POST", "/api/v1/conversations/"+itoa(b.ID)+"/sales/accept", "", 200, nil)
	e.ok(sashaTok, "POST", "/api/v1/conversations/"+itoa(b.ID)+"/sales/contacted", "", 200, nil)
	var got []router.StaleLead
	e.ok(veraTok, "GET", "/api/v1/reports/stale", "", 200, &got)
	if len(got) != 0 {
		t.Fatalf("stale before stale_after: %+v", got)
	}
	e.clock.Advance(336 * time.Hour)
	e.settle() // the offer of a lapsed meanwhile (accept_timeout): offered again, still waiting
	e.ok(veraTok, "GET", "/api/v1/reports/stale", "", 200, &got)
	want := []router.StaleLead{
		{ID: a.ID, SalesState: router.SalesOffered, Holder: "anna", Sales: "sasha", Since: t0},
		{ID: b.ID, SalesState: router.SalesContacted, Holder: "sasha", Sales: "sasha", Since: t0.Add(time.Hour)},
	}
	if len(got) != len(want) {
		t.Fatalf("stale %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].SalesState != want[i].SalesState || got[i].Holder != want[i].Holder ||
			(got[i].Sales != want[i].Sales && i > 0) || got[i].Sales == "" || !got[i].Since.Equal(want[i].Since) {
			t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, tok := range []string{annaTok, sashaTok} {
		if r := e.as(tok, "GET", "/api/v1/reports/stale", ""); r.status != 403 {
			t.Errorf("a non-supervisor read the stale report: %s", r)
		}
	}
}
