package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/lidorub/lidorub/router"
)

// Reports is what the API needs for the supervisors' reports: the router's funnel report.
type Reports interface {
	Funnel(ctx context.Context, q router.FunnelQuery) (*router.Funnel, error)
}

// WithReports serves GET /api/v1/reports/funnel from r; now is the clock of the default
// period (nil: the wall clock). Call before Register.
func (a *API) WithReports(r Reports, now func() time.Time) *API {
	a.reports = r
	a.now = now
	return a
}

// leadTimeline answers a lead's timeline: supervisors any lead; another manager a lead they
// were offered, held or acted on (their id is on one of its stages), else 404 like a lead
// that does not exist.
func (a *API) leadTimeline(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	tl, err := a.desk.Timeline(r.Context(), id)
	if err != nil {
		a.fail(w, err)
		return
	}
	if a.desk.Role(me) != router.RoleSupervisor {
		mine := false
		for _, e := range tl {
			if e.Manager == me {
				mine = true
				break
			}
		}
		if !mine {
			WriteError(w, http.StatusNotFound, "no such conversation")
			return
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"lead": id, "timeline": tl})
}

// parseReportTime reads RFC 3339 or YYYY-MM-DD (UTC midnight; a date "to" ends with its day).
func parseReportTime(s string, end bool) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	return time.Time{}, false
}

// funnel answers the funnel report (supervisors): from, to (RFC 3339 or YYYY-MM-DD; default
// the last 7 days), by (lead_manager | sales_manager | channel | source; default channel);
// JSON, or CSV with Accept: text/csv or format=csv.
func (a *API) funnel(w http.ResponseWriter, r *http.Request, me string) {
	if a.desk.Role(me) != router.RoleSupervisor {
		WriteError(w, http.StatusForbidden, "supervisors only")
		return
	}
	if a.reports == nil {
		WriteError(w, http.StatusNotFound, "reports are not available")
		return
	}
	qv := r.URL.Query()
	now := time.Now
	if a.now != nil {
		now = a.now
	}
	q := router.FunnelQuery{To: now(), By: router.ByChannel}
	if s := qv.Get("to"); s != "" {
		t, ok := parseReportTime(s, true)
		if !ok {
			writeFieldError(w, "to", "to must be RFC 3339 or YYYY-MM-DD")
			return
		}
		q.To = t
	}
	q.From = q.To.Add(-7 * 24 * time.Hour)
	if s := qv.Get("from"); s != "" {
		t, ok := parseReportTime(s, false)
		if !ok {
			writeFieldError(w, "from", "from must be RFC 3339 or YYYY-MM-DD")
			return
		}
		q.From = t
	}
	if !q.To.After(q.From) {
		writeFieldError(w, "to", "to must be after from")
		return
	}
	if s := qv.Get("by"); s != "" {
		switch s {
		case router.ByLeadManager, router.BySalesManager, router.ByChannel, router.BySource:
			q.By = s
		default:
			writeFieldError(w, "by", "by must be lead_manager, sales_manager, channel or source")
			return
		}
	}
	csv := strings.Contains(r.Header.Get("Accept"), "text/csv")
	switch qv.Get("format") {
	case "":
	case "csv":
		csv = true
	case "json":
		csv = false
	default:
		writeFieldError(w, "format", "format must be json or csv")
		return
	}
	f, err := a.reports.Funnel(r.Context(), q)
	if err != nil {
		if errors.Is(err, router.ErrInvalid) {
			writeFieldError(w, "by", err.Error())
			return
		}
		a.fail(w, err)
		return
	}
	if csv {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = f.WriteCSV(w)
		return
	}
	WriteJSON(w, http.StatusOK, f)
}
