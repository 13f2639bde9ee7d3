package simulate

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/lidorub/lidorub/router"
)

// SalesReport is the second tier of a report: both tiers' funnel, how fast handed-off leads
// were accepted and contacted, and what every sales manager received (the fairness picture of
// sales.strategy). Funnel counts are totals over all runs of the counted leads; per-manager
// figures are averages per simulated day.
type SalesReport struct {
	Strategy      string   `json:"strategy"`
	HandoffLevels []string `json:"handoff_levels"`
	AcceptTimeout float64  `json:"accept_timeout"`
	FirstContact  float64  `json:"first_contact"`
	MaxOffers     int      `json:"max_offers"`

	Funnel SalesFunnel `json:"funnel"`
	// Accept: from the handoff to the acceptance that stuck; FirstContactTime: from the handoff
	// to the first contact. Over handed-off leads not returned; those never accepted
	// (contacted) count as never (null percentiles).
	Accept           Percentiles       `json:"accept"`
	FirstContactTime Percentiles       `json:"first_contact_time"`
	PerDay           SalesCounters     `json:"per_day"`
	Managers         []SalesManagerRow `json:"managers"`
}

// SalesFunnel follows the counted leads through both tiers, by where they ended.
// handed_off = accepted + returned + waiting; won + lost <= contacted <= accepted.
type SalesFunnel struct {
	Leads     int `json:"leads"`
	Answered  int `json:"answered"`
	Qualified int `json:"qualified"` // hot or warm (tourists not)
	Hot       int `json:"hot"`
	Warm      int `json:"warm"`
	HandedOff int `json:"handed_off"`
	// Accepted: held by a sales manager at the end (accepted, contacted, won or lost).
	Accepted  int     `json:"accepted"`
	Contacted int     `json:"contacted"`
	Won       int     `json:"won"`
	Lost      int     `json:"lost"`
	Returned  int     `json:"returned"` // rejected as not a lead: back with the lead-manager
	Waiting   int     `json:"waiting"`  // still queued or offered when the simulation ended
	Amount    float64 `json:"amount_won"`
}

// SalesCounters are the second tier's events per simulated day.
type SalesCounters struct {
	Offers      float64 `json:"offers"`
	Lapses      float64 `json:"lapses"`           // offers not accepted within accept_timeout
	Rejections  float64 `json:"rejections"`       // every reason
	Returned    float64 `json:"returned"`         // "not a lead" rejections
	Breaches    float64 `json:"contact_breaches"` // accepted, not contacted within first_contact
	Escalations float64 `json:"escalations"`      // after sales.max_offers
}

// SalesManagerRow is one sales manager, averaged per simulated day.
type SalesManagerRow struct {
	ID          string  `json:"id"`
	Capacity    int     `json:"capacity"`
	Weight      int     `json:"weight"`
	OnlineHours float64 `json:"online_hours"`
	Offered     float64 `json:"offered"`
	Lapsed      float64 `json:"lapsed"`
	Rejected    float64 `json:"rejected"`
	Accepted    float64 `json:"accepted"`
	Contacted   float64 `json:"contacted"`
	Breaches    float64 `json:"contact_breaches"`
	Won         float64 `json:"won"`
	Lost        float64 `json:"lost"`
	Amount      float64 `json:"amount_won"`
}

