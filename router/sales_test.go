package router_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/router"
)

// salesTeam is a lead-manager (lena, capacity 60), a supervisor (sue) and the sales managers.
func salesTeam(sales ...router.Manager) []router.Manager {
	ms := []router.Manager{{ID: "lena", Capacity: 60}, {ID: "sue", Role: router.RoleSupervisor}}
	for _, s := range sales {
		s.Role = router.RoleSales
		if s.Capacity == 0 {
			s.Capacity = 1000
		}
		ms = append(ms, s)
	}
	return ms
}

func sm(ids ...string) []router.Manager {
	var ms []router.Manager
	for _, id := range ids {
		ms = append(ms, router.Manager{ID: id})
	}
	return ms
}

type salesEnv struct {
	*env
	leads int64
}

func newSalesEnv(t *testing.T, cfg router.SalesConfig, sales []router.Manager) *salesEnv {
	t.Helper()
	e := newEnv(t, opts{managers: salesTeam(sales...), sales: &cfg,
		cfg: router.Config{OfferTimeout: time.Hour, FirstResponse: 24 * time.Hour}})
	ids := []string{"lena"}
	for _, s := range sales {
		ids = append(ids, s.ID)
	}
	e.online(ids...)
	return &salesEnv{env: e}
}

// assigned makes a new lead accepted by lena and returns its id.
func (e *salesEnv) assigned() int64 {
	e.t.Helper()
	e.leads++
	id := e.leads
	e.inbound("c"+strconv.FormatInt(id, 10), "hello")
	if err := e.r.Accept(e.ctx, id, "lena"); err != nil {
		e.t.Fatalf("accept %d: %v", id, err)
	}
	return id
}

// handoff hands a new lead off and returns it (its sales offer in SalesOfferTo).
func (e *salesEnv) handoff() *router.Conversation {
	e.t.Helper()
	id := e.assigned()
	if err := e.r.Handoff(e.ctx, id, "lena", router.QualHot, "call after 6"); err != nil {
		e.t.Fatalf("handoff %d: %v", id, err)
	}
	e.settle()
	return e.conv(id)
}

// finish accepts the lead's sales offer and records an outcome (the sales load ends).
func (e *salesEnv) finish(c *router.Conversation, won bool) {
	e.t.Helper()
	s := c.SalesOfferTo
	if err := e.r.SalesAccept(e.ctx, c.ID, s); err != nil {
		e.t.Fatalf("sales accept %d by %s: %v", c.ID, s, err)
	}
	o := router.Outcome{Result: router.OutcomeLost, Reason: "price"}
	if won {
		o = router.Outcome{Result: router.OutcomeWon, Amount: 1000}
	}
	if err := e.r.RecordOutcome(e.ctx, c.ID, s, o); err != nil {
		e.t.Fatalf("outcome %d: %v", c.ID, err)
	}
}

// entries reads the ledger and checks it: seq without gaps, the chain (ledger.Hash over each
// entry's fields), and every automatic decision against the rules of package ledger's doc.
func (e *salesEnv) entries() []ledger.Entry {
	e.t.Helper()
	xs, err := e.rdb.XRange(e.ctx, "{"+e.keys.Prefix+"}:ledger", "-", "+").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []ledger.Entry
	prev := ""
	for i, x := range xs {
		s := func(k string) string { v, _ := x.Values[k].(string); return v }
		n := func(k string) int64 { v, _ := strconv.ParseInt(s(k), 10, 64); return v }
		en := ledger.Entry{ID: x.ID, Seq: n("seq"), At: n("at"), Lead: n("lead"), LM: s("lm"), Kind: s("kind"),
			Strategy: s("strategy"), Ptr: s("ptr"), CandsRaw: s("cands"), Chosen: s("chosen"), By: s("by"),
			Prev: s("prev"), Hash: s("hash")}
		if err := json.Unmarshal([]byte(en.CandsRaw), &en.Cands); err != nil {
			e.t.Fatalf("entry %d cands: %v", en.Seq, err)
		}
		if en.Seq != int64(i+1) || en.Prev != prev || ledger.Hash(en) != en.Hash {
			e.t.Fatalf("ledger entry %d (seq %d): chain broken", i, en.Seq)
		}
		prev = en.Hash
		if en.Kind == ledger.KindAuto {
			if want := decide(en); want != en.Chosen {
				e.t.Fatalf("ledger seq %d: chose %q, the %s rule gives %q (%s)", en.Seq, en.Chosen, en.Strategy, want, en.CandsRaw)
			}
		}
		out = append(out, en)
	}
	return out
}

