package meta

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// progressTTL keeps the progress of a multi-part send long enough for every retry.
const progressTTL = 7 * 24 * time.Hour

// SendParts sends n parts of one outbound message in order with send(i), which returns the
// channel message id of part i. Progress is kept in Redis under key, so a retry after a
// failure in the middle resumes with the first unsent part instead of repeating the others.
// It returns the id of the first part (used to match delivery statuses).
func SendParts(ctx context.Context, rdb redis.UniversalClient, key string, n int, send func(i int) (string, error)) (string, error) {
	done, first := 0, ""
	if n > 1 {
		prog, err := rdb.HGetAll(ctx, key).Result()
		if err != nil {
			return "", fmt.Errorf("read send progress: %w", err)
		}
		done, _ = strconv.Atoi(prog["n"])
		first = prog["first"]
	}
	for i := done; i < n; i++ {
		id, err := send(i)
		if err != nil {
			return first, err
		}
		if first == "" {
			first = id
		}
		if n > 1 {
			pipe := rdb.TxPipeline()
			pipe.HSet(ctx, key, "n", i+1, "first", first)
			pipe.Expire(ctx, key, progressTTL)
			if _, err := pipe.Exec(ctx); err != nil {
				return first, fmt.Errorf("record send progress: %w", err)
			}
		}
	}
	return first, nil
}
