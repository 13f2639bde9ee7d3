package api

import (
	"context"
	"net/http"
	"time"

	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/router"
)

// GET /api/v1/audit/handoffs?from=&to=&manager=   (supervisors)
//
// The fairness ledger (package ledger): every sales-offer decision whose time is in
// [from, to), oldest first, as a JSON array of entries. from and to are RFC 3339 times or
// dates (YYYY-MM-DD, midnight UTC), each optional; manager (a manager id, configured or
// not any more) keeps the entries where that manager was chosen, handed the lead off or made
// the manual pick. Each entry carries
// cands_raw, the candidate set exactly as hashed, so that anyone can recompute the chain.
// A bad or unknown parameter answers 422 {"error": ..., "field": <parameter>}.

// HandoffReader reads the fairness ledger (ledger.Reader).
type HandoffReader interface {
	Handoffs(ctx context.Context, from, to time.Time, manager string) ([]ledger.Entry, error)
}

// AuditEntry is one ledger entry as the API answers it.
type AuditEntry struct {
	ledger.Entry
	CandsRaw string `json:"cands_raw"` // the cands field exactly as stored and hashed
}

// RegisterAudit adds GET /api/v1/audit/handoffs, reading l, to mux.
func (a *API) RegisterAudit(mux *http.ServeMux, l HandoffReader) {
	mux.Handle("GET /api/v1/audit/handoffs", a.auth(func(w http.ResponseWriter, r *http.Request, me string) {
		a.handoffs(w, r, me, l)
	}))
}

func (a *API) handoffs(w http.ResponseWriter, r *http.Request, me string, l HandoffReader) {
	if a.desk.Role(me) != router.RoleSupervisor {
		WriteError(w, http.StatusForbidden, "only a supervisor may read the audit ledger")
		return
	}
	q := r.URL.Query()
	for k, v := range q {
		switch k {
		case "from", "to", "manager":
		default:
			writeFieldError(w, fieldName(k), "unknown parameter (allowed: from, to, manager)")
			return
		}
		if len(v) != 1 {
			writeFieldError(w, k, "give the parameter once")
			return
		}
	}
	var from, to time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(p.name); s != "" {
			t, err := ledger.ParseBound(s)
			if err != nil {
				writeFieldError(w, p.name, "not a time: give RFC 3339 (2026-11-29T10:00:00Z) or a date (2026-11-29)")
				return
			}
			*p.t = t
		}
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		writeFieldError(w, "to", "to must be after from")
		return
	}
	// A manager who has left the configuration still has their history: any id is accepted.
	manager := q.Get("manager")
	if _, ok := q["manager"]; ok && fieldName(manager) == "" {
		writeFieldError(w, "manager", "not a manager id")
		return
	}
	entries, err := l.Handoffs(r.Context(), from, to, manager)
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]AuditEntry, len(entries))
	for i, e := range entries {
		if e.Cands == nil {
			e.Cands = []ledger.Candidate{}
		}
		out[i] = AuditEntry{Entry: e, CandsRaw: e.CandsRaw}
	}
	WriteJSON(w, http.StatusOK, out)
}
