// Package svgchart renders small charts as inline SVG on the server (the console's pages:
// no script, no CDN, nothing the Content-Security-Policy would block). Colours come from
// the page's CSS through class names (bar, track, label, value, over).
package svgchart

import (
	"fmt"
	"html/template"
	"strings"
)

// Bar is one row of a horizontal bar chart: Value out of Max (Max 0: the largest Value of
// the chart), with its Label on the left and Text (e.g. "3 / 5") on the right.
type Bar struct {
	Label string
	Value float64
	Max   float64
	Text  string
}

// Geometry of HBar, in SVG user units (1 unit = 1 CSS pixel; a narrower container shrinks it).
const (
	width    = 600
	rowH     = 28
	barH     = 16
	labelW   = 160
	textW    = 90
	trackLen = width - labelW - textW
)

// HBar renders a horizontal bar chart, one row per bar; title is its accessible name.
// A bar over its Max is drawn full with class "over". Every text is escaped.
func HBar(bars []Bar, title string) template.HTML {
	top := 0.0
	for _, b := range bars {
		if b.Value > top {
			top = b.Value
		}
	}
	h := rowH * len(bars)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart hbar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		width, h, width, h, esc(title))
	fmt.Fprintf(&sb, `<title>%s</title>`, esc(title))
	for i, b := range bars {
		y := i * rowH
		max := b.Max
		if max <= 0 {
			max = top
		}
		frac := 0.0
		if max > 0 {
			frac = b.Value / max
		}
		class := "bar"
		if frac > 1 {
			frac, class = 1, "bar over"
		}
		if frac < 0 {
			frac = 0
		}
		by := y + (rowH-barH)/2
		fmt.Fprintf(&sb, `<text class="label" x="0" y="%d" dominant-baseline="middle">%s</text>`, y+rowH/2, esc(b.Label))
		fmt.Fprintf(&sb, `<rect class="track" x="%d" y="%d" width="%d" height="%d" rx="3"/>`, labelW, by, trackLen, barH)
		fmt.Fprintf(&sb, `<rect class="%s" x="%d" y="%d" width="%.1f" height="%d" rx="3"/>`, class, labelW, by, frac*trackLen, barH)
		fmt.Fprintf(&sb, `<text class="value" x="%d" y="%d" dominant-baseline="middle">%s</text>`, labelW+trackLen+8, y+rowH/2, esc(b.Text))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // every text above is escaped
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// Bands is one row of a Cumulative chart: Shares[i] is the share (0..1) of the row's total
// within band i, non-decreasing in i (answered within 1 min ⊆ within 5 min ⊆ ...).
type Bands struct {
	Label  string
	Shares []float64
	Text   string
}

// Cumulative renders one horizontal bar per row, split into bands: band i is drawn from the
// start to Shares[i] with class "band band<i>" (the widest, last band first, so each
// narrower one sits on top), over a full track. names label the bands in a legend row
// above (class "legend"); title is the chart's accessible name.
func Cumulative(rows []Bands, names []string, title string) template.HTML {
	const legendH = 24
	h := legendH + rowH*len(rows)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart cumulative" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		width, h, width, h, esc(title))
	fmt.Fprintf(&sb, `<title>%s</title>`, esc(title))
	step := trackLen / max(len(names), 1)
	for i, n := range names {
		x := labelW + i*step
		fmt.Fprintf(&sb, `<rect class="band band%d" x="%d" y="4" width="12" height="12" rx="2"/>`, i, x)
		fmt.Fprintf(&sb, `<text class="legend" x="%d" y="10" dominant-baseline="middle">%s</text>`, x+16, esc(n))
	}
	for r, row := range rows {
		y := legendH + r*rowH
		by := y + (rowH-barH)/2
		fmt.Fprintf(&sb, `<text class="label" x="0" y="%d" dominant-baseline="middle">%s</text>`, y+rowH/2, esc(row.Label))
		fmt.Fprintf(&sb, `<rect class="track" x="%d" y="%d" width="%d" height="%d" rx="3"/>`, labelW, by, trackLen, barH)
		for i := len(row.Shares) - 1; i >= 0; i-- {
			f := min(max(row.Shares[i], 0), 1)
			fmt.Fprintf(&sb, `<rect class="band band%d" x="%d" y="%d" width="%.1f" height="%d" rx="3"><title>%s</title></rect>`,
				i, labelW, by, f*trackLen, barH, esc(bandTitle(names, i, f)))
		}
		fmt.Fprintf(&sb, `<text class="value" x="%d" y="%d" dominant-baseline="middle">%s</text>`, labelW+trackLen+8, y+rowH/2, esc(row.Text))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // every text above is escaped
}

func bandTitle(names []string, i int, f float64) string {
	n := ""
	if i < len(names) {
		n = names[i] + ": "
	}
	return fmt.Sprintf("%s%.0f%%", n, f*100)
}