func buildSalesReport(v *variant, runs []*runResult, days float64) *SalesReport {
	if v.sales == nil {
		return nil
	}
	c := v.sales.cfg
	rep := &SalesReport{Strategy: c.Strategy, HandoffLevels: c.HandoffLevels, AcceptTimeout: c.AcceptTimeout.Seconds(),
		FirstContact: c.FirstContact.Seconds(), MaxOffers: c.MaxOffers}
	f := &rep.Funnel
	var acc, con []float64
	for _, r := range runs {
		for _, l := range r.leads {
			if !l.counted {
				continue
			}
			f.Leads++
			if l.answered {
				f.Answered++
			}
			switch l.qual {
			case router.QualHot:
				f.Hot++
			case router.QualWarm:
				f.Warm++
			}
			if l.salesState == "" {
				continue // not handed to the sales tier (a warm lead when only hot ones are)
			}
			f.HandedOff++
			switch l.salesState {
			case router.SalesReturned:
				f.Returned++
				continue
			case router.SalesQueued, router.SalesOffered:
				f.Waiting++
			case router.SalesAccepted, router.SalesContacted, router.SalesWon, router.SalesLost:
				f.Accepted++
				if l.salesState != router.SalesAccepted && !l.contactAt.IsZero() {
					f.Contacted++
				}
				switch l.salesState {
				case router.SalesWon:
					f.Won++
					f.Amount += l.amount
				case router.SalesLost:
					f.Lost++
				}
			}
			a, k := math.Inf(1), math.Inf(1)
			if f := l.salesState; f != router.SalesQueued && f != router.SalesOffered && !l.acceptedAt.IsZero() {
				a = l.acceptedAt.Sub(l.handedAt).Seconds()
				if f != router.SalesAccepted && !l.contactAt.IsZero() {
					k = l.contactAt.Sub(l.handedAt).Seconds()
				}
			}
			acc, con = append(acc, a), append(con, k)
		}
	}
	f.Qualified = f.Hot + f.Warm
	sort.Float64s(acc)
	sort.Float64s(con)
	rep.Accept = Percentiles{P50: percentile(acc, .5), P90: percentile(acc, .9), P95: percentile(acc, .95), P99: percentile(acc, .99)}
	rep.FirstContactTime = Percentiles{P50: percentile(con, .5), P90: percentile(con, .9), P95: percentile(con, .95), P99: percentile(con, .99)}
	byID := map[string]*SalesManagerRow{}
	for _, r := range runs {
		p := &rep.PerDay
		p.Offers += float64(r.sales.offers)
		p.Lapses += float64(r.sales.lapsed)
		p.Rejections += float64(r.sales.rejected)
		p.Returned += float64(r.sales.returned)
		p.Breaches += float64(r.sales.breaches)
		p.Escalations += float64(r.sales.escalations)
		for _, m := range r.salesMgrs {
			row := byID[m.id]
			if row == nil {
				row = &SalesManagerRow{ID: m.id, Capacity: m.capacity, Weight: m.weight}
				byID[m.id] = row
			}
			row.OnlineHours += m.online.Hours()
			row.Offered += float64(m.offers)
			row.Lapsed += float64(m.lapsed)
			row.Rejected += float64(m.rejected)
			row.Accepted += float64(m.accepted)
			row.Contacted += float64(m.contacted)
			row.Breaches += float64(m.breaches)
			row.Won += float64(m.won)
			row.Lost += float64(m.lost)
			row.Amount += m.amount
		}
	}
	p := &rep.PerDay
	for _, x := range []*float64{&p.Offers, &p.Lapses, &p.Rejections, &p.Returned, &p.Breaches, &p.Escalations} {
		*x = round3(*x / days)
	}
	for _, m := range v.sales.team {
		row := byID[m.m.ID]
		if row == nil {
			continue
		}
		for _, x := range []*float64{&row.OnlineHours, &row.Offered, &row.Lapsed, &row.Rejected, &row.Accepted,
			&row.Contacted, &row.Breaches, &row.Won, &row.Lost} {
			*x = round3(*x / days)
		}
		row.Amount = math.Round(row.Amount / days)
		rep.Managers = append(rep.Managers, *row)
	}
	return rep
}

// spread is the fewest and most leads offered to one sales manager a day.
func (s *SalesReport) spread() (lo, hi float64) {
	for i, m := range s.Managers {
		if i == 0 || m.Offered < lo {
			lo = m.Offered
		}
		if m.Offered > hi {
			hi = m.Offered
		}
	}
	return lo, hi
}

func of(n, total int) string {
	if total == 0 {
		return fmt.Sprintf("%d", n)
	}
	return fmt.Sprintf("%d (%s)", n, pct(float64(n)/float64(total)))
}

