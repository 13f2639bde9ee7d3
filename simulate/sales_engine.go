package simulate

import (
	"fmt"
	"strings"
	"time"

	"github.com/lidorub/lidorub/router"
)

// The second tier in the discrete-event loop: lead-managers hand hot (and warm) leads off
// through Desk.Handoff; sales managers learn of offers from the router's events (as the staff
// bot does) and act through the Desk: SalesAccept or SalesReject, SalesContacted,
// RecordOutcome. A lead rejected as "not a lead" comes back to its lead-manager, who closes it.

// salesVariant is the sales set-up of a variant.
type salesVariant struct {
	cfg  router.SalesConfig
	team []simSales
}

type simSales struct {
	m       router.Manager
	breaks  []router.Shift
	b       SalesBehaviour
	reasons []string  // rejection reason ids
	weights []float64 // their shares
}

// sales action kinds (after the first tier's)
const (
	actSalesPresence = iota + 100
	actSalesAccept
	actSalesReject
	actSalesContact
	actSalesOutcome
	actReturnClose
)

type salesTrack struct {
	online                                   bool
	since                                    time.Time
	onlineD                                  time.Duration
	offers, lapsed, rejected, accepted       int
	contacted, breaches, won, lost, lateActs int
	amount                                   float64
}

// salesCounts are a run's sales events.
type salesCounts struct {
	offers, lapsed, breaches, rejected, returned, escalations int
}

// salesResult is one sales manager over a run.
type salesResult struct {
	id                                 string
	capacity, weight                   int
	online                             time.Duration
	offers, lapsed, rejected, accepted int
	contacted, breaches, won, lost     int
	amount                             float64
}

// checkSales verifies the sales: set-up against the config: a roster (the scenario's or the
// config's sales managers), distinct from the lead-managers, and rejection reasons the config
// knows. Errors name the scenario's YAML path.
func (o *Options) checkSales() error {
	sc := o.Scenario
	if sc.Sales == nil {
		return nil
	}
	cfg := o.salesConfig(nil)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("sales: %w", err)
	}
	team := o.salesTeam(cfg)
	if len(team) == 0 {
		return fmt.Errorf("sales.roster: is empty and the config has no managers with role: sales")
	}
	lead := map[string]bool{}
	for _, m := range sc.team() {
		lead[m.m.ID] = true
	}
	for _, m := range team {
		if lead[m.m.ID] {
			return fmt.Errorf("sales.roster: %q is also a lead-manager", m.m.ID)
		}
	}
	known := map[string]bool{}
	var ids []string
	for _, r := range cfg.RejectionReasons {
		known[r.ID] = true
		ids = append(ids, r.ID)
	}
	check := func(path string, b SalesBehaviour) error {
		for _, id := range sortedKeys(b.Reasons) {
			if !known[id] {
				return fmt.Errorf("%s.reasons.%s: is not one of the config's sales.rejection_reasons (%s)", path, id, strings.Join(ids, ", "))
			}
		}
		return nil
	}
	if err := check("sales.behaviour", sc.Sales.Behaviour); err != nil {
		return err
	}
	for i, m := range sc.Sales.Roster {
		if err := check(fmt.Sprintf("sales.roster[%d].behaviour", i), m.Behaviour); err != nil {
			return err
		}
	}
	return nil
}

// salesConfig is the sales: section under test: the config's, the scenario's overrides, the
// alternative's (alt may be nil), defaults.
func (o *Options) salesConfig(alt *Alternative) router.SalesConfig {
	c := o.Sales
	c.RejectionReasons = append([]router.SalesReason(nil), c.RejectionReasons...)
	c.LossReasons = append([]router.SalesReason(nil), c.LossReasons...)
	c.HandoffLevels = append([]string(nil), c.HandoffLevels...)
	if o.Scenario.Sales != nil {
		c = o.Scenario.Sales.Router.apply(c)
	}
	if alt != nil {
		c = alt.Sales.apply(c)
	}
	c.Defaults()
	return c
}

