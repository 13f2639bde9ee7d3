package console

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/internal/svgchart"
	"github.com/lidorub/lidorub/router"
)

// Funnel is the funnel report page: a period picker (from/to dates, inclusive, midnight UTC
// like the API; default the last 7 days) and a grouping (lead_manager | sales_manager |
// channel | source), the total's funnel as a chart (leads → answered → qualified hot →
// handed off → sales accepted → contacted → won), the table per group with where lost leads
// died, and a link to the same report as CSV (GET /console/funnel.csv, the API's CSV).
type funnelData struct {
	Unavailable bool
	Err         string
	From, To    string // the picker's dates (To inclusive)
	By          string
	Bys         []string
	CSV         string // the CSV link
	Chart       template.HTML
	Rows        []funnelRow // per group, then the total
}

type funnelRow struct {
	Group                                  string
	Total                                  bool
	Leads, Answered, Hot, Warm, HandedOff  int
	SalesAccepted, Contacted, Won, Lost    int
	Returned, SLABreaches, ContactBreaches int
	Died                                   []died
}

// died is one "where lost leads died" cell: the stage a lost (or closed-unanswered, or
// stale) lead last reached, who held it, how many.
type died struct {
	Stage, Manager string
	N              int
}

var funnelBys = []string{router.ByLeadManager, router.BySalesManager, router.ByChannel, router.BySource}

// funnelQuery reads from, to and by of the page or the CSV link. ok false: a value is not valid.
func funnelQuery(v url.Values, now time.Time) (q router.FunnelQuery, from, to string, ok bool) {
	today := now.UTC().Format(time.DateOnly)
	from, to = v.Get("from"), v.Get("to")
	if to == "" {
		to = today
	}
	end, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return q, from, to, false
	}
	if from == "" {
		from = end.AddDate(0, 0, -6).Format(time.DateOnly)
	}
	start, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return q, from, to, false
	}
	q = router.FunnelQuery{From: start, To: end.AddDate(0, 0, 1), By: v.Get("by")}
	if q.By == "" {
		q.By = router.ByLeadManager
	}
	if !q.To.After(q.From) || !slices.Contains(funnelBys, q.By) {
		return q, from, to, false
	}
	return q, from, to, true
}

func (c *Console) funnel(w http.ResponseWriter, r *http.Request, s *session) {
	p := c.newPage(r, s, "funnel")
	d := &funnelData{Bys: funnelBys}
	p.Data = d
	if c.d.Reports == nil {
		d.Unavailable = true
		c.render(w, "funnel", http.StatusOK, p)
		return
	}
	q, from, to, ok := funnelQuery(r.URL.Query(), p.Now)
	d.From, d.To, d.By = from, to, q.By
	if !ok {
		d.Err = p.T("console.funnel.bad_period")
		c.render(w, "funnel", http.StatusUnprocessableEntity, p)
		return
	}
	d.CSV = "/console/funnel.csv?" + url.Values{"from": {from}, "to": {to}, "by": {q.By}}.Encode()
	f, err := c.d.Reports.Funnel(r.Context(), q)
	if err != nil {
		c.d.Log.Error("console: funnel report", "err", err)
		d.Err = p.T("console.error.failed")
		c.render(w, "funnel", http.StatusOK, p)
		return
	}
	for i, g := range append(append([]router.FunnelRow(nil), f.Groups...), f.Total) {
		d.Rows = append(d.Rows, p.funnelRow(g, i == len(f.Groups), q.By))
	}
	t := f.Total
	if t.Leads > 0 {
		var bars []svgchart.Bar
		for _, st := range []struct {
			key string
			n   int
		}{{"console.funnel.leads", t.Leads}, {"console.report.answered", t.Answered}, {"console.funnel.hot", t.Hot},
			{"console.funnel.handed_off", t.HandedOff}, {"console.funnel.sales_accepted", t.SalesAccepted},
			{"console.funnel.contacted", t.Contacted}, {"console.funnel.won", t.Won}} {
			bars = append(bars, svgchart.Bar{Label: p.T(st.key), Value: float64(st.n), Max: float64(t.Leads),
				Text: strconv.Itoa(st.n) + " · " + percent(st.n, t.Leads)})
		}
		d.Chart = svgchart.HBar(bars, p.T("console.funnel.chart"))
	}
	c.render(w, "funnel", http.StatusOK, p)
}

func (p *page) funnelRow(g router.FunnelRow, total bool, by string) funnelRow {
	name := g.Group
	switch {
	case total:
		name = p.T("console.report.total")
	case g.Group == router.NoGroup:
		name = p.T("console.report.nobody")
	case by == router.ByLeadManager || by == router.BySalesManager:
		name = p.Manager(g.Group)
	}
	row := funnelRow{Group: name, Total: total, Leads: g.Leads, Answered: g.Answered, Hot: g.Hot, Warm: g.Warm,
		HandedOff: g.HandedOff, SalesAccepted: g.SalesAccepted, Contacted: g.Contacted, Won: g.Won, Lost: g.Lost,
		Returned: g.Returned, SLABreaches: g.SLABreaches, ContactBreaches: g.ContactBreaches}
	for k, n := range g.Died {
		stage, who, _ := strings.Cut(k, "/")
		st := p.T("console.stage." + stage)
		if !p.c.d.Locale.Has("console.stage." + stage) {
			st = stage
		}
		m := "—"
		if who != "-" {
			m = p.Manager(who)
		}
		row.Died = append(row.Died, died{Stage: st, Manager: m, N: n})
	}
	sort.Slice(row.Died, func(i, j int) bool {
		if row.Died[i].N != row.Died[j].N {
			return row.Died[i].N > row.Died[j].N
		}
		return row.Died[i].Stage+row.Died[i].Manager < row.Died[j].Stage+row.Died[j].Manager
	})
	return row
}

// funnelCSV is GET /console/funnel.csv?from=&to=&by=: the report as the API's CSV
// (router.Funnel.WriteCSV), for the signed-in supervisor.
func (c *Console) funnelCSV(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Reports == nil {
		c.message(w, r, s, http.StatusNotFound, "console.funnel.unavailable")
		return
	}
	q, from, to, ok := funnelQuery(r.URL.Query(), c.d.Clock.Now())
	if !ok {
		c.message(w, r, s, http.StatusUnprocessableEntity, "console.funnel.bad_period")
		return
	}
	f, err := c.d.Reports.Funnel(r.Context(), q)
	if err != nil {
		c.d.Log.Error("console: funnel csv", "err", err)
		c.message(w, r, s, http.StatusInternalServerError, "console.error.failed")
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="funnel_`+q.By+"_"+from+"_"+to+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_ = f.WriteCSV(w)
}
