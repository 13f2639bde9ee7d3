package simulate

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/router"
)

// withSales is a short morning with a sales tier: lead-managers hand hot and warm leads off
// through the real router; sales managers are slow, let some offers lapse, reject some (half
// of those as not a lead), contact late enough to breach now and then, and win a third.
const withSales = `
name: two tiers
arrivals:
  per_hour: [0,0,0,0,0,0,0,0,0,0, 30,30, 0,0,0,0,0,0,0,0,0,0,0,0]
  hot_share: 0.4
  tourist_share: 0.2
lead_managers:
  behaviour: {notice: 10s, reply: 10s, handling: {mean: 3m}}
  roster: [{id: lm, count: 3, capacity: 3}]
router: {offer_timeout: 30s, first_response: 2m}
drain: 2h
sales:
  router: {handoff_levels: [hot, warm], accept_timeout: 5m, first_contact: 20m}
  behaviour:
    accept: {median: 2m, spread: 2}
    lapse: 0.1
    reject: 0.1
    reasons: {not_a_real_lead: 1, duplicate: 1}
    contact: {median: 8m, spread: 2}
    outcome: {median: 20m, spread: 2}
    win_rate: 0.3
    amount: {median: 40000, spread: 1.5}
  roster:
    - {id: sa, count: 2, capacity: 4}
    - {id: sb, capacity: 2, weight: 2, behaviour: {win_rate: 0.6}}
`

func TestSalesTierFunnel(t *testing.T) {
	be := redisBackend(t)
	sc := parse(t, withSales)
	rep := simulateT(t, Options{Scenario: sc, Seed: 7, Backend: be})
	if again := simulateT(t, Options{Scenario: sc, Seed: 7, Backend: be}); reportJSON(t, again) != reportJSON(t, rep) {
		t.Fatalf("same seed, different reports:\n%s\n%s", reportJSON(t, rep), reportJSON(t, again))
	}
	s := rep.Sales
	if s == nil {
		t.Fatal("no sales report")
	}
	f := s.Funnel
	if f.Leads != rep.Leads || f.Answered != rep.Answered || f.HandedOff == 0 || f.Won == 0 {
		t.Fatalf("implausible funnel: %+v (report: %d leads, %d answered)", f, rep.Leads, rep.Answered)
	}
	if f.HandedOff != f.Accepted+f.Returned+f.Waiting {
		t.Errorf("handed off %d != accepted %d + returned %d + waiting %d", f.HandedOff, f.Accepted, f.Returned, f.Waiting)
	}
	if !(f.Won+f.Lost <= f.Contacted && f.Contacted <= f.Accepted && f.Accepted <= f.HandedOff && f.HandedOff <= f.Qualified &&
		f.Qualified <= f.Answered && f.Answered <= f.Leads) {
		t.Errorf("funnel not monotone: %+v", f)
	}
	if f.Returned == 0 || s.PerDay.Lapses == 0 || s.PerDay.Rejections < s.PerDay.Returned || s.PerDay.Breaches == 0 || s.PerDay.Escalations == 0 {
		t.Errorf("the behaviour did not show: %+v", s.PerDay)
	}
	// per manager: every offer ended as accepted, rejected, lapsed or is still pending
	var offered, won float64
	for _, m := range s.Managers {
		offered += m.Offered
		won += m.Won
		if m.Accepted+m.Rejected+m.Lapsed > m.Offered || m.Won+m.Lost > m.Contacted || m.Contacted > m.Accepted {
			t.Errorf("manager %s inconsistent: %+v", m.ID, m)
		}
	}
	if offered != s.PerDay.Offers || int(won) != f.Won {
		t.Errorf("managers offered %.0f (events %.0f), won %.0f (funnel %d)", offered, s.PerDay.Offers, won, f.Won)
	}
	if s.Accept.P50 == nil || s.FirstContactTime.P50 == nil || *s.FirstContactTime.P50 < *s.Accept.P50 {
		t.Errorf("times: accept %+v contact %+v", s.Accept, s.FirstContactTime)
	}
	var txt, page bytes.Buffer
	rep.WriteText(&txt)
	if err := WriteHTML(&page, []*Report{rep}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sales tier: round_robin", "handed off", "sa-1"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, txt.String())
		}
	}
	if !strings.Contains(page.String(), `aria-label="leads per sales manager"`) {
		t.Error("HTML report lacks the sales chart")
	}
	wellFormed(t, page.String())
}

// Round robin with everyone always available, never lapsing nor rejecting: the leads offered
// per sales manager differ by at most one; the other strategies run on the same arrivals.
func TestSalesStrategyComparison(t *testing.T) {
	be := redisBackend(t)
	sc := parse(t, `
arrivals:
  per_hour: [0,0,0,0,0,0,0,0,0,0, 40,40, 0,0,0,0,0,0,0,0,0,0,0,0]
  hot_share: 0.7 # only hot leads are handed off (the default sales.handoff_levels)
lead_managers:
  behaviour: {notice: 5s, reply: 5s, handling: {mean: 2m}}
  roster: [{id: lm, count: 3, capacity: 5}]
drain: 1h
sales:
  behaviour: {accept: 1m, contact: 5m, outcome: 10m, win_rate: 0.5}
  roster: [{id: s, count: 4, capacity: 1000}]
`)
	alts, err := ParseAlternatives("sales.strategy=least_loaded,best_conversion,weighted", sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(alts) != 3 || alts[2].Sales.Strategy != router.SalesWeighted || alts[1].Name != "sales.strategy=best_conversion" {
		t.Fatalf("alternatives: %+v", alts)
	}
	cmp, err := Compare(context.Background(), Options{Scenario: sc, Seed: 2, Backend: be}, alts)
	if err != nil {
		t.Fatal(err)
	}
	rr := cmp.Variants[0].Sales
	if f := rr.Funnel; rr.Strategy != router.SalesRoundRobin || f.HandedOff < 40 || f.HandedOff != f.Hot || f.Warm == 0 ||
		f.HandedOff != f.Accepted+f.Returned+f.Waiting {
		t.Fatalf("round robin: %+v", rr.Funnel)
	}
	lo, hi := rr.spread()
	if hi-lo > 1 {
		t.Errorf("round robin spread %v-%v: %+v", lo, hi, rr.Managers)
	}
	for i, want := range []string{router.SalesRoundRobin, router.SalesLeastLoaded, router.SalesBestConversion, router.SalesWeighted} {
		s := cmp.Variants[i].Sales
		if s.Strategy != want || s.Funnel.HandedOff != rr.Funnel.HandedOff {
			t.Errorf("variant %d: strategy %s, handed off %d (want %s, %d)", i, s.Strategy, s.Funnel.HandedOff, want, rr.Funnel.HandedOff)
		}
	}
	var txt bytes.Buffer
	cmp.WriteText(&txt)
	if !strings.Contains(txt.String(), "leads per sales mgr/day") {
		t.Errorf("comparison lacks the sales rows:\n%s", txt.String())
	}
}