// salesTeam is the sales roster: the scenario's, else the config's sales managers.
func (o *Options) salesTeam(cfg router.SalesConfig) []simSales {
	st := o.Scenario.Sales
	loc := o.Scenario.loc
	var out []simSales
	add := func(m router.Manager, breaks []router.Shift, b SalesBehaviour) {
		m.Shifts = append([]router.Shift(nil), m.Shifts...)
		for i := range m.Shifts {
			if m.Shifts[i].TimeZone == "" {
				m.Shifts[i].TimeZone = loc.String()
			}
		}
		breaks = append([]router.Shift(nil), breaks...)
		for i := range breaks {
			if breaks[i].TimeZone == "" {
				breaks[i].TimeZone = loc.String()
			}
		}
		if len(breaks) > 0 {
			_ = router.ValidateManagers([]router.Manager{{ID: "breaks", Role: router.RoleSales, Capacity: 1, Weight: 1, Shifts: breaks}})
		}
		s := simSales{m: m, breaks: breaks, b: b}
		if len(b.Reasons) > 0 {
			for _, id := range sortedKeys(b.Reasons) {
				s.reasons, s.weights = append(s.reasons, id), append(s.weights, b.Reasons[id])
			}
		} else {
			for _, r := range cfg.RejectionReasons {
				s.reasons, s.weights = append(s.reasons, r.ID), append(s.weights, 1)
			}
		}
		out = append(out, s)
	}
	if len(st.Roster) == 0 {
		for _, m := range o.Managers {
			if m.Role == router.RoleSales {
				if m.Capacity == 0 {
					m.Capacity = 5
				}
				if m.Weight == 0 {
					m.Weight = 1
				}
				add(router.Manager{ID: m.ID, Role: router.RoleSales, Capacity: m.Capacity, Weight: m.Weight, Shifts: m.Shifts}, nil, st.Behaviour)
			}
		}
		return out
	}
	for _, mem := range st.Roster {
		b := st.Behaviour.merge(mem.Behaviour)
		for _, id := range (&Member{ID: mem.ID, Count: mem.Count}).ids() {
			add(router.Manager{ID: id, Role: router.RoleSales, Capacity: mem.Capacity, Weight: mem.Weight, Shifts: mem.Shifts}, mem.Breaks, b)
		}
	}
	return out
}

// salesVariantFor is the sales part of a variant (nil without a sales: section).
func (o *Options) salesVariantFor(alt *Alternative) *salesVariant {
	if o.Scenario.Sales == nil {
		return nil
	}
	cfg := o.salesConfig(alt)
	return &salesVariant{cfg: cfg, team: o.salesTeam(cfg)}
}

// handsOff reports whether the lead, qualified at level, goes to the sales tier.
func (v *salesVariant) handsOff(level string) bool {
	if v == nil {
		return false
	}
	for _, l := range v.cfg.HandoffLevels {
		if l == level {
			return true
		}
	}
	return false
}

func pick(r interface{ Float64() float64 }, ids []string, weights []float64) string {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	u := r.Float64() * sum
	for i, w := range weights {
		if u < w {
			return ids[i]
		}
		u -= w
	}
	return ids[len(ids)-1]
}

func (s *sim) salesIntegrate(i int, now time.Time) {
	t := &s.st[i]
	if d := now.Sub(t.since); d > 0 && t.online {
		t.onlineD += d
	}
	t.since = now
}

// inSales reports whether an escalation is the second tier's (sales.max_offers): its lead has
// been offered to a sales manager (first-tier escalations come before a handoff).
func (s *sim) inSales(ev router.Event) bool {
	_, offered := s.salesSeq[ev.ConversationID]
	return offered || strings.Contains(ev.Reason, "sales")
}

// observeSales follows the router's sales events; lead is -1 when unknown.
func (s *sim) observeSales(ev router.Event, lead int) {
	now := s.clk.Now()
	si, isSales := s.salesIdx[ev.ManagerID]
	switch ev.Type {
	case router.EventSalesOffer:
		s.res.sales.offers++
		if !isSales || lead < 0 {
			return
		}
		s.salesSeq[ev.ConversationID] = ev.OfferSeq
		t := &s.st[si]
		t.offers++
		sm := &s.v.sales.team[si]
		r := stream(s.seed, "sales-offer", lead, ev.OfferSeq, ev.ManagerID)
		u := r.Float64()
		switch {
		case u < *sm.b.Lapse:
			return // never reacts: the offer lapses after accept_timeout
		case u < *sm.b.Lapse+*sm.b.Reject:
			s.push(action{at: now.Add(sm.b.Accept.Sample(r)), kind: actSalesReject, lead: lead, mgr: si, conv: ev.ConversationID, sseq: ev.OfferSeq})
		default:
			s.push(action{at: now.Add(sm.b.Accept.Sample(r)), kind: actSalesAccept, lead: lead, mgr: si, conv: ev.ConversationID, sseq: ev.OfferSeq})
		}
	case router.EventSalesOfferWithdrawn:
		switch ev.Reason {
		case "lapsed":
			s.res.sales.lapsed++
			if isSales {
				s.st[si].lapsed++
			}
		case "no_contact":
			s.res.sales.breaches++
			if isSales {
				s.st[si].breaches++
			}
		}
	case router.EventSalesReturned:
		s.res.sales.returned++
		mi, ok := s.mgrIdx[ev.ManagerID]
		if !ok || lead < 0 {
			return
		}
		s.integrate(mi, now)
		s.mt[mi].assigned++
		r := stream(s.seed, "returned", lead)
		s.push(action{at: now.Add(s.v.team[mi].b.Notice.Sample(r)), kind: actReturnClose, lead: lead, mgr: mi, conv: ev.ConversationID})
	}
}

