package router_test

import (
	"testing"
	"time"

	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/ledger/ledgertest"
)

// The sweep trims the ledger by router.retention (time, never count); the rest verifies.
func TestSweepTrimsLedgerByRetention(t *testing.T) {
	e := newEnv(t, opts{})
	k := ledger.KeysOf(e.keys)
	w := ledgertest.NewWriter(e.rdb, k)
	w.AtIDs = true // ids at the decision times, around the fake clock
	retention := 90 * 24 * time.Hour
	start := t0.Add(-retention + time.Minute).UnixMilli()
	run, err := ledgertest.Honest(e.ctx, w, 3, start, 10) // 40 decisions, up to 10 min apart
	if err != nil {
		t.Fatal(err)
	}
	e.settle()
	r, err := ledger.VerifyRedis(e.ctx, e.rdb, k)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Entries != len(run.Entries) {
		t.Fatalf("before the retention ends: %d of %d entries, problems %v", r.Entries, len(run.Entries), r.Problems)
	}
	// Two hours later, every entry older than t0+2h-90d is gone; the others stay.
	e.advance(2 * time.Hour)
	e.settle()
	cut := e.clock.Now().Add(-retention).UnixMilli()
	kept := 0
	for _, en := range run.Entries {
		if en.At >= cut {
			kept++
		}
	}
	r, err = ledger.VerifyRedis(e.ctx, e.rdb, k)
	if err != nil {
		t.Fatal(err)
	}
	if kept == 0 || kept == len(run.Entries) || r.Entries != kept || !r.OK() || r.FirstSeq != int64(len(run.Entries)-kept+1) {
		t.Fatalf("after the retention: %d entries from seq %d (problems %v), want %d of %d", r.Entries, r.FirstSeq, r.Problems, kept, len(run.Entries))
	}
}
