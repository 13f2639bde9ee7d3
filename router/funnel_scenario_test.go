package router_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// scenarioLead is what the script did to one lead: the facts the report must count, taken
// from the script itself (who acted, the clock), not from the report's code.
type scenarioLead struct {
	channel, lm, sales    string // sales: the sales manager who accepted last, else who was offered last
	answered              bool
	speed                 time.Duration // to the first reply (answered) or to the close (censored)
	level                 string
	handed, offered, sAcc bool
	returned, contacted   bool
	rejections            []string
	rejectors             []string // who rejected, in order
	breached              string   // the sales manager who missed first_contact
	contactBreaches       int
	outcome, lostReason   string
	amount                float64
	closedUnanswered      bool
	died                  string
}

type scenario struct {
	*salesEnv
	contact int
	leads   []scenarioLead
}

// newLead ingests a first message on ch; the lead-manager offered it accepts after 10 s,
// or (lapse) lets the first offer lapse and the next one accepts.
func (s *scenario) newLead(ch string, lapse bool) (int64, *scenarioLead, time.Time) {
	s.t.Helper()
	s.contact++
	s.ingestMsg(channels.Inbound{Channel: ch, Account: "shop", MessageID: "fm" + strconv.Itoa(s.contact),
		ContactID: "7911" + strconv.Itoa(1000+s.contact), Text: "hello"})
	in := s.clock.Now()
	s.leads = append(s.leads, scenarioLead{channel: ch})
	id := int64(len(s.leads))
	if lapse {
		first := s.conv(id).OfferTo
		s.advance(2*time.Minute + time.Second) // router offer_timeout 2m
		if next := s.conv(id).OfferTo; next == first || next == "" {
			s.t.Fatalf("lead %d: the lapsed offer of %s went to %q", id, first, next)
		}
	}
	s.advance(10 * time.Second)
	m := s.conv(id).OfferTo
	if err := s.r.Accept(s.ctx, id, m); err != nil {
		s.t.Fatalf("accept %d by %q: %v", id, m, err)
	}
	l := &s.leads[id-1]
	l.lm = m
	return id, l, in
}

func (s *scenario) must(what string, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
	s.settle()
}

func (s *scenario) reply(id int64, l *scenarioLead, in time.Time, d time.Duration) {
	s.t.Helper()
	s.advance(d)
	_, err := s.r.Reply(s.ctx, id, l.lm, "hello", nil)
	s.must("reply", err)
	l.answered, l.speed = true, s.clock.Now().Sub(in)
}

// handoff: hot, with a note; the sales offer goes to whoever the strategy picks.
func (s *scenario) handoff(id int64, l *scenarioLead) string {
	s.t.Helper()
	s.advance(30 * time.Second)
	s.must("handoff", s.r.Handoff(s.ctx, id, l.lm, router.QualHot, "budget ok"))
	l.level, l.handed, l.offered = router.QualHot, true, true
	l.sales = s.conv(id).SalesOfferTo
	if l.sales == "" {
		s.t.Fatalf("lead %d: no sales offer", id)
	}
	return l.sales
}

func (s *scenario) salesAccept(id int64, l *scenarioLead) {
	s.t.Helper()
	s.advance(time.Minute)
	l.sales = s.conv(id).SalesOfferTo
	s.must("sales accept", s.r.SalesAccept(s.ctx, id, l.sales))
	l.sAcc = true
}

func (s *scenario) contacted(id int64, l *scenarioLead) {
	s.t.Helper()
	s.advance(5 * time.Minute)
	s.must("contacted", s.r.SalesContacted(s.ctx, id, l.sales))
	l.contacted = true
}

func (s *scenario) won(id int64, l *scenarioLead, amount float64) {
	s.t.Helper()
	s.advance(time.Hour)
	s.must("won", s.r.RecordOutcome(s.ctx, id, l.sales, router.Outcome{Result: router.OutcomeWon, Amount: amount}))
	l.outcome, l.amount = router.OutcomeWon, amount
}

func (s *scenario) lost(id int64, l *scenarioLead, reason, died string) {
	s.t.Helper()
	s.advance(time.Hour)
	s.must("lost", s.r.RecordOutcome(s.ctx, id, l.sales, router.Outcome{Result: router.OutcomeLost, Reason: reason}))
	l.outcome, l.lostReason, l.died = router.OutcomeLost, reason, died
}

func (s *scenario) reject(id int64, l *scenarioLead, reason string) {
	s.t.Helper()
	s.advance(2 * time.Minute)
	by := s.conv(id).SalesOfferTo
	s.must("reject", s.r.SalesReject(s.ctx, id, by, reason))
	l.rejections, l.rejectors = append(l.rejections, reason), append(l.rejectors, by)
}

