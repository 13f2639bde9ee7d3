package simulate

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// fmtSec formats seconds for people; nil is a lead never answered within the simulation.
func fmtSec(v *float64) string {
	if v == nil {
		return "never"
	}
	return fmtDur(*v)
}

func fmtDur(sec float64) string {
	sec = math.Round(sec)
	switch {
	case sec < 60:
		return fmt.Sprintf("%.0fs", sec)
	case sec < 3600:
		m := math.Floor(sec / 60)
		return fmt.Sprintf("%.0fm%02.0fs", m, sec-m*60)
	default:
		h := math.Floor(sec / 3600)
		return fmt.Sprintf("%.0fh%02.0fm", h, math.Floor((sec-h*3600)/60))
	}
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

func (r RouterSummary) String() string {
	if r.AssignOnce {
		return fmt.Sprintf("%s, assign once (no offer timeout, no re-offer)", r.Strategy)
	}
	return fmt.Sprintf("%s, offer_timeout %s, first_response %s, max_offers %d", r.Strategy,
		time.Duration(r.OfferTimeout*float64(time.Second)), time.Duration(r.FirstResponse*float64(time.Second)), r.MaxOffers)
}

// WriteText prints the report as terminal tables.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s — %s\n", r.Scenario, r.Name)
	fmt.Fprintf(w, "router: %s\n", r.Router)
	fmt.Fprintf(w, "%d run(s) x %d day(s) from %s (%s), seed %d: %.0f leads a day, %d counted\n\n",
		r.Runs, r.Days, r.Start.Format("2006-01-02 Mon"), r.TimeZone, r.Seed, r.LeadsPerDay, r.Leads)
	fmt.Fprintf(w, "speed-to-lead  p50 %s  p90 %s  p95 %s  p99 %s  (mean of answered %s; never answered %s)\n",
		fmtSec(r.SpeedToLead.P50), fmtSec(r.SpeedToLead.P90), fmtSec(r.SpeedToLead.P95), fmtSec(r.SpeedToLead.P99),
		fmtSec(r.Mean), pct(share(r.Unanswered, r.Leads)))
	var bands []string
	for _, b := range r.Within {
		bands = append(bands, fmt.Sprintf("%s %s", fmtShort(b.Limit), pct(b.Share)))
	}
	fmt.Fprintf(w, "answered within  %s\n", strings.Join(bands, "  "))
	c := r.PerDay
	fmt.Fprintf(w, "per day: %.1f re-offers, %.1f offer timeouts, %.1f first-reply breaches, %.1f escalations, %.1f given back by managers going offline\n\n",
		c.Reoffers, c.OfferTimeouts, c.ReplyBreaches, c.Escalations, c.GivenBack)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "hour\tleads/day\tonline\tqueue mean\tqueue max\tp50\tp95\t<1m\t<5m\tnever\t")
	for _, h := range r.Hours {
		qm, qx := 0.0, 0
		for _, q := range r.Queue {
			if q.Minute/60 == h.Hour {
				qm += q.Mean / 4
				if q.Max > qx {
					qx = q.Max
				}
			}
		}
		if h.Leads == 0 && h.Online == 0 && qx == 0 {
			continue
		}
		p50, p95 := "-", "-"
		if h.Leads > 0 {
			p50, p95 = fmtSec(h.P50), fmtSec(h.P95)
		}
		fmt.Fprintf(tw, "%02d:00\t%.1f\t%.1f\t%.1f\t%d\t%s\t%s\t%s\t%s\t%s\t\n", h.Hour, h.Leads, h.Online, qm, qx, p50, p95,
			pct(h.Within1m), pct(h.Within5m), pct(h.Unanswered))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "manager\tcapacity\tonline h\tutilisation\tbusy\toffers\tignored\taccepted\thandled\t")
	for _, m := range r.Managers {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t\n", m.ID, m.Capacity, m.OnlineHours, pct(m.Utilisation),
			pct(m.Busy), m.Offers, m.Ignored, m.Accepted, m.Handled)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if r.Sales != nil {
		r.Sales.writeText(w)
	}
	fmt.Fprintf(w, "%s\n", r.Perf)
}

func (p Perf) String() string {
	s := fmt.Sprintf("simulated %s in %.2fs of real time: %.0f simulated seconds per real second",
		time.Duration(p.SimulatedSeconds*float64(time.Second)), p.WallSeconds, p.SpeedUp)
	if p.Moments > 0 {
		s += fmt.Sprintf(" (%d moments, %d router steps)", p.Moments, p.RouterSteps)
	}
	return s
}

// WriteText prints the variants side by side.
func (c *Comparison) WriteText(w io.Writer) {
	if len(c.Variants) == 0 {
		return
	}
	v0 := c.Variants[0]
	fmt.Fprintf(w, "%s: %d run(s) x %d day(s), seed %d, %.0f leads a day — the same arrivals in every column\n\n",
		v0.Scenario, v0.Runs, v0.Days, v0.Seed, v0.LeadsPerDay)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(r *Report) string) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, r := range c.Variants {
			fmt.Fprintf(tw, "%s\t", f(r))
		}
		fmt.Fprintln(tw)
	}
	row("", func(r *Report) string { return r.Name })
	row("speed-to-lead p50", func(r *Report) string { return fmtSec(r.SpeedToLead.P50) })
	row("p90", func(r *Report) string { return fmtSec(r.SpeedToLead.P90) })
	row("p95", func(r *Report) string { return fmtSec(r.SpeedToLead.P95) })
	row("p99", func(r *Report) string { return fmtSec(r.SpeedToLead.P99) })
	for i := range v0.Within {
		i := i
		row("answered < "+fmtShort(v0.Within[i].Limit), func(r *Report) string { return pct(r.Within[i].Share) })
	}
	row("never answered", func(r *Report) string { return pct(share(r.Unanswered, r.Leads)) })
	row("re-offers/day", func(r *Report) string { return fmt.Sprintf("%.1f", r.PerDay.Reoffers) })
	row("offer timeouts/day", func(r *Report) string { return fmt.Sprintf("%.1f", r.PerDay.OfferTimeouts) })
	row("reply breaches/day", func(r *Report) string { return fmt.Sprintf("%.1f", r.PerDay.ReplyBreaches) })
	row("escalations/day", func(r *Report) string { return fmt.Sprintf("%.1f", r.PerDay.Escalations) })
	salesRows(c.Variants, row)
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n", sumPerf(c.Variants))
}
