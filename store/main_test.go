package store_test

import (
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// newRedis returns a client on the test Redis and keys under a fresh prefix (deleted by
// redistest when the test ends).
func newRedis(tb testing.TB) (*redis.Client, store.Keys) {
	tb.Helper()
	rdb, prefix := redistest.New(tb)
	return rdb, store.NewKeys(prefix)
}