// decide re-applies the rule of an entry's strategy to its recorded candidates.
func decide(en ledger.Entry) string {
	var best *ledger.Candidate
	switch en.Strategy {
	case router.SalesRoundRobin:
		var first *ledger.Candidate
		for i := range en.Cands {
			c := &en.Cands[i]
			if c.Skip != "" {
				continue
			}
			if first == nil {
				first = c
			}
			if best == nil && c.ID > en.Ptr {
				best = c
			}
		}
		if best == nil {
			best = first
		}
	case router.SalesLeastLoaded:
		for i := range en.Cands {
			c := &en.Cands[i]
			if c.Skip == "" && (best == nil || c.Load < best.Load || (c.Load == best.Load && c.Last < best.Last)) {
				best = c
			}
		}
	default:
		for i := range en.Cands {
			c := &en.Cands[i]
			if c.Skip == "" && (best == nil || c.CW+c.W > best.CW+best.W) {
				best = c
			}
		}
	}
	if best == nil {
		return ""
	}
	return best.ID
}

func counts(en []ledger.Entry) map[string]int {
	m := map[string]int{}
	for _, x := range en {
		if x.Chosen != "" {
			m[x.Chosen]++
		}
	}
	return m
}

func report(t *testing.T, name string, m map[string]int) {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	s := ""
	for _, id := range ids {
		s += fmt.Sprintf(" %s=%d", id, m[id])
	}
	t.Logf("distribution %s:%s", name, s)
}

func TestSalesRoundRobinCyclesSkipsAndSurvivesRosterChange(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{}, sm("s1", "s2", "s3", "s4"))
	for i := 0; i < 200; i++ {
		c := e.handoff()
		if want := fmt.Sprintf("s%d", i%4+1); c.SalesOfferTo != want {
			t.Fatalf("handoff %d offered to %q, want %q", i, c.SalesOfferTo, want)
		}
	}
	// s2 is away for 30 handoffs: the others share them; back, s2 gets its turn, no more.
	// Going offline withdraws s2's 50 open offers, decided again at once (50 more entries).
	if err := e.r.SetOnline(e.ctx, "s2", false); err != nil {
		t.Fatal(err)
	}
	if n := len(e.entries()); n != 250 {
		t.Fatalf("%d ledger entries after s2 went offline, want 250 (s2's 50 offers decided again)", n)
	}
	for i := 0; i < 30; i++ {
		if c := e.handoff(); c.SalesOfferTo == "s2" {
			t.Fatal("offered to s2 while offline")
		}
	}
	e.online("s2")
	for i := 0; i < 100; i++ {
		e.handoff()
	}
	en := e.entries()
	last := counts(en[len(en)-100:])
	report(t, "round_robin (after s2 returned, 100 handoffs)", last)
	for _, id := range []string{"s1", "s2", "s3", "s4"} {
		if last[id] != 25 {
			t.Errorf("after s2 returned %s got %d of 100, want 25 (no surge, no starvation)", id, last[id])
		}
	}
	report(t, "round_robin (all 380 decisions)", counts(en))
	// a roster change (s0 and s5 join) in a new process: the pointer is an id, it continues
	ptr := en[len(en)-1].Chosen
	e2 := newEnv(t, opts{managers: salesTeam(sm("s0", "s1", "s2", "s3", "s4", "s5")...), shareWith: e.env,
		cfg: router.Config{OfferTimeout: time.Hour, FirstResponse: 24 * time.Hour}, sales: &router.SalesConfig{}})
	e2.online("s0", "s5")
	se2 := &salesEnv{env: e2, leads: e.leads}
	c := se2.handoff()
	want := map[string]string{"s1": "s2", "s2": "s3", "s3": "s4", "s4": "s5"}[ptr]
	if c.SalesOfferTo != want {
		t.Fatalf("after the roster change the pointer %q gives %q, want %q", ptr, c.SalesOfferTo, want)
	}
	se2.entries()
}

