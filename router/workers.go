package router

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// Consumer group names.
const (
	groupRouter = "router" // inbound and fired timers
	groupNotify = "notify" // events
	groupSend   = "send"   // outbound
	// groupMetrics (funnel_metrics.go): the timeline stream, trimmed by retention and size only
)

// consumerForget: a consumer idle this long with nothing pending belongs to a process that is gone.
const consumerForget = 24 * time.Hour

// streamWorker is a component that consumes one stream: the inbound applier, the fired-timer
// handler, the event dispatcher and the sender. Run starts router.workers consumers of each.
type streamWorker interface {
	consumer(instance, suffix string) *store.Consumer
}

// consumerConfig is the configuration of a consumer named instance-name of stream's group.
func (b *base) consumerConfig(stream, group, instance, name string) store.ConsumerConfig {
	return store.ConsumerConfig{Stream: stream, Group: group, Consumer: instance + "-" + name,
		ReclaimIdle: b.cfg.ReclaimIdle, MaxDeliveries: int64(b.cfg.MaxDeliveries)}
}

// deadLetter moves a malformed entry to its stream's dead-letter stream (it would fail
// forever), with why (dead_error: no personal data).
func (b *base) deadLetter(ctx context.Context, e store.Entry, why string) error {
	values := map[string]any{deadFromField: entryIdentity(e), deadErrorField: why}
	for k, v := range e.Values {
		if k != replayOfField {
			values[k] = v
		}
	}
	return b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: store.DeadLetter(e.Stream), Values: values,
		MaxLen: store.DeadLetterMaxLen, Approx: true}).Err()
}

// replayOfField is set on an entry a supervisor replayed from a dead-letter stream
// (replay.lua): the id the entry had when it first came, its identity for idempotency.
const replayOfField = "replay_of"

// entryIdentity is the id an entry is known by for idempotency: its first id when it was
// replayed from a dead-letter stream, else its own.
func entryIdentity(e store.Entry) string {
	if s, _ := e.Values[replayOfField].(string); s != "" {
		return s
	}
	return e.ID
}

// trim drops acknowledged entries of the router's streams and forgets consumers of
// processes gone for a day with nothing pending.
func (b *base) trim(ctx context.Context) error {
	groups := map[string]string{b.keys.Inbound(): groupRouter, b.keys.fired(): groupRouter,
		b.keys.events(): groupNotify, b.keys.outbound(): groupSend}
	for s, g := range groups {
		if _, err := store.Trim(ctx, b.rdb, s); err != nil {
			return err
		}
		if _, err := store.PruneConsumers(ctx, b.rdb, s, g, consumerForget); err != nil {
			return err
		}
	}
	if _, err := store.PruneConsumers(ctx, b.rdb, b.keys.timelineStream(), groupMetrics, consumerForget); err != nil {
		return err
	}
	return b.trimTimeline(ctx)
}

// trimTimeline drops the {P}:timeline stream's entries older than router.retention (XADD in
// lib.lua also caps it at about 100000 entries). They hold ids, stages and reasons only, so
// erasure leaves them to this trimming (a forget job never reads the stream); a consumer
// group (the funnel metrics) that fell further behind than the retention loses them.
func (b *base) trimTimeline(ctx context.Context) error {
	minID := strconv.FormatInt(ms(b.clock.Now().Add(-b.cfg.Retention)), 10) + "-0"
	return b.rdb.XTrimMinIDApprox(ctx, b.keys.timelineStream(), minID, 0).Err()
}

// goWG runs f in a goroutine counted by wg.
func goWG(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() { defer wg.Done(); f() }()
}

// every calls f every d until ctx ends, logging its errors.
func every(ctx context.Context, log *slog.Logger, d time.Duration, f func(context.Context) error) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f(ctx); err != nil && ctx.Err() == nil {
				log.Warn("periodic router task failed", "err", err)
			}
		}
	}
}
