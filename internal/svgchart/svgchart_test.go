package svgchart

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestHBar(t *testing.T) {
	svg := string(HBar([]Bar{
		{Label: "Anna", Value: 2, Max: 4, Text: "2 / 4"},
		{Label: "<Boris & co>", Value: 5, Max: 3, Text: "5 / 3"},
		{Label: "Carl", Value: 0, Max: 0, Text: "0"},
	}, `Load "now"`))
	// Well-formed XML: every text escaped.
	d := xml.NewDecoder(strings.NewReader(svg))
	rects, texts := 0, []string{}
	var widths []string
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "rect":
				rects++
				for _, a := range se.Attr {
					if a.Name.Local == "width" {
						widths = append(widths, a.Value)
					}
				}
			case "text":
				texts = append(texts, "")
			}
		}
		if cd, ok := tok.(xml.CharData); ok && len(texts) > 0 && texts[len(texts)-1] == "" {
			texts[len(texts)-1] = string(cd)
		}
	}
	if rects != 6 {
		t.Fatalf("%d rects, want a track and a bar per row: %s", rects, svg)
	}
	// track, bar per row: half of 350, full (over capacity), empty.
	want := []string{"350", "175.0", "350", "350.0", "350", "0.0"}
	for i := range want {
		if widths[i] != want[i] {
			t.Fatalf("widths %v, want %v", widths, want)
		}
	}
	if texts[2] != "<Boris & co>" {
		t.Fatalf("label %q", texts[2])
	}
	if !strings.Contains(svg, `class="bar over"`) || !strings.Contains(svg, `aria-label="Load &#34;now&#34;"`) {
		t.Fatalf("svg %s", svg)
	}
	if strings.Contains(svg, "<Boris") {
		t.Fatal("label not escaped")
	}
}

func TestCumulative(t *testing.T) {
	out := string(Cumulative([]Bands{{Label: "telegram <b>", Shares: []float64{0.25, 0.5, 2, 1}, Text: "4"}},
		[]string{"1 min", "5 min", "15 min", "1 h"}, "speed"))
	for _, want := range []string{
		`<svg class="chart cumulative"`, `aria-label="speed"`, "telegram &lt;b&gt;",
		// widest band first; shares clamped to the track (350 units)
		`<rect class="band band3" x="160" y="30" width="350.0"`,
		`<rect class="band band2" x="160" y="30" width="350.0"`,
		`<rect class="band band1" x="160" y="30" width="175.0"`,
		`<rect class="band band0" x="160" y="30" width="87.5"`,
		`<title>1 min: 25%</title>`, ">4</text>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in %s", want, out)
		}
	}
	if strings.Index(out, "band3\" x=\"160\" y=\"30") > strings.Index(out, "band0\" x=\"160\" y=\"30") {
		t.Error("narrow bands must be drawn over the wide ones")
	}
}
