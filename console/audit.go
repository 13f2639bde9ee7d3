package console

import (
	"net/http"

	"github.com/lidorub/lidorub/router"
)

// Audit is the supervisor actions (router.Ops.AuditLog) and, once the ledger verifier
// lands, the handoff ledger with the result of `audit verify`.
//
// Slot: add the ledger and its verification to auditData and templates/audit.html.
type auditData struct {
	Entries []router.AuditEntry
	Err     string
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) {
	p := c.newPage(r, s, "audit")
	d := &auditData{}
	es, err := c.d.Ops.AuditLog(r.Context(), 200)
	if err != nil {
		d.Err = p.T("console.error." + errCode(err))
	}
	d.Entries = es
	p.Data = d
	c.render(w, "audit", http.StatusOK, p)
}