// writeText prints the second tier.
func (s *SalesReport) writeText(w io.Writer) {
	f := s.Funnel
	fmt.Fprintf(w, "sales tier: %s, hand off %s, accept_timeout %s, first_contact %s, max_offers %d\n", s.Strategy,
		strings.Join(s.HandoffLevels, "+"), fmtDur(s.AcceptTimeout), fmtDur(s.FirstContact), s.MaxOffers)
	fmt.Fprintf(w, "funnel: %d leads -> %s answered -> %s qualified hot/warm (%d hot, %d warm) -> %s handed off -> %s sales accepted -> %s contacted -> %s won (%.0f)\n",
		f.Leads, of(f.Answered, f.Leads), of(f.Qualified, f.Leads), f.Hot, f.Warm, of(f.HandedOff, f.Leads),
		of(f.Accepted, f.HandedOff), of(f.Contacted, f.HandedOff), of(f.Won, f.HandedOff), f.Amount)
	fmt.Fprintf(w, "        %d lost, %d returned to lead-managers (not a lead), %d still waiting for a sales manager at the end\n", f.Lost, f.Returned, f.Waiting)
	fmt.Fprintf(w, "handoff to acceptance  p50 %s  p90 %s  p95 %s;  handoff to first contact  p50 %s  p90 %s  p95 %s\n",
		fmtSec(s.Accept.P50), fmtSec(s.Accept.P90), fmtSec(s.Accept.P95), fmtSec(s.FirstContactTime.P50), fmtSec(s.FirstContactTime.P90), fmtSec(s.FirstContactTime.P95))
	p := s.PerDay
	fmt.Fprintf(w, "per day: %.1f sales offers, %.1f lapsed, %.1f rejections (%.1f returned), %.1f first-contact breaches, %.1f escalations\n\n",
		p.Offers, p.Lapses, p.Rejections, p.Returned, p.Breaches, p.Escalations)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sales manager\tcapacity\tweight\tonline h\toffered\tlapsed\trejected\taccepted\tcontacted\twon\tlost\tamount won\t")
	for _, m := range s.Managers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t\n", m.ID, m.Capacity, m.Weight, m.OnlineHours,
			m.Offered, m.Lapsed, m.Rejected, m.Accepted, m.Contacted, m.Won, m.Lost, m.Amount)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// salesRows adds the second tier's rows to a comparison (none when no variant has it).
func salesRows(vs []*Report, row func(string, func(*Report) string)) {
	any := false
	for _, r := range vs {
		any = any || r.Sales != nil
	}
	if !any {
		return
	}
	sales := func(name string, f func(s *SalesReport) string) {
		row(name, func(r *Report) string {
			if r.Sales == nil {
				return "-"
			}
			return f(r.Sales)
		})
	}
	sales("sales strategy", func(s *SalesReport) string { return s.Strategy })
	sales("handed off", func(s *SalesReport) string { return fmt.Sprintf("%d", s.Funnel.HandedOff) })
	sales("sales accepted", func(s *SalesReport) string { return of(s.Funnel.Accepted, s.Funnel.HandedOff) })
	sales("contacted", func(s *SalesReport) string { return of(s.Funnel.Contacted, s.Funnel.HandedOff) })
	sales("won", func(s *SalesReport) string { return of(s.Funnel.Won, s.Funnel.HandedOff) })
	sales("amount won", func(s *SalesReport) string { return fmt.Sprintf("%.0f", s.Funnel.Amount) })
	sales("returned / waiting", func(s *SalesReport) string { return fmt.Sprintf("%d / %d", s.Funnel.Returned, s.Funnel.Waiting) })
	sales("accept p50", func(s *SalesReport) string { return fmtSec(s.Accept.P50) })
	sales("accept p95", func(s *SalesReport) string { return fmtSec(s.Accept.P95) })
	sales("first contact p95", func(s *SalesReport) string { return fmtSec(s.FirstContactTime.P95) })
	sales("sales lapses/day", func(s *SalesReport) string { return fmt.Sprintf("%.1f", s.PerDay.Lapses) })
	sales("leads per sales mgr/day", func(s *SalesReport) string {
		lo, hi := s.spread()
		return fmt.Sprintf("%.1f-%.1f", lo, hi)
	})
}

