package console

import "net/http"

// Speed is the speed-to-lead report page: today / 7 days per channel (share answered within
// 1 min / 5 min / 15 min / 1 h, p50 and p95 with unanswered leads), SLA breaches by manager.
//
// Slot: the report's read model is not built yet; the page renders its empty state. Fill
// speedData and templates/speed.html (charts with internal/svgchart) when it lands.
type speedData struct {
	Empty bool
}

func (c *Console) speed(w http.ResponseWriter, r *http.Request, s *session) {
	p := c.newPage(r, s, "speed")
	p.Data = &speedData{Empty: true}
	c.render(w, "speed", http.StatusOK, p)
}