func (s *scenario) close(id int64, m string) {
	s.t.Helper()
	s.advance(time.Minute)
	s.must("close "+strconv.FormatInt(id, 10)+" by "+m+" ("+s.conv(id).State+")", s.r.Close(s.ctx, id, m))
}

// runScenario: 66 leads over three channels; eleven kinds of lead, six of each, through the
// real router, the Desk and the sales tier (round robin over s1..s3), on the fake clock.
func runScenario(t *testing.T) *scenario {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "lena", Capacity: 100}, {ID: "lina", Capacity: 100},
		{ID: "sue", Role: router.RoleSupervisor}, {ID: "s1", Role: router.RoleSales, Capacity: 100},
		{ID: "s2", Role: router.RoleSales, Capacity: 100}, {ID: "s3", Role: router.RoleSales, Capacity: 100}},
		cfg: router.Config{OfferTimeout: 2 * time.Minute, FirstResponse: time.Hour},
		funnel: &router.FunnelLabels{LeadManagers: []string{"lena", "lina"}, SalesManagers: []string{"s1", "s2", "s3"},
			Channels:      []string{channels.Telegram, channels.Instagram, channels.WhatsAppCloud},
			RejectReasons: []string{"not_our_region", "duplicate", "not_enough_info", "not_a_real_lead"},
			LossReasons:   []string{"price", "no_answer", "competitor", "changed_mind", "other"}, Currencies: []string{"RUB"}},
		sales: &router.SalesConfig{AcceptTimeout: 10 * time.Minute, FirstContact: 2 * time.Hour}})
	e.online("lena", "lina", "s1", "s2", "s3")
	s := &scenario{salesEnv: &salesEnv{env: e}}
	chs := []string{channels.Telegram, channels.Instagram, channels.WhatsAppCloud}
	for i := 0; i < 66; i++ {
		ch := chs[i%3]
		switch kind := i % 11; kind {
		case 0: // hot, accepted, contacted, won
			id, l, in := s.newLead(ch, false)
			s.reply(id, l, in, 30*time.Second)
			s.handoff(id, l)
			s.salesAccept(id, l)
			s.contacted(id, l)
			s.won(id, l, float64(10000+1000*i))
		case 1: // hot, accepted, contacted, lost (price)
			id, l, in := s.newLead(ch, false)
			s.reply(id, l, in, 2*time.Minute)
			s.handoff(id, l)
			s.salesAccept(id, l)
			s.contacted(id, l)
			s.lost(id, l, "price", "contacted/"+l.sales)
		case 2: // the sales offer lapses; the next sales manager accepts and wins (no contact recorded)
			id, l, in := s.newLead(ch, false)
			s.reply(id, l, in, 45*time.Second)
			first := s.handoff(id, l)
			s.advance(10*time.Minute + time.Second)
			if next := s.conv(id).SalesOfferTo; next == first || next == "" {
				t.Fatalf("lead %d: the lapsed sales offer of %s went to %q", id, first, next)
			}
			s.salesAccept(id, l)
			s.won(id, l, 5000)
		case 3: // rejected (not our region), the next accepts, contacts, loses (no answer)
			id, l, in := s.newLead(ch, false)
			s.reply(id, l, in, time.Minute)
			s.handoff(id, l)
			s.reject(id, l, "not_our_region")
			s.salesAccept(id, l)
			s.contacted(id, l)
			s.lost(id, l, "no_answer", "contacted/"+l.sales)
		case 4: // rejected as not a real lead: back with the lead-manager, who closes it
			id, l, in := s.newLead(ch, false)
			s.reply(id, l, in, 90*time.Second)
			s.handoff(id, l)
			s.reject(id, l, "not_a_real_lead")
			if c := s.conv(id); c.SalesState != router.SalesReturned || c.ManagerID != l.lm {
				t.Fatalf("lead %d not returned to %s: %q %q", id, l.lm, c.SalesState, c.ManagerID)
			}
			l.returned = true
			s.close(id, l.lm)
		case 5: // tourist, closed
			id, l, in := s.newLead(ch, false)
			s.reply(id, l, in, 4*time.Minute)
			s.must("qualify", s.r.Qualify(s.ctx, id, l.lm, router.QualTourist))
			l.level = router.QualTourist // a tourist is closed by the qualification
			if c := s.conv(id); c.State != router.StateClosed {
				t.Fatalf("tourist %d: %q", id, c.State)
			}
		case 6: // warm (not a handing-off level), left open
			id, l, in := s.newLead(ch, false)
			s.reply(id, l, in, 8*time.Minute)
			s.must("qualify", s.r.Qualify(s.ctx, id, l.lm, router.QualWarm))
			l.level = router.QualWarm
		case 7: // accepted, never answered, closed after 20 minutes
			id, l, in := s.newLead(ch, false)
			s.advance(20 * time.Minute)
			s.must("close", s.r.Close(s.ctx, id, l.lm))
			l.speed, l.closedUnanswered, l.died = s.clock.Now().Sub(in), true, "accepted/"+l.lm
		case 8: // the first lead-manager's offer lapses; the next answers; tourist, closed
			id, l, in := s.newLead(ch, true)
			s.reply(id, l, in, 3*time.Minute)
			s.must("qualify", s.r.Qualify(s.ctx, id, l.lm, router.QualTourist))
			l.level = router.QualTourist // a tourist is closed by the qualification
			if c := s.conv(id); c.State != router.StateClosed {
				t.Fatalf("tourist %d: %q", id, c.State)
			}
		case 9: // accepted by sales, no contact within first_contact: re-offered, the next wins
			id, l, in := s.newLead(ch, false)
			s.reply(id, l, in, 20*time.Second)
			s.handoff(id, l)
			s.salesAccept(id, l)
			breached := l.sales
			s.advance(2*time.Hour + time.Second)
			if next := s.conv(id).SalesOfferTo; next == breached || next == "" {
				t.Fatalf("lead %d: after the breach of %s offered to %q", id, breached, next)
			}
			l.contactBreaches, l.breached = l.contactBreaches+1, breached
			s.salesAccept(id, l)
			s.contacted(id, l)
			s.won(id, l, 20000)
		case 10: // hot, accepted, contacted, still open
			id, l, in := s.newLead(ch, false)
			s.reply(id, l, in, 50*time.Second)
			s.handoff(id, l)
			s.salesAccept(id, l)
			s.contacted(id, l)
		}
		s.advance(7 * time.Minute) // the next lead comes in later
	}
	return s
}

