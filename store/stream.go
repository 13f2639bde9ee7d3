package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Entry is one stream entry handed to a Handler.
type Entry struct {
	Stream string
	ID     string
	Values map[string]any
	// Deliveries is how many times the entry has been delivered, this time included, when
	// known (reclaimed entries); 0 otherwise. An entry whose handler fails on delivery
	// MaxDeliveries goes to the dead-letter stream: that delivery is the handler's last chance.
	Deliveries int64
}

// Handler processes one entry. Returning nil acknowledges it. Returning an error leaves it
// pending: it is delivered again after ConsumerConfig.ReclaimIdle (to this or another
// instance) and moved to the dead-letter stream after MaxDeliveries. Handlers must be
// idempotent: at-least-once delivery means an entry can be seen twice.
type Handler func(ctx context.Context, e Entry) error

// BatchHandler processes the entries of one read together (e.g. to fetch what they need in
// one pipelined round trip) and returns one error per entry, with the same meaning as a
// Handler's: nil acknowledges the entry, an error leaves it pending.
type BatchHandler func(ctx context.Context, entries []Entry) []error

// ConsumerConfig tunes one consumer.
type ConsumerConfig struct {
	Stream   string
	Group    string
	Consumer string // unique per process (and per worker inside it)
	// Block is how long one XREADGROUP waits; short, so shutdown is prompt. Default 1s.
	Block time.Duration
	// Count is the batch size. Default 64.
	Count int64
	// ReclaimIdle: entries pending longer than this (a crashed or stuck consumer) are claimed. Default 30s.
	ReclaimIdle time.Duration
	// MaxDeliveries: an entry delivered this many times goes to the dead-letter stream. Default 5.
	MaxDeliveries int64
}

func (c *ConsumerConfig) defaults() {
	if c.Block <= 0 {
		c.Block = time.Second
	}
	if c.Count <= 0 {
		c.Count = 64
	}
	if c.ReclaimIdle <= 0 {
		c.ReclaimIdle = 30 * time.Second
	}
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = 5
	}
}

// ConsumerObserver is told about dead-lettered entries and handler failures (metrics). May be nil.
type ConsumerObserver interface {
	EntryDeadLettered(stream string)
	EntryFailed(stream string)
}

// Consumer reads one stream in a consumer group and runs a Handler on every entry.
type Consumer struct {
	rdb      redis.UniversalClient
	cfg      ConsumerConfig
	handle   Handler
	batch    BatchHandler // nil: handle one by one
	log      *slog.Logger
	observer ConsumerObserver

	ownPendingDone bool
}

// NewBatchConsumer returns a consumer that hands each read's entries to h together.
func NewBatchConsumer(rdb redis.UniversalClient, cfg ConsumerConfig, h BatchHandler, log *slog.Logger, obs ConsumerObserver) *Consumer {
	c := NewConsumer(rdb, cfg, func(ctx context.Context, e Entry) error { return h(ctx, []Entry{e})[0] }, log, obs)
	c.batch = h
	return c
}

// NewConsumer returns a consumer; call Run or, in tests, Poll.
func NewConsumer(rdb redis.UniversalClient, cfg ConsumerConfig, h Handler, log *slog.Logger, obs ConsumerObserver) *Consumer {
	cfg.defaults()
	return &Consumer{rdb: rdb, cfg: cfg, handle: h, log: log.With("stream", cfg.Stream, "consumer", cfg.Consumer), observer: obs}
}

// EnsureGroup creates the stream and the group if they do not exist.
func EnsureGroup(ctx context.Context, rdb redis.UniversalClient, stream, group string) error {
	err := rdb.XGroupCreateMkStream(ctx, stream, group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group %s on %s: %w", group, stream, err)
	}
	return nil
}

// Run polls until ctx is cancelled. Entries being handled when ctx is cancelled are finished
// with a context that is not cancelled (bounded by the handler's own timeouts), so an entry
// is either acknowledged or left pending for another instance, never half-processed.
func (c *Consumer) Run(ctx context.Context) error {
	if err := EnsureGroup(ctx, c.rdb, c.cfg.Stream, c.cfg.Group); err != nil {
		return err
	}
	lastReclaim := time.Time{}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		reclaim := time.Since(lastReclaim) >= c.cfg.ReclaimIdle/2
		if reclaim {
			lastReclaim = time.Now()
		}
		_, err := c.poll(ctx, reclaim, c.cfg.Block)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("stream poll failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			if backoff < 5*time.Second {
				backoff *= 2
			}
			continue
		}
		backoff = 100 * time.Millisecond
	}
	return nil
}

// Poll runs one round without blocking: this consumer's own pending entries (first round
// only), reclaimed entries of dead consumers, then new entries. It returns how many entries
// were handled successfully. Tests drive consumers with Poll.
func (c *Consumer) Poll(ctx context.Context) (int, error) {
	if err := EnsureGroup(ctx, c.rdb, c.cfg.Stream, c.cfg.Group); err != nil {
		return 0, err
	}
	return c.poll(ctx, true, -1)
}

