package console

import "net/http"

// Funnel is the funnel report page: a chart and tables per lead-manager, per sales manager
// and per channel, where lost leads died, and a CSV download.
//
// Slot: the funnel report lands on its own branch; until then the page says it is not
// available. Fill funnelData and templates/funnel.html (internal/svgchart) when it lands.
type funnelData struct {
	Unavailable bool
}

func (c *Console) funnel(w http.ResponseWriter, r *http.Request, s *session) {
	p := c.newPage(r, s, "funnel")
	p.Data = &funnelData{Unavailable: true}
	c.render(w, "funnel", http.StatusOK, p)
}