// wantRows folds the scripted leads into the report rows by group (by: the report's
// grouping), the total last. Speed percentiles: every censored lead (closed unanswered at
// 20 m) is censored after every answer, so the Kaplan–Meier estimate falls by 1/n per
// answer and the p-th percentile is the ceil(p·n)-th fastest answer (none if fewer answers).
func wantRows(leads []scenarioLead, by string) []router.FunnelRow {
	groups := map[string][]scenarioLead{}
	for _, l := range leads {
		g := map[string]string{router.ByLeadManager: l.lm, router.BySalesManager: l.sales, router.ByChannel: l.channel}[by]
		if g == "" {
			g = router.NoGroup
		}
		groups[g] = append(groups[g], l)
	}
	var names []string
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	var rows []router.FunnelRow
	for _, g := range names {
		r := foldRow(g, groups[g])
		if by == router.BySalesManager { // rejections count for whoever made them
			r.Rejected = map[string]int{}
			for _, l := range leads {
				for i, who := range l.rejectors {
					if who == g {
						r.Rejected[l.rejections[i]]++
					}
				}
			}
		}
		rows = append(rows, r)
	}
	return append(rows, foldRow("total", leads))
}

func foldRow(group string, leads []scenarioLead) router.FunnelRow {
	r := router.FunnelRow{Group: group, Rejected: map[string]int{}, WonAmount: map[string]float64{},
		LostByReason: map[string]int{}, Died: map[string]int{}}
	var answers []time.Duration
	b := func(n *int, v bool) {
		if v {
			*n++
		}
	}
	for _, l := range leads {
		r.Leads++
		if l.answered {
			r.Answered++
			answers = append(answers, l.speed)
			b(&r.AnsweredInSLA, l.speed <= time.Minute)
			b(&r.Within1m, l.speed <= time.Minute)
			b(&r.Within5m, l.speed <= 5*time.Minute)
			b(&r.Within15m, l.speed <= 15*time.Minute)
			b(&r.Within1h, l.speed <= time.Hour)
		}
		b(&r.Hot, l.level == router.QualHot)
		b(&r.Warm, l.level == router.QualWarm)
		b(&r.Tourist, l.level == router.QualTourist)
		b(&r.HandedOff, l.handed)
		b(&r.SalesOffered, l.offered)
		b(&r.SalesAccepted, l.sAcc)
		b(&r.Returned, l.returned)
		b(&r.Contacted, l.contacted)
		b(&r.ClosedUnanswered, l.closedUnanswered)
		for _, x := range l.rejections {
			r.Rejected[x]++
		}
		r.ContactBreaches += l.contactBreaches
		switch l.outcome {
		case router.OutcomeWon:
			r.Won++
			r.WonAmount["RUB"] += l.amount
		case router.OutcomeLost:
			r.Lost++
			r.LostByReason[l.lostReason]++
		}
		if l.died != "" {
			r.Died[l.died]++
		}
	}
	sort.Slice(answers, func(i, j int) bool { return answers[i] < answers[j] })
	for _, q := range []struct {
		p       float64
		v       **float64
		reached *bool
	}{{0.5, &r.SpeedP50, &r.SpeedP50Reached}, {0.95, &r.SpeedP95, &r.SpeedP95Reached}} {
		if k := int(math.Ceil(q.p*float64(r.Leads) - 1e-9)); k >= 1 && k <= len(answers) {
			v := answers[k-1].Seconds()
			*q.v, *q.reached = &v, true
		}
	}
	return r
}