func TestSalesLeastLoadedFollowsLoad(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{Strategy: router.SalesLeastLoaded}, sm("s1", "s2", "s3"))
	// two leads a round; s1 resolves one lead every round, s2 every 2nd, s3 every 4th: the
	// faster closer receives more, and the loads never drift apart by more than one
	open := map[string][]int64{}
	every := map[string]int{"s1": 1, "s2": 2, "s3": 4}
	for round := 1; round <= 150; round++ {
		for i := 0; i < 2; i++ {
			c := e.handoff()
			if err := e.r.SalesAccept(e.ctx, c.ID, c.SalesOfferTo); err != nil {
				t.Fatal(err)
			}
			open[c.SalesOfferTo] = append(open[c.SalesOfferTo], c.ID)
		}
		loads := []int{}
		for _, id := range []string{"s1", "s2", "s3"} {
			if round%every[id] == 0 && len(open[id]) > 0 {
				if err := e.r.RecordOutcome(e.ctx, open[id][0], id, router.Outcome{Result: router.OutcomeWon}); err != nil {
					t.Fatal(err)
				}
				open[id] = open[id][1:]
			}
			v, _ := e.r.Manager(e.ctx, id)
			loads = append(loads, v.Load)
		}
		if mx, mn := max(loads[0], loads[1], loads[2]), min(loads[0], loads[1], loads[2]); mx-mn > 2 {
			t.Fatalf("round %d: loads %v drifted apart", round, loads)
		}
	}
	m := counts(e.entries())
	report(t, "least_loaded (2 leads a round; s1 resolves 1/round, s2 1/2 rounds, s3 1/4 rounds; 300)", m)
	if !(m["s1"] > m["s2"] && m["s2"] > m["s3"]) {
		t.Errorf("the leads do not follow the load: %v", m)
	}
}

func TestSalesBestConversionFavoursButNeverStarves(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{Strategy: router.SalesBestConversion}, sm("s1", "s2", "s3"))
	for i := 0; i < 300; i++ {
		c := e.handoff()
		e.finish(c, c.SalesOfferTo == "s1") // s1 wins every deal, s2 and s3 lose every one
	}
	m := counts(e.entries())
	report(t, "best_conversion (s1 wins all, s2/s3 lose all; floor 100, prior 1/4)", m)
	if m["s1"] < 2*m["s2"] || m["s1"] < 2*m["s3"] {
		t.Errorf("the better rate is not favoured: %v", m)
	}
	for _, id := range []string{"s2", "s3"} {
		if m[id] < 15 {
			t.Errorf("%s starved below the floor: %d of 300", id, m[id])
		}
	}
}

func TestSalesWeightedRealisesWeights(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{Strategy: router.SalesWeighted},
		[]router.Manager{{ID: "s1", Weight: 1}, {ID: "s2", Weight: 2}, {ID: "s3", Weight: 3}})
	for i := 0; i < 600; i++ {
		e.handoff()
	}
	m := counts(e.entries())
	report(t, "weighted 1:2:3 (600)", m)
	for id, want := range map[string]int{"s1": 100, "s2": 200, "s3": 300} {
		if d := m[id] - want; d < -1 || d > 1 {
			t.Errorf("%s got %d, want %d±1", id, m[id], want)
		}
	}
}

