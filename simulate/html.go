package simulate

import (
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strings"
)

// The HTML report is one self-contained page: inline CSS, charts drawn here as inline SVG,
// no scripts, no fonts, no external URLs. It is well-formed XML (XHTML syntax), so a test
// can check it strictly.

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

func esc(s string) string { return html.EscapeString(s) }

// WriteHTML writes the page for one report, a comparison (several reports on the same
// arrivals) or a staffing plan (plan != nil, reports = its final simulation).
func WriteHTML(w io.Writer, reports []*Report, plan *StaffPlan) error {
	var b strings.Builder
	title := "lidorub simulation"
	if len(reports) > 0 {
		title += ": " + reports[0].Scenario
	}
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>" + esc(title) + "</title>\n<style>\n" + css + "</style></head><body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", esc(title))
	if len(reports) > 0 {
		r := reports[0]
		fmt.Fprintf(&b, "<p class=\"lead\">%d run(s) of %d day(s) from %s (%s), seed %d: about %.0f leads a day went through the real lidorub router (its Redis scripts and timers) on a simulated clock. <b>Speed-to-lead</b> is the time from a lead's first message to the first human reply (or call); leads nobody answered before the simulation ended count as <i>never</i>.</p>\n",
			r.Runs, r.Days, esc(r.Start.Format("Mon 2 Jan 2006")), esc(r.TimeZone), r.Seed, r.LeadsPerDay)
	}
	if plan != nil {
		writePlanHTML(&b, plan)
	}
	if len(reports) > 1 {
		b.WriteString("<h2>Side by side (the same leads, the same people)</h2>\n")
		writeCompareTable(&b, reports)
	}
	if len(reports) > 0 {
		b.WriteString("<h2>How fast leads were answered</h2>\n<p>Share of leads answered within a given time (higher and further left is better).</p>\n")
		b.WriteString(cdfChart(reports))
	}
	for i, r := range reports {
		writeReportHTML(&b, r, palette[i%len(palette)], len(reports) > 1)
	}
	fmt.Fprintf(&b, "<p class=\"small\">Made by <code>lidorub simulate</code>. %s.</p>\n</body></html>\n", esc(sumPerf(reports).String()))
	_, err := io.WriteString(w, b.String())
	return err
}

func sumPerf(rs []*Report) Perf {
	var p Perf
	for _, r := range rs {
		p.SimulatedSeconds += r.Perf.SimulatedSeconds
		p.WallSeconds += r.Perf.WallSeconds
		p.Moments += r.Perf.Moments
		p.RouterSteps += r.Perf.RouterSteps
	}
	if p.WallSeconds > 0 {
		p.SpeedUp = math.Round(p.SimulatedSeconds / p.WallSeconds)
	}
	p.WallSeconds = round3(p.WallSeconds)
	return p
}

const css = `body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{padding:3px 9px;border-bottom:1px solid #eee;text-align:right}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}.lead{font-size:1.05em}.small{color:#777;font-size:.85em}
.kpi{display:inline-block;margin:0 1.5em .8em 0}.kpi b{display:block;font-size:1.5em}.bad{color:#b00}.good{color:#070}
svg{display:block;margin:.5em 0 1.5em;font-size:11px}svg text{fill:#444}.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
`

func writeCompareTable(b *strings.Builder, rs []*Report) {
	b.WriteString("<table><tr><th></th>")
	for i, r := range rs {
		fmt.Fprintf(b, "<th><span class=\"swatch\" style=\"background:%s\"></span>%s</th>", palette[i%len(palette)], esc(r.Name))
	}
	b.WriteString("</tr>\n")
	row := func(name string, f func(r *Report) string) {
		fmt.Fprintf(b, "<tr><td>%s</td>", esc(name))
		for _, r := range rs {
			fmt.Fprintf(b, "<td>%s</td>", esc(f(r)))
		}
		b.WriteString("</tr>\n")
	}
	row("router", func(r *Report) string { return r.Router.String() })
	row("half of leads answered within (p50)", func(r *Report) string { return fmtSec(r.SpeedToLead.P50) })
	row("95 % answered within (p95)", func(r *Report) string { return fmtSec(r.SpeedToLead.P95) })
	row("99 % answered within (p99)", func(r *Report) string { return fmtSec(r.SpeedToLead.P99) })
	for i := range rs[0].Within {
		i := i
		row("answered within "+fmtShort(rs[0].Within[i].Limit), func(r *Report) string { return pct(r.Within[i].Share) })
	}
	row("never answered", func(r *Report) string { return pct(share(r.Unanswered, r.Leads)) })
	row("re-offers a day", func(r *Report) string { return fmt.Sprintf("%.1f", r.PerDay.Reoffers) })
	row("escalations a day", func(r *Report) string { return fmt.Sprintf("%.1f", r.PerDay.Escalations) })
	salesRows(rs, row)
	b.WriteString("</table>\n")
}