// writeSalesHTML is the report's sales section: the funnel and a bar chart of the leads each
// sales manager was offered, accepted and won.
func writeSalesHTML(b *strings.Builder, s *SalesReport, color string) {
	f := s.Funnel
	fmt.Fprintf(b, "<h3>Sales tier</h3>\n<p>Strategy <b>%s</b>; leads qualified %s are handed off; accept within %s, first contact within %s.</p>\n",
		esc(s.Strategy), esc(strings.Join(s.HandoffLevels, " or ")), esc(fmtDur(s.AcceptTimeout)), esc(fmtDur(s.FirstContact)))
	b.WriteString("<table><tr><th>both tiers</th><th>leads (of all)</th></tr>\n")
	for _, r := range []struct {
		name string
		n    int
	}{{"arrived", f.Leads}, {"answered by a lead-manager", f.Answered}, {"qualified hot or warm", f.Qualified},
		{"handed off to sales", f.HandedOff}, {"accepted by a sales manager", f.Accepted}, {"contacted", f.Contacted},
		{"won", f.Won}, {"lost", f.Lost}, {"returned as not a lead", f.Returned}, {"still waiting for sales at the end", f.Waiting}} {
		fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td></tr>\n", esc(r.name), esc(of(r.n, f.Leads)))
	}
	within := func(v *float64) string {
		if v == nil {
			return "not before the simulation ended"
		}
		return "within " + fmtSec(v)
	}
	fmt.Fprintf(b, "</table>\n<p>From the handoff, half the leads were accepted %s and 95 %% %s; half were contacted %s, 95 %% %s. A day: %.1f offers lapsed, %.1f rejections, %.1f first-contact breaches.</p>\n",
		esc(within(s.Accept.P50)), esc(within(s.Accept.P95)), esc(within(s.FirstContactTime.P50)), esc(within(s.FirstContactTime.P95)),
		s.PerDay.Lapses, s.PerDay.Rejections, s.PerDay.Breaches)
	b.WriteString("<p>Leads per sales manager a day: offered (light), accepted (mid), won (dark) — how evenly the strategy spreads them.</p>\n")
	b.WriteString(salesChart(s, color))
	b.WriteString("<table><tr><th>sales manager</th><th>online h</th><th>offered</th><th>lapsed</th><th>rejected</th><th>accepted</th><th>contacted</th><th>won</th><th>lost</th><th>amount won</th></tr>\n")
	for _, m := range s.Managers {
		fmt.Fprintf(b, "<tr><td>%s</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.0f</td></tr>\n",
			esc(m.ID), m.OnlineHours, m.Offered, m.Lapsed, m.Rejected, m.Accepted, m.Contacted, m.Won, m.Lost, m.Amount)
	}
	b.WriteString("</table>\n")
}

func salesChart(s *SalesReport, color string) string {
	var b strings.Builder
	rowH := 24.0
	h := padT + padB + rowH*float64(len(s.Managers))
	fmt.Fprintf(&b, "<svg width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"leads per sales manager\">\n", cw, h, cw, h)
	left := 140.0
	wid := cw - left - padR - 130 // room for the numbers after the longest bar
	_, max := s.spread()
	if max == 0 {
		max = 1
	}
	for _, t := range []float64{0, .25, .5, .75, 1} {
		x := left + t*wid
		fmt.Fprintf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n",
			x, padT, x, h-padB, x, h-padB+14, t*max)
	}
	for i, m := range s.Managers {
		y := padT + float64(i)*rowH
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left-6, y+rowH/2+4, esc(m.ID))
		for _, bar := range []struct {
			v       float64
			opacity string
			what    string
		}{{m.Offered, "0.3", "offered"}, {m.Accepted, "0.6", "accepted"}, {m.Won, "1", "won"}} {
			fmt.Fprintf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"%s\"><title>%s: %.1f %s a day</title></rect>\n",
				left, y+3, bar.v/max*wid, rowH-6, color, bar.opacity, esc(m.ID), bar.v, bar.what)
		}
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\">%.1f / %.1f / %.1f</text>\n", left+m.Offered/max*wid+4, y+rowH/2+4, m.Offered, m.Accepted, m.Won)
	}
	fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">leads a day: offered / accepted / won</text>\n", left+wid/2, h-4)
	b.WriteString("</svg>\n")
	return b.String()
}
