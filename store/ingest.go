package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/bufpool"
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

// ingestItem is one item of a run of ingest.lua: its KEYS entry (the dedupe marker) and
// its two ARGV entries, in order.
type ingestItem struct {
	Marker  string // {P:in}:dedupe:<channel>:<acct>:<pseudonym of the message id>
	TTL     int64  // dedupe marker TTL, ms (at least 1)
	Payload []byte // JSON of channels.Inbound (sent as it is: no copy into a string)
}

// ingestRun builds KEYS and ARGV of one run of ingest.lua over items, in order: KEYS[1] the
// inbound stream, KEYS[1+i] item i's marker; ARGV[2i-1] its TTL, ARGV[2i] its payload.
func ingestRun(k Keys, items []ingestItem) (keys []string, argv []any) {
	keys = make([]string, 1, 1+len(items))
	keys[0] = k.Inbound()
	argv = make([]any, 0, 2*len(items))
	var ttl string // the items of a run mostly share their TTL: formatted once
	for i, it := range items {
		if i == 0 || it.TTL != items[i-1].TTL {
			ttl = strconv.FormatInt(it.TTL, 10)
		}
		keys = append(keys, it.Marker)
		argv = append(argv, ttl, it.Payload)
	}
	return keys, argv
}

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

	// Concurrent calls share round trips and script runs: a call that finds fewer than
	// maxFlushers flushers at work sends the queue (its own item included) as one run of
	// ingest.lua; calls arriving while maxFlushers are at work queue up and go together in
	// the next run. Only under load does a run wait (lingerFor) for more; every call still
	// returns only after the script has stored its item (the item is durable).
	mu       sync.Mutex
	queue    []*ingestCall
	flushers int // flushers at work: taking a batch, lingering or sending
	inFlight int // script runs sent and not yet answered

	sleep func(time.Duration) // time.Sleep; tests record the linger
}

// ingestBatch bounds how many queued calls share one script run (64 items keep Redis busy
// well under a millisecond); maxFlushers bounds the round trips in flight: two, so one slow
// round trip does not hold everyone up, and few, so that calls arriving during a round trip
// gather into the next batch. On a loaded two-core machine a round trip costs the process
// about as much CPU as a whole small HTTP request (BENCHMARKS.md); sharing it is what
// makes a form lead cheap.
const (
	ingestBatch = 64
	maxFlushers = 2
)

// lingerFor and lingerBelow make batches larger when the gateway is busy: a flusher that
// starts while another round trip is in flight (sent, not yet answered: a lingering
// flusher does not count, so two never wait for each other while Redis idles) and finds
// fewer than lingerBelow calls queued waits lingerFor before taking them, so the next
// script run carries more items and every lead pays a smaller share of a round trip (on the
// two-core bench machine ≈ 10 → ≈ 13 items per run; BENCHMARKS.md, fourth round). A lone
// call (nothing in flight) never waits; lingering adds at most lingerFor to a call. This is
// a real-time wait on purpose: it is about CPU, not about the gateway's clock (tests with a
// fake clock are not held by it).
const (
	lingerFor   = 200 * time.Microsecond
	lingerBelow = 24
)

type ingestCall struct {
	item ingestItem
	id   string // the entry id (of the original, for a duplicate)
	dup  bool
	err  error
	done chan struct{} // capacity 1: the run that carried the call sends once
}

// payloads recycles the buffers items are encoded into (one over 16 KiB, a long message, is
// left to the garbage collector).
var payloads = bufpool.New(1024, 16<<10)

// callPool recycles calls and their channels (one Ingest allocates neither).
var callPool = sync.Pool{New: func() any { return &ingestCall{done: make(chan struct{}, 1)} }}

