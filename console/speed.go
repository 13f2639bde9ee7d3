package console

import (
	"context"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/lidorub/lidorub/internal/svgchart"
	"github.com/lidorub/lidorub/router"
)

// Reports is the funnel report (*router.Router): the Speed and Funnel pages read it.
type Reports interface {
	Funnel(ctx context.Context, q router.FunnelQuery) (*router.Funnel, error)
}

// Speed is the speed-to-lead report page: today and the last 7 days per channel (the funnel
// report by channel over each period): a chart of the share of leads answered within 1 min /
// 5 min / 15 min / 1 h (of every lead, unanswered ones included) and a table with p50 and p95
// (Kaplan–Meier, unanswered leads censored: "not reached" when the estimate never gets
// there), then SLA breaches by lead-manager over the 7 days.
type speedData struct {
	Unavailable bool
	Err         string
	Periods     []speedPeriod
	Breaches    []breachRow
}

type speedPeriod struct {
	Title string
	From  time.Time
	Chart template.HTML // nil when there were no leads
	Rows  []speedRow    // per channel, then the total
}

type speedRow struct {
	Group            string
	Total            bool
	Leads, Answered  int
	InSLA            string // share answered within router.speed_target
	Within           []string
	P50, P95         string
	Unanswered       int
	ClosedUnanswered int
}

type breachRow struct {
	Manager  string
	Leads    int
	Breaches int
}

// percent is n of total as "42%" ("—" without leads).
func percent(n, total int) string {
	if total == 0 {
		return "—"
	}
	return strconv.Itoa(int(math.Round(100*float64(n)/float64(total)))) + "%"
}

func share(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// quantile renders a report percentile: a duration, or "not reached".
func (p *page) quantile(v *float64, reached bool) string {
	if v == nil || !reached {
		return p.T("console.speed.not_reached")
	}
	d := time.Duration(*v * float64(time.Second))
	if d < time.Second {
		return p.T("console.speed.under_second")
	}
	return p.c.d.Locale.Duration(p.Lang, d.Truncate(time.Second))
}

func (p *page) speedRow(r router.FunnelRow, total bool) speedRow {
	return speedRow{Group: r.Group, Total: total, Leads: r.Leads, Answered: r.Answered, InSLA: percent(r.AnsweredInSLA, r.Leads),
		Within:     []string{percent(r.Within1m, r.Leads), percent(r.Within5m, r.Leads), percent(r.Within15m, r.Leads), percent(r.Within1h, r.Leads)},
		P50:        p.quantile(r.SpeedP50, r.SpeedP50Reached),
		P95:        p.quantile(r.SpeedP95, r.SpeedP95Reached),
		Unanswered: r.Leads - r.Answered, ClosedUnanswered: r.ClosedUnanswered}
}

// bandNames are the speed bands' legend texts.
func (p *page) bandNames() []string {
	return []string{p.T("console.speed.within_1m"), p.T("console.speed.within_5m"), p.T("console.speed.within_15m"), p.T("console.speed.within_1h")}
}

// startOfDay is midnight of t's day in t's location.
func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func (c *Console) speed(w http.ResponseWriter, r *http.Request, s *session) {
	p := c.newPage(r, s, "speed")
	d := &speedData{}
	p.Data = d
	if c.d.Reports == nil {
		d.Unavailable = true
		c.render(w, "speed", http.StatusOK, p)
		return
	}
	now := p.Now
	week := now.AddDate(0, 0, -7)
	for _, per := range []struct {
		title string
		from  time.Time
	}{{"console.speed.today", startOfDay(now)}, {"console.speed.week", week}} {
		f, err := c.d.Reports.Funnel(r.Context(), router.FunnelQuery{From: per.from, To: now, By: router.ByChannel})
		if err != nil {
			c.d.Log.Error("console: speed report", "err", err)
			d.Err = p.T("console.error.failed")
			break
		}
		sp := speedPeriod{Title: p.T(per.title), From: per.from}
		var rows []svgchart.Bands
		for _, g := range append(append([]router.FunnelRow(nil), f.Groups...), f.Total) {
			total := len(sp.Rows) == len(f.Groups)
			sp.Rows = append(sp.Rows, p.speedRow(g, total))
			label := g.Group
			if total {
				label = p.T("console.report.total")
			}
			rows = append(rows, svgchart.Bands{Label: label, Text: p.T("console.speed.leads_n", "n", g.Leads),
				Shares: []float64{share(g.Within1m, g.Leads), share(g.Within5m, g.Leads), share(g.Within15m, g.Leads), share(g.Within1h, g.Leads)}})
		}
		if f.Total.Leads > 0 {
			sp.Chart = svgchart.Cumulative(rows, p.bandNames(), p.T("console.speed.chart", "period", sp.Title))
		}
		d.Periods = append(d.Periods, sp)
	}
	if d.Err == "" {
		f, err := c.d.Reports.Funnel(r.Context(), router.FunnelQuery{From: week, To: now, By: router.ByLeadManager})
		if err != nil {
			c.d.Log.Error("console: speed report", "err", err)
			d.Err = p.T("console.error.failed")
		} else {
			for _, g := range f.Groups {
				name := p.T("console.report.nobody")
				if g.Group != router.NoGroup {
					name = p.Manager(g.Group)
				}
				d.Breaches = append(d.Breaches, breachRow{Manager: name, Leads: g.Leads, Breaches: g.SLABreaches})
			}
		}
	}
	c.render(w, "speed", http.StatusOK, p)
}