// doSales performs a sales action (and the lead-manager closing a returned lead).
func (s *sim) doSales(a action) error {
	now := s.clk.Now()
	ctx := s.ctx
	var err error
	if a.kind != actSalesPresence && a.kind != actReturnClose && s.salesSeq[a.conv] != a.sseq {
		// The offer this answers is gone (lapsed, breached, rejected): the person acts on an
		// old notification; the staff bot tells them it is no longer theirs.
		s.res.lateActions++
		s.st[a.mgr].lateActs++
		return nil
	}
	switch a.kind {
	case actSalesPresence:
		s.salesIntegrate(a.mgr, now)
		s.st[a.mgr].online = a.online
		return s.r.SetOnline(ctx, s.v.sales.team[a.mgr].m.ID, a.online)
	case actReturnClose:
		err = s.r.Close(ctx, a.conv, s.v.team[a.mgr].m.ID)
		if err == nil {
			s.returnedClosed[a.conv] = true
		}
	case actSalesAccept:
		sm := &s.v.sales.team[a.mgr]
		if err = s.r.SalesAccept(ctx, a.conv, sm.m.ID); err == nil {
			s.st[a.mgr].accepted++
			r := stream(s.seed, "sales-contact", a.lead, a.sseq, sm.m.ID)
			s.push(action{at: now.Add(sm.b.Contact.Sample(r)), kind: actSalesContact, lead: a.lead, mgr: a.mgr, conv: a.conv, sseq: a.sseq})
		}
	case actSalesReject:
		sm := &s.v.sales.team[a.mgr]
		reason := pick(stream(s.seed, "sales-reason", a.lead, a.sseq, sm.m.ID), sm.reasons, sm.weights)
		if err = s.r.SalesReject(ctx, a.conv, sm.m.ID, reason); err == nil {
			s.st[a.mgr].rejected++
			s.res.sales.rejected++
		}
	case actSalesContact:
		sm := &s.v.sales.team[a.mgr]
		if err = s.r.SalesContacted(ctx, a.conv, sm.m.ID); err == nil {
			s.st[a.mgr].contacted++
			r := stream(s.seed, "sales-outcome", a.lead, a.sseq, sm.m.ID)
			s.push(action{at: now.Add(sm.b.Outcome.Sample(r)), kind: actSalesOutcome, lead: a.lead, mgr: a.mgr, conv: a.conv, sseq: a.sseq})
		}
	case actSalesOutcome:
		sm := &s.v.sales.team[a.mgr]
		r := stream(s.seed, "sales-deal", a.lead, a.sseq, sm.m.ID)
		o := router.Outcome{Result: router.OutcomeLost}
		if r.Float64() < *sm.b.WinRate {
			o = router.Outcome{Result: router.OutcomeWon, Amount: sm.b.Amount.Sample(r)}
		} else {
			var ids []string
			var ws []float64
			for _, l := range s.v.sales.cfg.LossReasons {
				ids, ws = append(ids, l.ID), append(ws, 1)
			}
			o.Reason = pick(r, ids, ws)
		}
		if err = s.r.RecordOutcome(ctx, a.conv, sm.m.ID, o); err == nil {
			if o.Result == router.OutcomeWon {
				s.st[a.mgr].won++
				s.st[a.mgr].amount += o.Amount
			} else {
				s.st[a.mgr].lost++
			}
		}
	}
	if err != nil {
		if expected(err) {
			s.res.lateActions++
			if a.kind != actReturnClose {
				s.st[a.mgr].lateActs++
			}
			return nil
		}
		return fmt.Errorf("sales action: %w", err)
	}
	return nil
}

// handoff is the lead-manager's end of a hot (or warm) lead when the sales tier is simulated:
// Desk.Handoff with the config's strategy; the lead leaves their load.
func (s *sim) handoff(a action, level string) error {
	id := s.v.team[a.mgr].m.ID
	if err := s.r.Handoff(s.ctx, a.conv, id, level, ""); err != nil {
		if expected(err) {
			s.res.lateActions++
			return nil
		}
		return err
	}
	now := s.clk.Now()
	s.integrate(a.mgr, now)
	if s.mt[a.mgr].assigned > 0 {
		s.mt[a.mgr].assigned--
		s.mt[a.mgr].handled++
	}
	s.setState(a.lead, lsClosed)
	return nil
}