// NewIngest returns an Ingester. observer may be nil.
func NewIngest(rdb redis.UniversalClient, keys Keys, clk clock.Clock, observer IngestObserver) *Ingest {
	return &Ingest{rdb: rdb, keys: keys, clock: clk, observer: observer, sleep: time.Sleep}
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
	buf := payloads.Get()
	payload, err := appendInbound((*buf)[:0], in)
	if err != nil {
		payloads.Put(buf, *buf)
		return channels.IngestResult{}, fmt.Errorf("encode inbound: %w", err)
	}
	id, dup, err := g.run(ctx, ingestItem{Marker: g.keys.Dedupe(in.Channel, in.Account, in.MessageID), TTL: ttlMs, Payload: payload})
	// The script run that carried the payload has returned (the bytes were written to Redis
	// or the run failed): nothing refers to them any more.
	payloads.Put(buf, payload)
	if err != nil {
		return channels.IngestResult{}, fmt.Errorf("store inbound: %w", err)
	}
	if g.observer != nil {
		g.observer.Ingested(in.Channel, dup)
	}
	return channels.IngestResult{EntryID: id, Duplicate: dup}, nil
}

// run stores one item, sharing the script run and its round trip with concurrent calls.
func (g *Ingest) run(ctx context.Context, item ingestItem) (id string, dup bool, err error) {
	c := callPool.Get().(*ingestCall)
	c.item = item
	defer func() {
		*c = ingestCall{done: c.done}
		callPool.Put(c)
	}()
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.flushers >= maxFlushers {
		g.mu.Unlock()
		<-c.done // a run in flight, or the next one, carries it
		return c.id, c.dup, c.err
	}
	g.flushers++
	g.mu.Unlock()
	// Send the queue (this call included) now, then hand the calls that queued meanwhile
	// to a goroutine, so this caller does not wait for them.
	g.flushOnce(ctx)
	if g.more() {
		go g.flush(context.WithoutCancel(ctx))
	}
	<-c.done
	return c.id, c.dup, c.err
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

// takeBatch is group commit: it lets the goroutines that are ready to run (webhook handlers
// past their parsing, on a busy server) reach the queue first, lingers (lingerFor) for the
// calls still on their way when another round trip is in flight and few calls are queued,
// then takes up to ingestBatch queued calls and counts their run as in flight (nil: nothing
// left, a flusher that did not linger carried it). With nothing else ready to run and no
// round trip in flight it takes the queue at once. (Yielding again while the queue grows
// gathered no more on a loaded machine.)
func (g *Ingest) takeBatch() []*ingestCall {
	runtime.Gosched()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight > 0 && len(g.queue) < lingerBelow {
		g.mu.Unlock()
		g.sleep(lingerFor)
		g.mu.Lock()
	}
	n := min(len(g.queue), ingestBatch)
	if n == 0 {
		return nil
	}
	batch := append([]*ingestCall(nil), g.queue[:n]...)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	g.inFlight++
	return batch
}

// flushOnce stores up to ingestBatch queued items in one run of ingest.lua (EVALSHA, then
// EVAL when the script cache was flushed: Redis ran nothing on NOSCRIPT). An error fails
// every call of the run; items stored before the error are found by the callers' retries
// as duplicates of their entries (at least once, never twice).
func (g *Ingest) flushOnce(ctx context.Context) {
	batch := g.takeBatch()
	if batch == nil {
		return
	}
	items := make([]ingestItem, len(batch))
	for i, c := range batch {
		items[i] = c.item
	}
	keys, argv := ingestRun(g.keys, items)
	// One caller's cancellation must not fail the others.
	res, err := ingestScript.Run(context.WithoutCancel(ctx), g.rdb, keys, argv...).Slice()
	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
	if err == nil && len(res) != 2*len(batch) {
		err = fmt.Errorf("ingest script answered %d values for %d items", len(res), len(batch))
	}
	for i, c := range batch {
		c.id, c.dup, c.err = itemResult(res, i, err)
		c.done <- struct{}{}
	}
}

// itemResult is item i's answer in a run's result res ({id, dup} per item), or the run's err.
func itemResult(res []any, i int, err error) (id string, dup bool, _ error) {
	if err != nil {
		return "", false, err
	}
	id, ok1 := res[2*i].(string)
	d, ok2 := res[2*i+1].(int64)
	if !ok1 || !ok2 {
		return "", false, fmt.Errorf("ingest script answered %T, %T for an item", res[2*i], res[2*i+1])
	}
	return id, d == 1, nil
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