func writePlanHTML(b *strings.Builder, p *StaffPlan) {
	verdict := "<span class=\"good\">every hour meets the target</span>"
	if !p.Met {
		verdict = "<span class=\"bad\">some hours miss the target even at the maximum</span>"
	}
	fmt.Fprintf(b, "<h2>Lead-managers needed for %s</h2>\n<p>Hour by hour, the smallest number of lead-managers (capacity %d each) with which the target is met: %s (%d simulations).</p>\n",
		esc(p.Target), p.Capacity, verdict, p.Evaluations)
	var xs []float64
	for _, h := range p.Hours {
		xs = append(xs, float64(h.Managers))
	}
	b.WriteString(hourBars(xs, "#1f77b4", "lead-managers on duty", 0, ""))
	b.WriteString("<table><tr><th>hour</th><th>leads a day</th><th>lead-managers</th><th>" + esc(strings.SplitN(p.Target, "<", 2)[0]) + "</th><th>met</th></tr>\n")
	for _, h := range p.Hours {
		if h.Leads == 0 && h.Managers == 0 {
			continue
		}
		v := "-"
		if h.Leads > 0 {
			v = fmtSec(h.Value)
		}
		met := "<span class=\"good\">yes</span>"
		if !h.Met {
			met = "<span class=\"bad\">no</span>"
		}
		fmt.Fprintf(b, "<tr><td>%02d:00</td><td>%.1f</td><td>%d</td><td>%s</td><td>%s</td></tr>\n", h.Hour, h.Leads, h.Managers, esc(v), met)
	}
	b.WriteString("</table>\n")
}