func (c *Consumer) poll(ctx context.Context, reclaim bool, block time.Duration) (int, error) {
	n := 0
	if !c.ownPendingDone {
		k, err := c.read(ctx, "0", -1)
		n += k
		if err != nil {
			return n, err
		}
		c.ownPendingDone = true
	}
	if reclaim {
		k, err := c.reclaim(ctx)
		n += k
		if err != nil {
			return n, err
		}
	}
	if n > 0 {
		block = -1
	}
	k, err := c.read(ctx, ">", block)
	return n + k, err
}

// read reads with id "0" (own pending) or ">" (new). block < 0 means do not block.
func (c *Consumer) read(ctx context.Context, id string, block time.Duration) (int, error) {
	args := &redis.XReadGroupArgs{
		Group: c.cfg.Group, Consumer: c.cfg.Consumer,
		Streams: []string{c.cfg.Stream, id}, Count: c.cfg.Count, Block: block,
	}
	if block < 0 {
		args.Block = -1 // go-redis: negative omits BLOCK
	}
	res, err := c.rdb.XReadGroup(ctx, args).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		if strings.Contains(err.Error(), "NOGROUP") {
			if gerr := EnsureGroup(ctx, c.rdb, c.cfg.Stream, c.cfg.Group); gerr != nil {
				return 0, gerr
			}
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, s := range res {
		n += c.handleBatch(ctx, s.Messages)
	}
	return n, nil
}

// handleBatch runs the handler on every entry of one read, then acknowledges the handled
// ones with a single XACK (one round trip per batch instead of one per entry). An entry
// whose handler failed stays pending. If the process dies before the XACK, the batch's
// handled entries are delivered again: handlers are idempotent (at-least-once).
func (c *Consumer) handleBatch(ctx context.Context, msgs []redis.XMessage) int {
	hctx := context.WithoutCancel(ctx)
	ids := make([]string, 0, len(msgs))
	n := 0
	entries := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		if m.Values == nil { // deleted while pending (trimmed): nothing to do
			ids = append(ids, m.ID)
			continue
		}
		entries = append(entries, Entry{Stream: c.cfg.Stream, ID: m.ID, Values: m.Values})
	}
	stop := c.keepClaimed(hctx, entries)
	var errs []error
	if c.batch != nil && len(entries) > 0 {
		errs = c.batch(hctx, entries)
	}
	for i, e := range entries {
		var err error
		if errs != nil {
			err = errs[i]
		} else {
			err = c.handle(hctx, e)
		}
		if err != nil {
			c.failed(e.ID, err)
			continue
		}
		ids = append(ids, e.ID)
		n++
	}
	stop()
	if len(ids) == 0 {
		return 0
	}
	if err := c.rdb.XAck(hctx, c.cfg.Stream, c.cfg.Group, ids...).Err(); err != nil {
		c.log.Warn("ack failed; the entries will be handled again (handlers are idempotent)", "entries", len(ids), "err", err)
		return 0
	}
	return n
}

func (c *Consumer) failed(id string, err error) {
	if c.observer != nil {
		c.observer.EntryFailed(c.cfg.Stream)
	}
	c.log.Warn("entry not processed; it stays pending and will be retried", "id", id, "err", err)
}

func (c *Consumer) handleOne(ctx context.Context, m redis.XMessage, deliveries int64) bool {
	hctx := context.WithoutCancel(ctx)
	e := Entry{Stream: c.cfg.Stream, ID: m.ID, Values: m.Values, Deliveries: deliveries}
	stop := c.keepClaimed(hctx, []Entry{e})
	err := c.handle(hctx, e)
	stop()
	if err != nil {
		c.failed(m.ID, err)
		return false
	}
	if err := c.rdb.XAck(hctx, c.cfg.Stream, c.cfg.Group, m.ID).Err(); err != nil {
		c.log.Warn("ack failed; the entry will be handled again (handlers are idempotent)", "id", m.ID, "err", err)
		return false
	}
	return true
}

