package api

import (
	"context"
	"net/http"

	"github.com/lidorub/lidorub/router"
)

// GET /api/v1/reports/stale   (supervisors)
//
// The stale report: the handed-off leads without an outcome for longer than
// sales.stale_after, oldest first, as a JSON array of
// {"lead_id", "sales_state", "holder", "sales_manager", "since"} (holder: who holds the
// customer conversation, the lead-manager while it waits for a sales manager; since: the
// handoff time, RFC 3339). Served when the reports (WithReports) implement StaleReports.

// StaleReports reads the stale report (*router.Router).
type StaleReports interface {
	StaleReport(ctx context.Context) ([]router.StaleLead, error)
}

func (a *API) stale(w http.ResponseWriter, r *http.Request, me string) {
	if a.desk.Role(me) != router.RoleSupervisor {
		WriteError(w, http.StatusForbidden, "supervisors only")
		return
	}
	s, ok := a.reports.(StaleReports)
	if !ok {
		WriteError(w, http.StatusNotFound, "reports are not available")
		return
	}
	leads, err := s.StaleReport(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, leads)
}
