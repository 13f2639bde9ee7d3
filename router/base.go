package router

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/metrics"
)

// base is what every component of the router shares: the configuration, Redis and its
// keys, the clock, the logger and the metrics.
type base struct {
	cfg   Config
	rdb   redis.UniversalClient
	keys  keys
	clock clock.Clock
	log   *slog.Logger
	m     *metrics.Metrics
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func seconds(now time.Time, fromMS int64) float64 {
	d := float64(ms(now)-fromMS) / 1000
	if d < 0 {
		return 0
	}
	return d
}

func isNil(err error) bool { return errors.Is(err, redis.Nil) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