func writeReportHTML(b *strings.Builder, r *Report, color string, titled bool) {
	if titled {
		fmt.Fprintf(b, "<h2><span class=\"swatch\" style=\"background:%s\"></span>%s</h2>\n", color, esc(r.Name))
	} else {
		b.WriteString("<h2>Details</h2>\n")
	}
	fmt.Fprintf(b, "<p>Router: %s.</p>\n<div>", esc(r.Router.String()))
	kpi := func(v, label string) { fmt.Fprintf(b, "<span class=\"kpi\"><b>%s</b>%s</span>", esc(v), esc(label)) }
	kpi(fmtSec(r.SpeedToLead.P50), "half answered within")
	kpi(fmtSec(r.SpeedToLead.P95), "95 % answered within")
	if len(r.Within) > 0 {
		kpi(pct(r.Within[0].Share), "answered within a minute")
	}
	kpi(pct(share(r.Unanswered, r.Leads)), "never answered")
	kpi(fmt.Sprintf("%.0f", r.LeadsPerDay), "leads a day")
	b.WriteString("</div>\n<h3>Speed-to-lead distribution</h3>\n")
	b.WriteString(histChart(r, color))
	b.WriteString("<h3>95 % of the leads arriving in each hour were answered within</h3>\n")
	var p95 []float64
	capSec := 3600.0
	for _, h := range r.Hours {
		v := 0.0
		switch {
		case h.Leads == 0:
		case h.P95 == nil:
			v = capSec
		default:
			v = math.Min(*h.P95, capSec)
		}
		p95 = append(p95, v)
	}
	b.WriteString(hourBars(p95, color, "seconds (bars at the top: an hour or more, or never)", 0, "s"))
	b.WriteString("<h3>Waiting queue over the day</h3>\n<p>Conversations nobody holds (neither offered nor accepted), mean per 15 minutes; the light band is the maximum.</p>\n")
	b.WriteString(queueChart(r, color))
	b.WriteString("<h3>Lead-managers</h3>\n<p>Utilisation: open conversations divided by capacity, averaged over the time online.</p>\n")
	b.WriteString(utilChart(r, color))
	b.WriteString("<table><tr><th>lead-manager</th><th>capacity</th><th>hours online</th><th>utilisation</th><th>busy</th><th>offers</th><th>ignored</th><th>accepted</th><th>handled</th></tr>\n")
	for _, m := range r.Managers {
		fmt.Fprintf(b, "<tr><td>%s</td><td>%d</td><td>%.1f</td><td>%s</td><td>%s</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td></tr>\n",
			esc(m.ID), m.Capacity, m.OnlineHours, pct(m.Utilisation), pct(m.Busy), m.Offers, m.Ignored, m.Accepted, m.Handled)
	}
	b.WriteString("</table>\n<h3>Hour by hour</h3>\n<table><tr><th>hour</th><th>leads a day</th><th>online</th><th>p50</th><th>p95</th><th>within 1 min</th><th>within 5 min</th><th>never</th></tr>\n")
	for _, h := range r.Hours {
		if h.Leads == 0 && h.Online == 0 {
			continue
		}
		fmt.Fprintf(b, "<tr><td>%02d:00</td><td>%.1f</td><td>%.1f</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			h.Hour, h.Leads, h.Online, esc(orDash(h.Leads, fmtSec(h.P50))), esc(orDash(h.Leads, fmtSec(h.P95))), pct(h.Within1m), pct(h.Within5m), pct(h.Unanswered))
	}
	c := r.PerDay
	fmt.Fprintf(b, "</table>\n<p>A day: %.1f re-offers, %.1f offers not accepted in time, %.1f accepted but not answered in time, %.1f escalations, %.1f handed back by managers going offline.</p>\n",
		c.Reoffers, c.OfferTimeouts, c.ReplyBreaches, c.Escalations, c.GivenBack)
	if r.Sales != nil {
		writeSalesHTML(b, r.Sales, color)
	}
}

// chart geometry
const (
	cw, ch       = 900.0, 260.0
	padL, padR   = 60.0, 20.0
	padT, padB   = 15.0, 35.0
	plotW, plotH = cw - padL - padR, ch - padT - padB
)

func svgOpen(b *strings.Builder, label string) {
	fmt.Fprintf(b, "<svg width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">\n", cw, ch, cw, ch, esc(label))
	fmt.Fprintf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#ddd\"/>\n", padL, padT, plotW, plotH)
}

// cdfChart: share answered within t, t on a log axis from 1 s to 2 h, one line per report.
func cdfChart(rs []*Report) string {
	var b strings.Builder
	svgOpen(&b, "share of leads answered within a time")
	lo, hi := math.Log(1), math.Log(7200)
	x := func(sec float64) float64 { return padL + (math.Log(math.Max(sec, 1))-lo)/(hi-lo)*plotW }
	y := func(s float64) float64 { return padT + (1-s)*plotH }
	for _, s := range []float64{0, .25, .5, .75, .95, 1} {
		fmt.Fprintf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>\n",
			padL, y(s), padL+plotW, y(s), padL-6, y(s)+4, s*100)
	}
	for _, t := range []float64{1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200} {
		fmt.Fprintf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
			x(t), padT, x(t), padT+plotH, x(t), padT+plotH+14, fmtShort(t))
	}
	fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time from the first message to the first human reply (log scale)</text>\n", padL+plotW/2, ch-4)
	for i, r := range rs {
		var all []float64
		for _, ws := range r.hourWaits {
			all = append(all, ws...)
		}
		sort.Float64s(all)
		var pts []string
		for k := 0; k <= 200; k++ {
			t := math.Exp(lo + (hi-lo)*float64(k)/200)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(t), y(shareWithin(all, t))))
		}
		fmt.Fprintf(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", palette[i%len(palette)], strings.Join(pts, " "))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func histChart(r *Report, color string) string {
	var b strings.Builder
	svgOpen(&b, "speed-to-lead histogram")
	n := len(r.Histogram)
	max := 0.0
	for _, h := range r.Histogram {
		max = math.Max(max, h.Share)
	}
	if max == 0 {
		max = 1
	}
	bw := plotW / float64(n)
	for i, h := range r.Histogram {
		hgt := h.Share / max * plotH
		label, tip, fill := fmtShort(h.From), fmtDur(h.From)+" to "+fmtDur(h.To), color
		switch {
		case h.Unanswered:
			label, tip, fill = "never", "never answered", "#b00"
		case h.To == 0:
			label, tip = fmtShort(h.From)+"+", fmtDur(h.From)+" or more"
		}
		x := padL + float64(i)*bw
		fmt.Fprintf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s: %s</title></rect>\n",
			x+2, padT+plotH-hgt, bw-4, hgt, fill, esc(tip), pct(h.Share))
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, padT+plotH+14, esc(label))
		if h.Share > 0 {
			fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x+bw/2, padT+plotH-hgt-3, pct(h.Share))
		}
	}
	fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">share of leads by time to the first human reply (each bar from the time under its left edge)</text>\n", padL+plotW/2, ch-4)
	b.WriteString("</svg>\n")
	return b.String()
}

