package console

import (
	"net/http"
	"sort"
	"time"

	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/router"
)

// Audit is the handoff ledger (package ledger: the last ledgerShown entries, newest first,
// with the candidates and why each was skipped) and the result of verifying them
// (ledger.Verify of the shown entries and the stored head: the chain, the seq, each
// automatic choice against the rule), then the supervisor actions (router.Ops.AuditLog).
type auditData struct {
	Entries []router.AuditEntry
	Err     string

	Ledger    []ledgerRow
	LedgerErr string
	Report    *ledger.Report
}

type ledgerRow struct {
	ledger.Entry
	At       time.Time
	Problems []ledger.Problem
}

// ledgerShown is how many of the newest ledger entries the page shows and verifies.
const ledgerShown = 50

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) {
	p := c.newPage(r, s, "audit")
	d := &auditData{}
	es, err := c.d.Ops.AuditLog(r.Context(), 200)
	if err != nil {
		d.Err = p.T("console.error." + errCode(err))
	}
	d.Entries = es
	if err := c.ledger(r, d); err != nil {
		c.d.Log.Error("console: ledger", "err", err)
		d.LedgerErr = p.T("console.error.failed")
	}
	p.Data = d
	c.render(w, "audit", http.StatusOK, p)
}

// ledger reads the newest ledgerShown entries and the head, and verifies them.
func (c *Console) ledger(r *http.Request, d *auditData) error {
	k := ledger.KeysOf(c.d.Keys)
	ms, err := c.d.Redis.XRevRangeN(r.Context(), k.Ledger, "+", "-", ledgerShown).Result()
	if err != nil {
		return err
	}
	shown := make([]ledger.Entry, len(ms))
	var bad []ledger.Problem // missing or malformed fields (as ledger.VerifyWindow reports them)
	for i, m := range ms {
		e, err := ledger.ParseMessage(m)
		if err != nil {
			bad = append(bad, ledger.Problem{Seq: e.Seq, ID: e.ID, Check: ledger.CheckField, Detail: err.Error()})
		}
		shown[len(ms)-1-i] = e // oldest first
	}
	var head *ledger.Head
	h, ok, err := ledger.ReadHead(r.Context(), c.d.Redis, k.Head)
	if err != nil {
		return err
	}
	if ok {
		head = &h
	}
	rep := ledger.Verify(shown, head)
	rep.Problems = append(rep.Problems, bad...)
	if head == nil && len(shown) > 0 {
		last := shown[len(shown)-1]
		rep.Problems = append(rep.Problems, ledger.Problem{Seq: last.Seq, ID: last.ID, Check: ledger.CheckHead, Detail: "the head " + k.Head + " is missing"})
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Seq < rep.Problems[j].Seq })
	d.Report = &rep
	bySeq := map[int64][]ledger.Problem{}
	for _, pr := range rep.Problems {
		bySeq[pr.Seq] = append(bySeq[pr.Seq], pr)
	}
	for i := len(shown) - 1; i >= 0; i-- {
		e := shown[i]
		d.Ledger = append(d.Ledger, ledgerRow{Entry: e, At: time.UnixMilli(e.At), Problems: bySeq[e.Seq]})
	}
	return nil
}