// keepClaimed resets the idle time of entries every ReclaimIdle/3 while their handler runs
// (XCLAIM ... JUSTID to this consumer: the delivery count is not incremented), so a handler
// slower than ReclaimIdle (a send retrying a slow channel) is not mistaken for a dead
// consumer and its entries are not reclaimed and handled a second time meanwhile. Call the
// returned function once the handler has returned.
func (c *Consumer) keepClaimed(ctx context.Context, entries []Entry) (stop func()) {
	if len(entries) == 0 {
		return func() {}
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(max(c.cfg.ReclaimIdle/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				err := c.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
					Stream: c.cfg.Stream, Group: c.cfg.Group, Consumer: c.cfg.Consumer, Messages: ids,
				}).Err()
				if err != nil && !errors.Is(err, redis.Nil) {
					c.log.Warn("could not renew the claim on entries being handled", "entries", len(ids), "err", err)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// reclaim takes over entries idle longer than ReclaimIdle (XAUTOCLAIM), dead-lettering the
// ones delivered MaxDeliveries times or more.
func (c *Consumer) reclaim(ctx context.Context) (int, error) {
	n := 0
	start := "0-0"
	for i := 0; i < 100; i++ { // bounded: at most 100 batches a round
		msgs, next, err := c.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: c.cfg.Stream, Group: c.cfg.Group, Consumer: c.cfg.Consumer,
			MinIdle: c.cfg.ReclaimIdle, Start: start, Count: c.cfg.Count,
		}).Result()
		if err != nil {
			if strings.Contains(err.Error(), "NOGROUP") {
				return n, EnsureGroup(ctx, c.rdb, c.cfg.Stream, c.cfg.Group)
			}
			return n, err
		}
		if len(msgs) > 0 {
			counts, err := c.deliveries(ctx, msgs[0].ID, msgs[len(msgs)-1].ID)
			if err != nil {
				return n, err
			}
			for _, m := range msgs {
				if counts[m.ID] > c.cfg.MaxDeliveries {
					if err := c.deadLetter(ctx, m, counts[m.ID]); err != nil {
						return n, err
					}
					continue
				}
				c.log.Info("reclaimed entry from a stalled consumer", "id", m.ID, "deliveries", counts[m.ID])
				if c.handleOne(ctx, m, counts[m.ID]) {
					n++
				}
			}
		}
		if next == "0-0" || next == "" {
			break
		}
		start = next
	}
	return n, nil
}

func (c *Consumer) deliveries(ctx context.Context, from, to string) (map[string]int64, error) {
	ps, err := c.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: c.cfg.Stream, Group: c.cfg.Group, Start: from, End: to, Count: c.cfg.Count * 2, Consumer: c.cfg.Consumer,
	}).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(ps))
	for _, p := range ps {
		out[p.ID] = p.RetryCount
	}
	return out, nil
}

func (c *Consumer) deadLetter(ctx context.Context, m redis.XMessage, deliveries int64) error {
	values := make(map[string]any, len(m.Values)+3)
	for k, v := range m.Values {
		values[k] = v
	}
	values["dead_from_id"] = m.ID
	values["dead_group"] = c.cfg.Group
	values["dead_deliveries"] = deliveries
	pipe := c.rdb.TxPipeline()
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: DeadLetter(c.cfg.Stream), Values: values, MaxLen: DeadLetterMaxLen, Approx: true})
	pipe.XAck(ctx, c.cfg.Stream, c.cfg.Group, m.ID)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("dead-letter %s: %w", m.ID, err)
	}
	if c.observer != nil {
		c.observer.EntryDeadLettered(c.cfg.Stream)
	}
	c.log.Error("entry moved to the dead-letter stream after repeated failures", "id", m.ID, "deliveries", deliveries, "dead_stream", DeadLetter(c.cfg.Stream))
	return nil
}

// Trim deletes entries that every consumer group of stream has acknowledged. Entries still
// pending or not yet delivered to some group are kept, so trimming never loses work.
func Trim(ctx context.Context, rdb redis.UniversalClient, stream string) (int64, error) {
	groups, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return 0, nil
		}
		return 0, err
	}
	if len(groups) == 0 {
		return 0, nil
	}
	minID := ""
	for _, g := range groups {
		keep := g.LastDeliveredID
		if g.Pending > 0 {
			p, err := rdb.XPending(ctx, stream, g.Name).Result()
			if err != nil {
				return 0, err
			}
			keep = p.Lower
		}
		if minID == "" || lessID(keep, minID) {
			minID = keep
		}
	}
	if minID == "" || minID == "0-0" {
		return 0, nil
	}
	return rdb.XTrimMinID(ctx, stream, minID).Result()
}

// lessID compares two stream ids "ms-seq".
func lessID(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	if am != bm {
		return am < bm
	}
	return as < bs
}

func splitID(id string) (uint64, uint64) {
	var ms, seq uint64
	i := strings.IndexByte(id, '-')
	if i < 0 {
		fmt.Sscan(id, &ms)
		return ms, 0
	}
	fmt.Sscan(id[:i], &ms)
	fmt.Sscan(id[i+1:], &seq)
	return ms, seq
}

// PendingCount returns the number of entries pending in a group (delivered, not acknowledged).
func PendingCount(ctx context.Context, rdb redis.UniversalClient, stream, group string) (int64, error) {
	p, err := rdb.XPending(ctx, stream, group).Result()
	if err != nil {
		if strings.Contains(err.Error(), "NOGROUP") || errors.Is(err, redis.Nil) {
			return 0, nil
		}
		return 0, err
	}
	return p.Count, nil
}

// PruneConsumers removes consumers of a group that have nothing pending and have been idle
// longer than idle: every restarted process joins under a new name, so without pruning the
// group's consumer list only grows. A consumer with pending entries is never removed (its
// entries are reclaimed by the others first).
func PruneConsumers(ctx context.Context, rdb redis.UniversalClient, stream, group string, idle time.Duration) (int, error) {
	cs, err := rdb.XInfoConsumers(ctx, stream, group).Result()
	if err != nil {
		if strings.Contains(err.Error(), "NOGROUP") || strings.Contains(err.Error(), "no such key") {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, c := range cs {
		if c.Pending == 0 && c.Idle > idle {
			if err := rdb.XGroupDelConsumer(ctx, stream, group, c.Name).Err(); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
