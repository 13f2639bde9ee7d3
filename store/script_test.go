package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lidorub/lidorub/store"
)

// A script Redis has never seen answers NOSCRIPT inside the pipeline: every call is run
// again with Run (which loads it), and the results come back in the order of the calls.
func TestEvalPipelinedLoadsAnUnknownScriptAndKeepsOrder(t *testing.T) {
	ctx := context.Background()
	rdb, keys := newRedis(t)
	// A unique source: its SHA is in no script cache, whatever ran before on this Redis.
	s := store.NewScript(fmt.Sprintf("-- %d\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])", time.Now().UnixNano()))
	key := keys.Core("script-test")
	for round, want := range [][]int64{{1, 3, 6}, {7, 9, 12}} { // round 2: the script is loaded
		calls := []store.Call{{Keys: []string{key}, Args: []any{1}}, {Keys: []string{key}, Args: []any{2}},
			{Keys: []string{key}, Args: []any{3}}}
		cmds := s.EvalPipelined(ctx, rdb, calls)
		if len(cmds) != len(calls) {
			t.Fatalf("round %d: %d results for %d calls", round, len(cmds), len(calls))
		}
		for i, cmd := range cmds {
			got, err := cmd.Int64()
			if err != nil || got != want[i] {
				t.Fatalf("round %d call %d: %d, %v; want %d", round, i, got, err, want[i])
			}
		}
	}
	if cmds := s.EvalPipelined(ctx, rdb, []store.Call{{Keys: []string{key}, Args: []any{5}}}); cmds[0].Val() != int64(17) {
		t.Fatalf("one call: %v", cmds[0].Val())
	}
	if cmds := s.EvalPipelined(ctx, rdb, nil); len(cmds) != 0 {
		t.Fatalf("no calls: %d results", len(cmds))
	}
}
