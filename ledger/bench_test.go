package ledger_test

import (
	"context"
	"testing"

	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/ledger/ledgertest"
	"github.com/lidorub/lidorub/store"
)

// BenchmarkVerifyRedis reads and verifies a ledger of 20,000 decisions (4 sales managers):
//
//	go test ./ledger/ -run - -bench VerifyRedis -benchtime 5x
func BenchmarkVerifyRedis(b *testing.B) {
	ctx := context.Background()
	rdb, prefix := redistest.New(b)
	k := ledger.KeysOf(store.NewKeys(prefix))
	if _, err := ledgertest.Honest(ctx, ledgertest.NewWriter(rdb, k), 1, t0.UnixMilli(), 5000); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := ledger.VerifyRedis(ctx, rdb, k)
		if err != nil || !r.OK() || r.Entries != 20000 {
			b.Fatalf("%v %v %d", err, r.Problems, r.Entries)
		}
	}
}
