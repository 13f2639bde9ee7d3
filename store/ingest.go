package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
)

// DefaultDedupeTTL is how long an inbound id is remembered: longer than Meta's WhatsApp
// retry window (7 days).
const DefaultDedupeTTL = 8 * 24 * time.Hour

// ingestScript deduplicates and appends in one step, so a retried webhook never creates a
// second entry and a crash between "seen" and "stored" cannot happen (KEYS, ARGV and
// returns are documented in ingest.lua).
//
//go:embed ingest.lua
var ingestLua string
var ingestScript = NewScript(ingestLua)

// ingestKeys are ingest.lua's KEYS: the item's dedupe marker and the inbound stream.
func ingestKeys(k Keys, in channels.Inbound) []string {
	return []string{k.Dedupe(in.Channel, in.Account, in.MessageID), k.Inbound()}
}

// ingestArgs are ingest.lua's ARGV, in order.
type ingestArgs struct {
	TTL     int64  // dedupe marker TTL, ms (at least 1)
	Payload []byte // JSON of channels.Inbound (sent as it is: no copy into a string)
}

func (a ingestArgs) argv() []any { return []any{strconv.FormatInt(a.TTL, 10), a.Payload} }

// IngestObserver is told about every ingested item (metrics). May be nil.
type IngestObserver interface {
	Ingested(channel string, duplicate bool)
}

// Ingest is the channels.Ingester backed by the inbound stream.
type Ingest struct {
	rdb      redis.UniversalClient
	keys     Keys
	clock    clock.Clock
	observer IngestObserver

	// Concurrent calls share round trips: a call that finds fewer than maxFlushers round
	// trips in flight sends the queue (its own script included) at once; calls arriving
	// while maxFlushers are in flight queue up and go together in the next pipeline.
	// Nothing waits for a timer, and every call still returns only after its own script
	// has run (the item is durable).
	mu       sync.Mutex
	queue    []*ingestCall
	flushers int
}

// ingestBatch bounds how many queued calls share one pipeline; maxFlushers bounds the
// round trips in flight (several, so one slow round trip does not hold everyone up).
const (
	ingestBatch = 128
	maxFlushers = 8
)

type ingestCall struct {
	keys []string
	args []any
	res  []any
	err  error
	done chan struct{}
}

// NewIngest returns an Ingester. observer may be nil.
func NewIngest(rdb redis.UniversalClient, keys Keys, clk clock.Clock, observer IngestObserver) *Ingest {
	return &Ingest{rdb: rdb, keys: keys, clock: clk, observer: observer}
}

var _ channels.Ingester = (*Ingest)(nil)

// ErrInvalidInbound is returned for an Inbound missing its identity.
var ErrInvalidInbound = errors.New("inbound item needs channel, message id and contact id")

// Ingest stores in durably, once per (Channel, Account, MessageID).
func (g *Ingest) Ingest(ctx context.Context, in channels.Inbound) (channels.IngestResult, error) {
	if in.Channel == "" || in.MessageID == "" || (in.ContactID == "" && in.Kind != channels.KindStatus) {
		return channels.IngestResult{}, ErrInvalidInbound
	}
	if in.Kind == "" {
		in.Kind = channels.KindMessage
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = g.clock.Now()
	}
	ttl := in.DedupeTTL
	if ttl <= 0 {
		ttl = DefaultDedupeTTL
	}
	// At least 1 ms: "SET ... PX 0" fails inside the script after the XADD, which would
	// report an error for an item that was stored (and the retry would store it again).
	ttlMs := max(ttl.Milliseconds(), 1)
	payload, err := encodeInbound(in)
	if err != nil {
		return channels.IngestResult{}, fmt.Errorf("encode inbound: %w", err)
	}
	res, err := g.run(ctx, ingestKeys(g.keys, in), ingestArgs{TTL: ttlMs, Payload: payload}.argv())
	if err != nil {
		return channels.IngestResult{}, fmt.Errorf("store inbound: %w", err)
	}
	id, _ := res[0].(string)
	dup, _ := res[1].(int64)
	if g.observer != nil {
		g.observer.Ingested(in.Channel, dup == 1)
	}
	return channels.IngestResult{EntryID: id, Duplicate: dup == 1}, nil
}

// run runs the ingest script for one call, sharing the round trip with concurrent calls.
func (g *Ingest) run(ctx context.Context, keys []string, args []any) ([]any, error) {
	c := &ingestCall{keys: keys, args: args, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.flushers >= maxFlushers {
		g.mu.Unlock()
		<-c.done // a pipeline in flight, or the next one, carries it
		return c.res, c.err
	}
	g.flushers++
	g.mu.Unlock()
	// No round trip in flight: send the queue (this call included) now, then hand the
	// calls that queued meanwhile to a goroutine, so this caller does not wait for them.
	g.flushOnce(ctx)
	if g.more() {
		go g.flush(context.WithoutCancel(ctx))
	}
	<-c.done
	return c.res, c.err
}

// more reports whether calls are queued; if none, this flusher stops.
func (g *Ingest) more() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.flushers--
		return false
	}
	return true
}

// flush sends queued calls until none is left.
func (g *Ingest) flush(ctx context.Context) {
	for {
		g.flushOnce(ctx)
		if !g.more() {
			return
		}
	}
}

// flushOnce sends up to ingestBatch queued calls in one pipeline.
func (g *Ingest) flushOnce(ctx context.Context) {
	g.mu.Lock()
	n := min(len(g.queue), ingestBatch)
	batch := append([]*ingestCall(nil), g.queue[:n]...)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	g.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx) // one caller's cancellation must not fail the others
	calls := make([]Call, len(batch))
	for i, c := range batch {
		calls[i] = Call{Keys: c.keys, Args: c.args}
	}
	for i, cmd := range ingestScript.EvalPipelined(ctx, g.rdb, calls) {
		batch[i].res, batch[i].err = cmd.Slice()
		close(batch[i].done)
	}
}

// DecodeInbound decodes the payload of an inbound stream entry.
func DecodeInbound(values map[string]any) (channels.Inbound, error) {
	var in channels.Inbound
	s, ok := values["m"].(string)
	if !ok {
		return in, errors.New("inbound entry has no payload field")
	}
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return in, fmt.Errorf("decode inbound entry: %w", err)
	}
	return in, nil
}
