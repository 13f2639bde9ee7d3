package app

import (
	"net/http"
	"testing"

	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/ledger/ledgertest"
)

// The gateway serves the fairness ledger to supervisors, read from its own Redis and prefix,
// and its sweep (retention) leaves a recent ledger intact.
func TestAuditRouteIsWired(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Managers[0].Role = "supervisor" // anna
	tg := newTestGateway(t, cfg)
	k := ledger.KeysOf(tg.g.Conn.Keys)
	run, err := ledgertest.Honest(tg.ctx, ledgertest.NewWriter(tg.g.Conn.Client, k), 2, t0.UnixMilli(), 5)
	if err != nil {
		t.Fatal(err)
	}
	tg.settle()
	var got []struct {
		Seq      int64  `json:"seq"`
		Hash     string `json:"hash"`
		CandsRaw string `json:"cands_raw"`
	}
	tg.must(http.StatusOK, "GET", "/api/v1/audit/handoffs", annaToken, "", "", &got)
	if len(got) != len(run.Entries) || got[0].Seq != 1 || got[len(got)-1].Hash != run.Entries[len(run.Entries)-1].Hash || got[0].CandsRaw == "" {
		t.Fatalf("%d entries %+v, want the %d written", len(got), got, len(run.Entries))
	}
	tg.must(http.StatusForbidden, "GET", "/api/v1/audit/handoffs", borisToken, "", "", nil)
	if r, err := ledger.VerifyRedis(tg.ctx, tg.g.Conn.Client, k); err != nil || !r.OK() || r.Entries != len(run.Entries) {
		t.Fatalf("after a sweep: %v %+v", err, r)
	}
}