// wantCSV writes rows in the CSV layout of the README: the fixed columns, then
// rejected:<reason>, won_amount:<currency>, lost:<reason>, died:<stage/manager>.
func wantCSV(rows []router.FunnelRow) string {
	keys := func(f func(router.FunnelRow) []string) []string {
		seen := map[string]bool{}
		var ks []string
		for _, r := range rows {
			for _, k := range f(r) {
				if !seen[k] {
					seen[k] = true
					ks = append(ks, k)
				}
			}
		}
		sort.Strings(ks)
		return ks
	}
	ki := func(m map[string]int) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		return ks
	}
	rej := keys(func(r router.FunnelRow) []string { return ki(r.Rejected) })
	lost := keys(func(r router.FunnelRow) []string { return ki(r.LostByReason) })
	died := keys(func(r router.FunnelRow) []string { return ki(r.Died) })
	cur := keys(func(r router.FunnelRow) []string {
		var ks []string
		for k := range r.WonAmount {
			ks = append(ks, k)
		}
		return ks
	})
	head := strings.Fields("group leads answered answered_in_sla speed_p50_s speed_p95_s answered_within_1m answered_within_5m " +
		"answered_within_15m answered_within_1h qualified_hot qualified_warm qualified_tourist handed_off sales_offered " +
		"sales_accepted returned contacted won lost sla_breaches contact_breaches closed_unanswered stale")
	for _, k := range rej {
		head = append(head, "rejected:"+k)
	}
	for _, k := range cur {
		head = append(head, "won_amount:"+k)
	}
	for _, k := range lost {
		head = append(head, "lost:"+k)
	}
	for _, k := range died {
		head = append(head, "died:"+k)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(head)
	sec := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	for _, r := range rows {
		is := strconv.Itoa
		rec := []string{r.Group, is(r.Leads), is(r.Answered), is(r.AnsweredInSLA), sec(r.SpeedP50), sec(r.SpeedP95),
			is(r.Within1m), is(r.Within5m), is(r.Within15m), is(r.Within1h), is(r.Hot), is(r.Warm), is(r.Tourist),
			is(r.HandedOff), is(r.SalesOffered), is(r.SalesAccepted), is(r.Returned), is(r.Contacted), is(r.Won), is(r.Lost),
			is(r.SLABreaches), is(r.ContactBreaches), is(r.ClosedUnanswered), is(r.Stale)}
		for _, k := range rej {
			rec = append(rec, is(r.Rejected[k]))
		}
		for _, k := range cur {
			rec = append(rec, strconv.FormatFloat(r.WonAmount[k], 'f', -1, 64))
		}
		for _, k := range lost {
			rec = append(rec, is(r.LostByReason[k]))
		}
		for _, k := range died {
			rec = append(rec, is(r.Died[k]))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.String()
}

// TestFunnelScenarioBothTiers: the funnel report over 66 scripted leads on three channels,
// both tiers through the real router, asserted exactly (JSON and CSV) by lead-manager, sales
// manager and channel; the lead-manager and sales-manager tables are logged as
// `lidorub report funnel` prints them.
func TestFunnelScenarioBothTiers(t *testing.T) {
	s := runScenario(t)
	q := router.FunnelQuery{From: t0, To: t0.Add(30 * 24 * time.Hour)}
	total := map[string]int{}
	for _, by := range []string{router.ByLeadManager, router.BySalesManager, router.ByChannel} {
		q.By = by
		f, err := s.r.Funnel(s.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want := wantRows(s.leads, by)
		// JSON: what GET /api/v1/reports/funnel sends
		raw, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			By     string             `json:"by"`
			Groups []router.FunnelRow `json:"groups"`
			Total  router.FunnelRow   `json:"total"`
		}
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, append(got.Groups, got.Total), cmpopts.IgnoreUnexported(router.FunnelRow{}), cmpopts.EquateEmpty()); d != "" || got.By != by {
			t.Errorf("by %s (-want +got):\n%s", by, d)
		}
		var csvBuf bytes.Buffer
		if err := f.WriteCSV(&csvBuf); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(strings.Split(wantCSV(want), "\n"), strings.Split(csvBuf.String(), "\n")); d != "" {
			t.Errorf("CSV by %s (-want +got):\n%s", by, d)
		}
		total[by] = got.Total.Leads
		if by != router.ByChannel {
			var tb bytes.Buffer
			if err := f.WriteTable(&tb); err != nil {
				t.Fatal(err)
			}
			t.Logf("lidorub report funnel --by %s\n%s", by, tb.String())
		}
	}
	if total[router.ByLeadManager] != 66 || total[router.BySalesManager] != 66 || total[router.ByChannel] != 66 {
		t.Errorf("totals %v, want 66 leads each", total)
	}
}

// TestFunnelMetricsScenarioBothTiers: the funnel metrics counted from the same scripted
// scenario match what the script did, per lead-manager (the one who handed the lead off:
// rejected by sales, won of their handoffs), per sales manager and per channel.
func TestFunnelMetricsScenarioBothTiers(t *testing.T) {
	s := runScenario(t)
	fm := s.r.FunnelMetrics()
	want := map[string]float64{}
	add := func(k string, v float64) { want[k] += v }
	for _, l := range s.leads {
		if l.answered {
			add("lm/"+l.lm+"/answered", 1)
		}
		if l.level != "" {
			add("lm/"+l.lm+"/qualified_"+l.level, 1)
		}
		if l.handed {
			add("lm/"+l.lm+"/handed_off", 1)
		}
		add("lm/"+l.lm+"/rejected_by_sales", float64(len(l.rejections)))
		for i, by := range l.rejectors {
			add("sales/"+by+"/rejected", 1)
			add("rejected/"+by+"/"+l.rejections[i], 1)
		}
		if l.sAcc {
			add("sales/"+l.sales+"/accepted", 1)
		}
		if l.breached != "" {
			add("sales/"+l.breached+"/accepted", 1)
			add("breach/"+l.breached, 1)
		}
		if l.contacted {
			add("sales/"+l.sales+"/contacted", 1)
		}
		switch l.outcome {
		case router.OutcomeWon:
			add("lm/"+l.lm+"/won", 1)
			add("sales/"+l.sales+"/won", 1)
			add("amount/"+l.sales, l.amount)
		case router.OutcomeLost:
			add("sales/"+l.sales+"/lost", 1)
			add("lost/"+l.sales+"/"+l.lostReason, 1)
		}
		if l.closedUnanswered {
			add("unanswered/"+l.channel, 1)
		}
	}
	got := map[string]float64{}
	for k := range want {
		p := strings.Split(k, "/")
		switch p[0] {
		case "lm":
			got[k] = testutil.ToFloat64(fm.LeadManager.WithLabelValues(p[1], p[2]))
		case "sales":
			got[k] = testutil.ToFloat64(fm.SalesManager.WithLabelValues(p[1], p[2]))
		case "rejected":
			got[k] = testutil.ToFloat64(fm.SalesRejected.WithLabelValues(p[1], p[2]))
		case "lost":
			got[k] = testutil.ToFloat64(fm.SalesLost.WithLabelValues(p[1], p[2]))
		case "amount":
			got[k] = testutil.ToFloat64(fm.WonAmount.WithLabelValues(p[1], "RUB"))
		case "breach":
			got[k] = testutil.ToFloat64(fm.Breaches.WithLabelValues(p[1], "first_contact"))
		case "unanswered":
			got[k] = testutil.ToFloat64(fm.ClosedUnanswered.WithLabelValues(p[1]))
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("funnel metrics (-want +got):\n%s", d)
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		if v := testutil.ToFloat64(fm.SalesRejected.WithLabelValues(id, "other")); v != 0 {
			t.Errorf("%s: %v rejections counted as other", id, v)
		}
	}
	if want["lm/lena/rejected_by_sales"] == 0 || want["lm/lina/won"] == 0 {
		t.Fatalf("the scenario has no rejection or win for a lead-manager: %v", want)
	}
}