// hourBars draws 24 bars, one per hour of the day.
func hourBars(v []float64, color, ylabel string, max float64, unit string) string {
	var b strings.Builder
	svgOpen(&b, ylabel)
	for _, x := range v {
		max = math.Max(max, x)
	}
	if max == 0 {
		max = 1
	}
	bw := plotW / 24
	for i, x := range v {
		hgt := x / max * plotH
		fmt.Fprintf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%02d:00: %s</title></rect>\n",
			padL+float64(i)*bw+2, padT+plotH-hgt, bw-4, hgt, color, i, esc(fmtBar(x, unit)))
		if x > 0 {
			fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", padL+float64(i)*bw+bw/2, padT+plotH-hgt-3, esc(fmtBar(x, unit)))
		}
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%02d</text>\n", padL+float64(i)*bw+bw/2, padT+plotH+14, i)
	}
	fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">hour of the day — %s</text>\n", padL+plotW/2, ch-4, esc(ylabel))
	b.WriteString("</svg>\n")
	return b.String()
}

// fmtShort is a compact duration for chart labels: 45s, 1m30s, 17m, 2h.
func fmtShort(sec float64) string {
	sec = math.Round(sec)
	switch {
	case sec < 60:
		return fmt.Sprintf("%.0fs", sec)
	case sec < 600 && math.Mod(sec, 60) != 0:
		return fmt.Sprintf("%.0fm%02.0fs", math.Floor(sec/60), math.Mod(sec, 60))
	case sec < 3600:
		return fmt.Sprintf("%.0fm", math.Floor(sec/60))
	case math.Mod(sec, 3600) == 0:
		return fmt.Sprintf("%.0fh", sec/3600)
	}
	return fmt.Sprintf("%.0fh%02.0fm", math.Floor(sec/3600), math.Floor(math.Mod(sec, 3600)/60))
}

func fmtBar(x float64, unit string) string {
	if unit == "s" {
		return fmtShort(x)
	}
	return fmt.Sprintf("%.0f", x)
}

func queueChart(r *Report, color string) string {
	var b strings.Builder
	svgOpen(&b, "waiting queue over the day")
	max := 1.0
	for _, q := range r.Queue {
		max = math.Max(max, float64(q.Max))
	}
	n := float64(len(r.Queue))
	x := func(i float64) float64 { return padL + i/n*plotW }
	y := func(v float64) float64 { return padT + plotH - v/max*plotH }
	for _, t := range []float64{0, max / 2, max} {
		fmt.Fprintf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
			padL, y(t), padL+plotW, y(t), padL-6, y(t)+4, t)
	}
	var band, line []string
	for i, q := range r.Queue {
		band = append(band, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x(float64(i)), y(float64(q.Max)), x(float64(i+1)), y(float64(q.Max))))
		line = append(line, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x(float64(i)), y(q.Mean), x(float64(i+1)), y(q.Mean)))
	}
	fmt.Fprintf(&b, "<polygon fill=\"%s\" fill-opacity=\"0.15\" points=\"%.1f,%.1f %s %.1f,%.1f\"/>\n", color, padL, y(0), strings.Join(band, " "), padL+plotW, y(0))
	fmt.Fprintf(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", color, strings.Join(line, " "))
	for h := 0; h <= 24; h += 2 {
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%02d:00</text>\n", padL+float64(h)/24*plotW, padT+plotH+14, h)
	}
	fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time of day — conversations waiting</text>\n", padL+plotW/2, ch-4)
	b.WriteString("</svg>\n")
	return b.String()
}

func utilChart(r *Report, color string) string {
	var b strings.Builder
	rowH := 20.0
	h := padT + padB + rowH*float64(len(r.Managers))
	fmt.Fprintf(&b, "<svg width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"utilisation per lead-manager\">\n", cw, h, cw, h)
	left := 140.0
	wid := cw - left - padR
	for _, t := range []float64{0, .25, .5, .75, 1} {
		x := left + t*wid
		fmt.Fprintf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f%%</text>\n",
			x, padT, x, h-padB, x, h-padB+14, t*100)
	}
	for i, m := range r.Managers {
		y := padT + float64(i)*rowH
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left-6, y+rowH/2+4, esc(m.ID))
		fmt.Fprintf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s: %s utilisation, %s busy, %.1f h online</title></rect>\n",
			left, y+3, math.Min(m.Utilisation, 1)*wid, rowH-6, color, esc(m.ID), pct(m.Utilisation), pct(m.Busy), m.OnlineHours)
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", left+math.Min(m.Utilisation, 1)*wid+4, y+rowH/2+4, pct(m.Utilisation))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func orDash(leads float64, s string) string {
	if leads == 0 {
		return "-"
	}
	return s
}