func TestSalesBurstSpreadsAcrossRoster(t *testing.T) {
	for _, strategy := range []string{router.SalesRoundRobin, router.SalesLeastLoaded, router.SalesWeighted, router.SalesBestConversion} {
		t.Run(strategy, func(t *testing.T) {
			e := newSalesEnv(t, router.SalesConfig{Strategy: strategy}, sm("s1", "s2", "s3", "s4", "s5"))
			for i := 0; i < 50; i++ { // one instant: the clock does not move
				e.handoff()
			}
			m := counts(e.entries())
			report(t, "burst of 50 "+strategy, m)
			for _, id := range []string{"s1", "s2", "s3", "s4", "s5"} {
				if m[id] != 10 {
					t.Errorf("%s got %d of 50, want 10", id, m[id])
				}
			}
		})
	}
}

func TestSalesConcurrentHandoffsNeverDoubleAssign(t *testing.T) {
	team := []router.Manager{{ID: "s1", Capacity: 3}, {ID: "s2", Capacity: 3}, {ID: "s3", Capacity: 3}, {ID: "s4", Capacity: 3}}
	e := newSalesEnv(t, router.SalesConfig{}, team)
	other := newEnv(t, opts{managers: salesTeam(team...), shareWith: e.env, instance: "other",
		cfg: router.Config{OfferTimeout: time.Hour, FirstResponse: 24 * time.Hour}, sales: &router.SalesConfig{}})
	var ids []int64
	for i := 0; i < 40; i++ {
		ids = append(ids, e.assigned())
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for i, id := range ids {
		r := e.r
		if i%2 == 1 {
			r = other.r
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.Handoff(e.ctx, id, "lena", router.QualHot, "")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	per := map[string]int{}
	offered := 0
	for _, id := range ids {
		c := e.conv(id)
		if c.SalesState == router.SalesOffered {
			per[c.SalesOfferTo]++
			offered++
		} else if c.SalesState != router.SalesQueued {
			t.Errorf("lead %d in sales state %q", id, c.SalesState)
		}
	}
	for _, s := range team {
		v, err := e.r.Manager(e.ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if per[s.ID] != 3 || v.Load != 3 {
			t.Errorf("%s: %d offers, load %d, want 3 (capacity)", s.ID, per[s.ID], v.Load)
		}
	}
	if n := e.rdb.ZCard(e.ctx, "{"+e.keys.Prefix+"}:sales:waiting").Val(); offered != 12 || n != 28 {
		t.Errorf("offered %d, waiting %d; want 12 and 28", offered, n)
	}
	if en := e.entries(); len(en) != 40 {
		t.Errorf("%d ledger entries, want 40", len(en))
	}
}

func TestSalesLapseRejectAndReturn(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{AcceptTimeout: time.Minute}, sm("s1", "s2", "s3"))
	c := e.handoff()
	if c.SalesOfferTo != "s1" || c.LeadManagerID != "lena" || c.HandoffNote != "call after 6" {
		t.Fatalf("handoff: %+v", c)
	}
	if v, _ := e.r.Manager(e.ctx, "s1"); len(v.Offers) != 1 || v.Offers[0].ID != c.ID || v.Load != 1 {
		t.Errorf("s1's view: %d offers, load %d", len(v.Offers), v.Load)
	}
	lena, _ := e.r.Manager(e.ctx, "lena")
	if lena.Load != 0 {
		t.Errorf("the handed-off lead is still on lena's load (%d)", lena.Load)
	}
	e.advance(61 * time.Second) // s1 lets it lapse: s2
	if c = e.conv(c.ID); c.SalesOfferTo != "s2" || c.SalesOffers != 2 {
		t.Fatalf("after the lapse: offer to %q (%d offers), want s2", c.SalesOfferTo, c.SalesOffers)
	}
	if err := e.r.SalesReject(e.ctx, c.ID, "s2", "no_such_reason"); err == nil {
		t.Fatal("an unknown reason was accepted")
	}
	if err := e.r.SalesReject(e.ctx, c.ID, "s2", "not_our_region"); err != nil {
		t.Fatal(err)
	}
	if c = e.conv(c.ID); c.SalesOfferTo != "s3" {
		t.Fatalf("after s2's rejection: offer to %q, want s3", c.SalesOfferTo)
	}
	e.advance(61 * time.Second) // s3 lapses too: a new round without s2 (rejected): s1
	if c = e.conv(c.ID); c.SalesOfferTo != "s1" {
		t.Fatalf("new round: offer to %q, want s1", c.SalesOfferTo)
	}
	if err := e.r.SalesAccept(e.ctx, c.ID, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.SalesReject(e.ctx, c.ID, "s1", "not_a_real_lead"); err != nil {
		t.Fatal(err)
	}
	c = e.conv(c.ID)
	lena, _ = e.r.Manager(e.ctx, "lena")
	if c.SalesState != router.SalesReturned || c.ManagerID != "lena" || c.State != router.StateAssigned || lena.Load != 1 {
		t.Fatalf("not back with lena: %+v, lena load %d", c, lena.Load)
	}
	if _, err := e.r.Reply(e.ctx, c.ID, "lena", "we will call", nil); err != nil {
		t.Errorf("lena cannot reply to the returned lead: %v", err)
	}
	if got := e.stages(c.ID); fmt.Sprint(got) != "[created offered accepted qualified:lena handed_off:lena sales_offered:s1 sales_lapsed:s1 sales_offered:s2 "+
		"sales_rejected:s2 sales_offered:s3 sales_lapsed:s3 escalated sales_offered:s1 sales_accepted:s1 sales_rejected:s1 returned:lena]" {
		t.Errorf("timeline %v", got)
	}
	e.settle()
	en := e.entries()
	if len(en) != 4 || en[1].Cands[0].Skip != ledger.SkipLapsed || en[2].Cands[1].Skip != ledger.SkipRejected {
		t.Errorf("ledger skips: %+v", en)
	}
	if ev := e.events.of(c.ID); !contains(ev, `escalation({"key":"sales.escalation.max_offers","args":{"n":"3"}})`) || !contains(ev, "sales_returned:lena(not_a_real_lead)") {
		t.Errorf("events %v", ev)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// stages lists a lead's timeline as stage[:manager].
func (e *salesEnv) stages(id int64) []string {
	e.t.Helper()
	raw, err := e.rdb.LRange(e.ctx, "{"+e.keys.Prefix+"}:conv:"+strconv.FormatInt(id, 10)+":tl", 0, -1).Result()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range raw {
		var x struct{ S, M string }
		_ = json.Unmarshal([]byte(r), &x)
		if x.M != "" && x.S != "offered" && x.S != "accepted" {
			x.S += ":" + x.M
		}
		out = append(out, x.S)
	}
	return out
}

func TestSalesAcceptContactOutcomeAndCorrection(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{FirstContact: time.Hour}, sm("s1", "s2"))
	c := e.handoff()
	if err := e.r.SalesAccept(e.ctx, c.ID, "s2"); err == nil {
		t.Fatal("s2 accepted an offer made to s1")
	}
	if err := e.r.SalesAccept(e.ctx, c.ID, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Qualify(e.ctx, c.ID, "s1", router.QualTourist); !errors.Is(err, router.ErrForbidden) {
		t.Fatalf("a sales manager qualified the lead: %v", err)
	}
	if _, err := e.r.Reply(e.ctx, c.ID, "s1", "hello, this is sales", nil); err != nil {
		t.Fatalf("the sales manager cannot reply: %v", err)
	}
	e.inbound("c1", "great")
	if ev := e.events.of(c.ID); !contains(ev, "customer_message:s1(message)") {
		t.Errorf("the customer's message did not go to s1: %v", ev)
	}
	e.advance(2 * time.Hour) // contacted by the reply: no breach
	if c = e.conv(c.ID); c.SalesState != router.SalesContacted || c.ContactedAt.IsZero() {
		t.Fatalf("not contacted: %q", c.SalesState)
	}
	if err := e.r.RecordOutcome(e.ctx, c.ID, "s1", router.Outcome{Result: router.OutcomeLost, Reason: "weather"}); err == nil {
		t.Fatal("an unknown loss reason was accepted")
	}
	if err := e.r.RecordOutcome(e.ctx, c.ID, "s1", router.Outcome{Result: router.OutcomeWon, Amount: 150000}); err != nil {
		t.Fatal(err)
	}
	if err := e.r.RecordOutcome(e.ctx, c.ID, "s1", router.Outcome{Result: router.OutcomeLost, Reason: "price"}); err == nil {
		t.Fatal("the sales manager recorded a second outcome")
	}
	if err := e.r.RecordOutcome(e.ctx, c.ID, "sue", router.Outcome{Result: router.OutcomeLost, Reason: "competitor"}); err != nil {
		t.Fatal(err)
	}
	if err := e.r.RecordOutcome(e.ctx, c.ID, "", router.Outcome{Result: router.OutcomeWon, Amount: 90000, Currency: "EUR", Source: "amocrm"}); err != nil {
		t.Fatal(err)
	}
	c = e.conv(c.ID)
	s1, _ := e.r.Manager(e.ctx, "s1")
	if c.Outcome != router.OutcomeWon || c.Amount != 90000 || c.Currency != "EUR" || s1.Load != 0 {
		t.Fatalf("outcome %q %v %q, s1 load %d", c.Outcome, c.Amount, c.Currency, s1.Load)
	}
	if err := e.r.Close(e.ctx, c.ID, "s1"); err != nil {
		t.Fatalf("the sales manager cannot close the won lead: %v", err)
	}
	if s1, _ = e.r.Manager(e.ctx, "s1"); s1.Load != 0 {
		t.Errorf("closing after the outcome changed s1's load to %d", s1.Load)
	}
	got := fmt.Sprint(e.stages(c.ID)[2:])
	if got != "[accepted qualified:lena handed_off:lena sales_offered:s1 sales_accepted:s1 contacted:s1 replied:s1 won:s1 outcome_changed:sue outcome_changed:amocrm closed:s1]" {
		t.Errorf("timeline %s", got)
	}
}

func TestSalesFirstContactBreachReoffers(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{FirstContact: time.Hour}, sm("s1", "s2"))
	c := e.handoff()
	if err := e.r.SalesAccept(e.ctx, c.ID, "s1"); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Hour + time.Second)
	if c = e.conv(c.ID); c.SalesOfferTo != "s2" || c.SalesState != router.SalesOffered {
		t.Fatalf("after the breach: %q to %q, want offered to s2", c.SalesState, c.SalesOfferTo)
	}
	if s1, _ := e.r.Manager(e.ctx, "s1"); s1.Load != 0 {
		t.Errorf("s1 still holds the breached lead (load %d)", s1.Load)
	}
	if !contains(e.stages(c.ID), "contact_breach:s1") {
		t.Errorf("no contact_breach on the timeline: %v", e.stages(c.ID))
	}
}

func TestSalesManualPickFlagged(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{}, sm("s1", "s2"))
	c := e.handoff()
	if err := e.r.PickSales(e.ctx, c.ID, "sue", "s2"); err == nil {
		t.Fatal("a pick was allowed with allow_manual_pick off")
	}
	e2 := newSalesEnv(t, router.SalesConfig{AllowManualPick: true}, sm("s1", "s2"))
	c = e2.handoff()
	if err := e2.r.PickSales(e2.ctx, c.ID, "lena", "s2"); err == nil {
		t.Fatal("a lead-manager picked")
	}
	if err := e2.r.PickSales(e2.ctx, c.ID, "sue", "s2"); err != nil {
		t.Fatal(err)
	}
	if c = e2.conv(c.ID); c.SalesOfferTo != "s2" {
		t.Fatalf("offer to %q after the pick", c.SalesOfferTo)
	}
	if s1, _ := e2.r.Manager(e2.ctx, "s1"); s1.Load != 0 {
		t.Errorf("s1 kept the withdrawn offer (load %d)", s1.Load)
	}
	en := e2.entries()
	if len(en) != 2 || en[1].Kind != ledger.KindManual || en[1].By != "sue" || en[1].Chosen != "s2" {
		t.Errorf("the pick is not flagged: %+v", en[len(en)-1])
	}
}

func TestSalesQueueDrainsWhenSalesComeOnline(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{}, []router.Manager{{ID: "s1", Capacity: 1}})
	a := e.handoff()
	b := e.handoff()
	if b.SalesState != router.SalesQueued {
		t.Fatalf("second lead %q, want queued (s1 at capacity)", b.SalesState)
	}
	e.finish(a, false)
	e.settle()
	if b = e.conv(b.ID); b.SalesOfferTo != "s1" {
		t.Fatalf("the queue was not drained when s1 freed up: %q", b.SalesState)
	}
	if en := e.entries(); len(en) != 3 || en[1].Chosen != "" || en[1].Cands[0].Skip != ledger.SkipAtCapacity {
		t.Errorf("ledger %+v", en)
	}
}

func TestSalesEraseRemovesLeadFromSalesKeys(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{}, []router.Manager{{ID: "s1", Capacity: 1}})
	a := e.handoff()
	e.finish(a, true)
	b := e.handoff()
	c := e.handoff() // queued: s1 is at capacity
	for _, id := range []int64{a.ID, b.ID, c.ID} {
		if err := e.r.Erase(e.ctx, id, "sue"); err != nil {
			t.Fatal(err)
		}
	}
	p := "{" + e.keys.Prefix + "}:"
	for _, k := range []string{"sales:waiting", "sales:open", "sales:got:s1", "sales:won:s1", "mgr:s1:convs"} {
		if n := e.rdb.ZCard(e.ctx, p+k).Val(); n != 0 {
			t.Errorf("%s still holds %d erased leads", k, n)
		}
	}
	if s1, _ := e.r.Manager(e.ctx, "s1"); s1.Load != 0 {
		t.Errorf("s1's load %d after erasing its lead", s1.Load)
	}
	e.entries() // the chain still verifies: ids only
}

func TestSalesNoSalesManagersKeepsOldBehaviour(t *testing.T) {
	e := &salesEnv{env: newEnv(t, opts{managers: salesTeam(), sales: &router.SalesConfig{}})}
	e.online("lena")
	id := e.assigned()
	if err := e.r.Qualify(e.ctx, id, "lena", router.QualHot); err != nil {
		t.Fatal(err)
	}
	if c := e.conv(id); !c.HandedOff || c.SalesState != "" || c.ManagerID != "lena" {
		t.Errorf("%+v", c)
	}
}

func TestSalesShiftStartDrainsQueueAndQualifyHandsOff(t *testing.T) {
	later := router.Shift{From: "11:00", To: "18:00"}
	e := newSalesEnv(t, router.SalesConfig{}, []router.Manager{{ID: "s1", Shifts: []router.Shift{later}}})
	id := e.assigned()
	if err := e.r.Qualify(e.ctx, id, "lena", router.QualHot); err != nil { // like Handoff without a note
		t.Fatal(err)
	}
	warm := e.assigned()
	if err := e.r.Qualify(e.ctx, warm, "lena", router.QualWarm); err != nil { // not a handing-off level
		t.Fatal(err)
	}
	e.settle()
	if c := e.conv(id); c.SalesState != router.SalesQueued || c.HandoffNote != "" || c.LeadManagerID != "lena" {
		t.Fatalf("before the shift: %q", c.SalesState)
	}
	if c := e.conv(warm); c.SalesState != "" || c.ManagerID != "lena" || c.HandedOff || c.Qualification != router.QualWarm {
		t.Fatalf("a warm lead went to sales: %q", c.SalesState)
	}
	e.advance(time.Hour + time.Second)
	if c := e.conv(id); c.SalesOfferTo != "s1" {
		t.Fatalf("the shift started but the sales queue was not drained: %q", c.SalesState)
	}
	en := e.entries()
	if len(en) != 2 || en[0].Cands[0].Skip != ledger.SkipOffShift || en[1].Chosen != "s1" {
		t.Errorf("ledger %+v", en)
	}
}

func TestSalesStaleLeadsReported(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{StaleAfter: 48 * time.Hour, AcceptTimeout: 72 * time.Hour}, sm("s1"))
	a := e.handoff()
	b := e.handoff()
	e.finish(b, true)
	e.advance(47 * time.Hour)
	if got, err := e.r.StaleLeads(e.ctx); err != nil || len(got) != 0 {
		t.Fatalf("stale before stale_after: %v %v", got, err)
	}
	e.advance(2 * time.Hour)
	if got, err := e.r.StaleLeads(e.ctx); err != nil || fmt.Sprint(got) != fmt.Sprint([]int64{a.ID}) {
		t.Fatalf("stale %v %v, want [%d] (the won lead is resolved)", got, err, a.ID)
	}
}

