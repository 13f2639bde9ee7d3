package router

import (
	"context"

	"github.com/lidorub/lidorub/ledger"
)

// trimLedger is the retention of the fairness ledger ({P}:ledger), run by every sweep:
// entries whose stream id is older than router.retention are removed (XTRIM MINID), never by
// count. The head stays; `lidorub audit verify` then starts at the first remaining entry.
// The ids are the Redis server's clock at writing (handoff.lua adds with "*"), compared with
// the router's clock.
func (w *sweeper) trimLedger(ctx context.Context) error {
	_, err := ledger.Trim(ctx, w.rdb, w.keys.ledger(), w.clock.Now().Add(-w.cfg.Retention))
	return err
}
