package store_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// newRedis returns a client on the test Redis and keys under a fresh prefix. Every key of
// the prefix is deleted when the test ends, so the shared Redis does not collect dedupe
// markers with an 8-day TTL.
func newRedis(tb testing.TB) (*redis.Client, store.Keys) {
	tb.Helper()
	rdb, prefix := redistest.New(tb)
	// Registered after redistest.New's own cleanup, so it runs first (LIFO), while the client is open.
	tb.Cleanup(func() { deletePrefix(tb, rdb, prefix) })
	return rdb, store.NewKeys(prefix)
}

func deletePrefix(tb testing.TB, rdb *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Every key built by store.Keys starts with "{" + prefix.
	iter := rdb.Scan(ctx, 0, "{"+prefix+"*", 1000).Iterator()
	var batch []string
	flush := func() {
		if len(batch) > 0 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				tb.Logf("cleanup: %v", err)
			}
			batch = batch[:0]
		}
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			flush()
		}
	}
	flush()
	if err := iter.Err(); err != nil {
		tb.Logf("cleanup scan: %v", err)
	}
}