func TestSalesManagersNeverGetFirstTierOffers(t *testing.T) {
	e := newEnv(t, opts{managers: salesTeam(sm("s1", "s2")...), sales: &router.SalesConfig{}})
	e.online("s1", "s2")
	e.inbound("c1", "hello")
	if c := e.conv(1); c.State != router.StateWaiting || c.OfferTo != "" {
		t.Fatalf("a first-tier lead went to a sales manager: %q to %q", c.State, c.OfferTo)
	}
	e.online("lena")
	if c := e.conv(1); c.OfferTo != "lena" {
		t.Fatalf("offered to %q, want lena", c.OfferTo)
	}
}

// TestSalesCRMOutcomeInAnySalesState: a CRM connector's outcome is authoritative — applied to a
// queued lead (it leaves the sales queue) and to an offered one (the offer is withdrawn, the
// sales manager's load freed), crediting nobody's conversion; a sales manager still cannot
// record an outcome for a lead they have not accepted.
func TestSalesCRMOutcomeInAnySalesState(t *testing.T) {
	e := newSalesEnv(t, router.SalesConfig{}, []router.Manager{{ID: "s1", Capacity: 1}})
	a := e.handoff()
	b := e.handoff()
	if a.SalesOfferTo != "s1" || b.SalesState != router.SalesQueued {
		t.Fatalf("setup: a %q to %q, b %q", a.SalesState, a.SalesOfferTo, b.SalesState)
	}
	if err := e.r.RecordOutcome(e.ctx, a.ID, "s1", router.Outcome{Result: router.OutcomeWon}); !errors.Is(err, router.ErrNotYours) {
		t.Errorf("s1's outcome before accepting: %v, want not yours", err)
	}
	if err := e.r.RecordOutcome(e.ctx, b.ID, "", router.Outcome{Result: router.OutcomeLost, Reason: "price", Source: "bitrix24"}); err != nil {
		t.Fatalf("CRM outcome of the queued lead: %v", err)
	}
	if err := e.r.RecordOutcome(e.ctx, a.ID, "", router.Outcome{Result: router.OutcomeWon, Amount: 700, Source: "amocrm"}); err != nil {
		t.Fatalf("CRM outcome of the offered lead: %v", err)
	}
	e.settle()
	a, b = e.conv(a.ID), e.conv(b.ID)
	if a.SalesState != router.SalesWon || a.Amount != 700 || a.SalesOfferTo != "" || b.SalesState != router.SalesLost || b.LossReason != "price" {
		t.Fatalf("a %q %v to %q, b %q %q", a.SalesState, a.Amount, a.SalesOfferTo, b.SalesState, b.LossReason)
	}
	if s1, _ := e.r.Manager(e.ctx, "s1"); s1.Load != 0 {
		t.Errorf("s1's load %d after the withdrawn offer", s1.Load)
	}
	if err := e.r.SalesAccept(e.ctx, a.ID, "s1"); err == nil {
		t.Errorf("s1 accepted a lead the CRM already decided")
	}
	if got := e.stages(a.ID); got[len(got)-1] != "won:amocrm" {
		t.Errorf("timeline %v", got)
	}
	if en := e.entries(); len(en) != 2 {
		t.Errorf("ledger entries %d, want the two handoff decisions only", len(en))
	}
	if n, _ := e.rdb.ZCard(e.ctx, e.keys.Core("sales", "won", "s1")).Result(); n != 0 {
		t.Errorf("s1 credited with %d won leads", n)
	}
}
