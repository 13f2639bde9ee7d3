package store_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

const group = "router"

// consumerObserver counts failures and dead-lettered entries.
type consumerObserver struct {
	mu           sync.Mutex
	failed, dead int
}

func (o *consumerObserver) EntryDeadLettered(string) { o.mu.Lock(); o.dead++; o.mu.Unlock() }
func (o *consumerObserver) EntryFailed(string)       { o.mu.Lock(); o.failed++; o.mu.Unlock() }
func (o *consumerObserver) get() (failed, dead int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failed, o.dead
}

// recorder is a Handler that records the ids it saw and fails while fail is set.
type recorder struct {
	mu   sync.Mutex
	ids  []string
	vals []map[string]any
	fail bool
}

func (r *recorder) handle(_ context.Context, e store.Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, e.ID)
	r.vals = append(r.vals, e.Values)
	if r.fail {
		return errors.New("handler failed")
	}
	return nil
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

func (r *recorder) setFail(v bool) { r.mu.Lock(); r.fail = v; r.mu.Unlock() }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type streamEnv struct {
	t      *testing.T
	rdb    *redis.Client
	stream string
}

func newStreamEnv(t *testing.T) *streamEnv {
	rdb, keys := newRedis(t)
	s := &streamEnv{t: t, rdb: rdb, stream: keys.Core("events")}
	if err := store.EnsureGroup(context.Background(), rdb, s.stream, group); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *streamEnv) consumer(name string, h store.Handler, obs store.ConsumerObserver, mut func(*store.ConsumerConfig)) *store.Consumer {
	cfg := store.ConsumerConfig{Stream: s.stream, Group: group, Consumer: name, ReclaimIdle: 30 * time.Second, MaxDeliveries: 3}
	if mut != nil {
		mut(&cfg)
	}
	if obs == nil {
		return store.NewConsumer(s.rdb, cfg, h, testLogger(s.t), nil)
	}
	return store.NewConsumer(s.rdb, cfg, h, testLogger(s.t), obs)
}

func (s *streamEnv) add(n int) []string {
	s.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		id, err := s.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: s.stream, Values: map[string]any{"m": "payload-" + strconv.Itoa(i)}}).Result()
		if err != nil {
			s.t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// readRaw reads new entries as consumer name without acknowledging them: a process that
// was killed while handling them.
func (s *streamEnv) readRaw(grp, name string, count int64) []string {
	s.t.Helper()
	res, err := s.rdb.XReadGroup(context.Background(), &redis.XReadGroupArgs{
		Group: grp, Consumer: name, Streams: []string{s.stream, ">"}, Count: count, Block: -1,
	}).Result()
	if err != nil {
		s.t.Fatalf("XREADGROUP: %v", err)
	}
	var ids []string
	for _, m := range res[0].Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

// makeIdle makes a pending entry look idle for 10 minutes (as if its consumer died long
// ago) and sets its delivery count, without waiting: XCLAIM ... IDLE ... RETRYCOUNT ... JUSTID.
func (s *streamEnv) makeIdle(owner, id string, deliveries int64) {
	s.t.Helper()
	err := s.rdb.Do(context.Background(), "XCLAIM", s.stream, group, owner, 0, id,
		"IDLE", 600000, "RETRYCOUNT", deliveries, "JUSTID").Err()
	if err != nil {
		s.t.Fatalf("XCLAIM IDLE: %v", err)
	}
}

func (s *streamEnv) pending() []redis.XPendingExt {
	s.t.Helper()
	p, err := s.rdb.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: s.stream, Group: group, Start: "-", End: "+", Count: 100}).Result()
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

func (s *streamEnv) poll(c *store.Consumer) int {
	s.t.Helper()
	n, err := c.Poll(context.Background())
	if err != nil {
		s.t.Fatalf("Poll: %v", err)
	}
	return n
}

func TestConsumerPollHandlesAndAcks(t *testing.T) {
	s := newStreamEnv(t)
	ids := s.add(5)
	var r recorder
	c := s.consumer("w1", r.handle, nil, nil)
	if n := s.poll(c); n != 5 {
		t.Fatalf("Poll handled %d, want 5", n)
	}
	if got := r.seen(); !reflect.DeepEqual(got, ids) {
		t.Fatalf("handled %v, want %v in order", got, ids)
	}
	if r.vals[2]["m"] != "payload-2" {
		t.Fatalf("entry values %v", r.vals[2])
	}
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending after ack: %+v", p)
	}
	// Nothing new: a non-blocking Poll returns at once with 0.
	if n := s.poll(c); n != 0 {
		t.Fatalf("second Poll handled %d", n)
	}
	more := s.add(2)
	if n := s.poll(c); n != 2 {
		t.Fatalf("third Poll handled %d, want 2", n)
	}
	if got := r.seen()[5:]; !reflect.DeepEqual(got, more) {
		t.Fatalf("handled %v, want %v", got, more)
	}
}

func TestConsumerBatchesByCount(t *testing.T) {
	s := newStreamEnv(t)
	s.add(10)
	var r recorder
	c := s.consumer("w1", r.handle, nil, func(cfg *store.ConsumerConfig) { cfg.Count = 4 })
	for _, want := range []int{4, 4, 2, 0} {
		if n := s.poll(c); n != want {
			t.Fatalf("Poll handled %d, want %d", n, want)
		}
	}
}

func TestConsumerHandlerErrorLeavesEntryPending(t *testing.T) {
	s := newStreamEnv(t)
	ids := s.add(1)
	r := recorder{fail: true}
	obs := &consumerObserver{}
	c := s.consumer("w1", r.handle, obs, nil)
	if n := s.poll(c); n != 0 {
		t.Fatalf("Poll reported %d handled for a failing handler", n)
	}
	p := s.pending()
	if len(p) != 1 || p[0].ID != ids[0] || p[0].Consumer != "w1" || p[0].RetryCount != 1 {
		t.Fatalf("pending = %+v, want %s owned by w1, delivered once", p, ids[0])
	}
	if f, _ := obs.get(); f != 1 {
		t.Fatalf("EntryFailed called %d times, want 1", f)
	}
	// Not redelivered before it is idle for ReclaimIdle.
	r.setFail(false)
	if n := s.poll(c); n != 0 || len(r.seen()) != 1 {
		t.Fatalf("entry redelivered at once: handled %d, seen %v", n, r.seen())
	}
	if n, _ := store.PendingCount(context.Background(), s.rdb, s.stream, group); n != 1 {
		t.Fatalf("PendingCount = %d, want 1", n)
	}
	// Once idle it is retried (here by the same consumer) and acknowledged.
	s.makeIdle("w1", ids[0], 1)
	if n := s.poll(c); n != 1 {
		t.Fatalf("retry handled %d, want 1", n)
	}
	if got := r.seen(); !reflect.DeepEqual(got, []string{ids[0], ids[0]}) {
		t.Fatalf("seen %v", got)
	}
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending after retry: %+v", p)
	}
}

func TestConsumerReclaimsEntriesOfKilledConsumer(t *testing.T) {
	s := newStreamEnv(t)
	ids := s.add(3)
	// "dead" read two entries and was killed before acknowledging them.
	taken := s.readRaw(group, "dead", 2)
	if !reflect.DeepEqual(taken, ids[:2]) {
		t.Fatalf("dead took %v", taken)
	}
	var r recorder
	alive := s.consumer("alive", r.handle, nil, nil)

	// Not idle yet: alive leaves them alone and only takes the undelivered entry.
	if n := s.poll(alive); n != 1 {
		t.Fatalf("Poll handled %d, want 1", n)
	}
	if got := r.seen(); !reflect.DeepEqual(got, ids[2:]) {
		t.Fatalf("alive handled %v before the entries were idle, want only %v", got, ids[2:])
	}
	if p := s.pending(); len(p) != 2 || p[0].Consumer != "dead" || p[1].Consumer != "dead" {
		t.Fatalf("pending = %+v, want both still owned by dead", p)
	}

	// Ten minutes later (simulated): alive reclaims them with XAUTOCLAIM and acks them.
	s.makeIdle("dead", ids[0], 1)
	s.makeIdle("dead", ids[1], 1)
	if n := s.poll(alive); n != 2 {
		t.Fatalf("Poll after idle handled %d, want 2", n)
	}
	if got := r.seen(); !reflect.DeepEqual(got, []string{ids[2], ids[0], ids[1]}) {
		t.Fatalf("alive handled %v", got)
	}
	if r.vals[1]["m"] != "payload-0" {
		t.Fatalf("reclaimed entry values %v", r.vals[1])
	}
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending after reclaim: %+v", p)
	}
}

func TestConsumerProcessesOwnPendingFirstAfterRestart(t *testing.T) {
	s := newStreamEnv(t)
	old := s.add(2)
	// The previous run of w1 read both and died before acknowledging.
	s.readRaw(group, "w1", 10)
	fresh := s.add(2)

	var r recorder
	restarted := s.consumer("w1", r.handle, nil, nil)
	if n := s.poll(restarted); n != 4 {
		t.Fatalf("Poll handled %d, want 4", n)
	}
	want := append(append([]string(nil), old...), fresh...)
	if got := r.seen(); !reflect.DeepEqual(got, want) {
		t.Fatalf("handled %v, want own pending %v first, then %v", got, old, fresh)
	}
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending after restart: %+v", p)
	}
}

func TestConsumerOtherInstanceDoesNotStealFreshPending(t *testing.T) {
	s := newStreamEnv(t)
	ids := s.add(2)
	s.readRaw(group, "w1", 10) // w1 is alive and still working on them
	var r recorder
	if n := s.poll(s.consumer("w2", r.handle, nil, nil)); n != 0 || len(r.seen()) != 0 {
		t.Fatalf("w2 handled %v of w1's fresh pending entries", r.seen())
	}
	p := s.pending()
	if len(p) != 2 || p[0].ID != ids[0] || p[0].Consumer != "w1" {
		t.Fatalf("pending = %+v", p)
	}
}

func TestConsumerDeadLettersAfterMaxDeliveries(t *testing.T) {
	s := newStreamEnv(t)
	ids := s.add(2)
	s.readRaw(group, "dead", 10)
	// MaxDeliveries is 3. XAUTOCLAIM counts as one more delivery: the first entry reaches
	// 4 (dead-lettered), the second reaches 3 (handled one last time).
	s.makeIdle("dead", ids[0], 3)
	s.makeIdle("dead", ids[1], 2)

	var r recorder
	obs := &consumerObserver{}
	c := s.consumer("alive", r.handle, obs, nil)
	if n := s.poll(c); n != 1 {
		t.Fatalf("Poll handled %d, want 1", n)
	}
	if got := r.seen(); !reflect.DeepEqual(got, ids[1:]) {
		t.Fatalf("handler saw %v, want only %v", got, ids[1:])
	}
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending after dead-lettering: %+v", p)
	}
	dead, err := s.rdb.XRange(context.Background(), store.DeadLetter(s.stream), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 {
		t.Fatalf("dead-letter stream has %d entries, want 1", len(dead))
	}
	want := map[string]any{"m": "payload-0", "dead_from_id": ids[0], "dead_group": group, "dead_deliveries": "4"}
	if !reflect.DeepEqual(dead[0].Values, want) {
		t.Fatalf("dead-letter entry %v, want %v", dead[0].Values, want)
	}
	if _, d := obs.get(); d != 1 {
		t.Fatalf("EntryDeadLettered called %d times, want 1", d)
	}
	// The original entry is acknowledged but still in the stream (Trim removes it later).
	if n := xlen(t, s.rdb, s.stream); n != 2 {
		t.Fatalf("stream length %d, want 2", n)
	}
}

func TestConsumerFailingEntryEndsInDeadLetter(t *testing.T) {
	// The whole life of a poison entry, driven by Poll and simulated idleness only.
	s := newStreamEnv(t)
	ids := s.add(1)
	r := recorder{fail: true}
	c := s.consumer("w1", r.handle, nil, nil) // MaxDeliveries 3
	s.poll(c)                                 // delivery 1 (new entry), fails
	for i := 0; i < 3; i++ {
		p := s.pending()
		if len(p) != 1 {
			t.Fatalf("round %d: pending %+v", i, p)
		}
		s.makeIdle("w1", ids[0], p[0].RetryCount) // keep the count, only age it
		s.poll(c)
	}
	if got := len(r.seen()); got != 3 {
		t.Fatalf("handler called %d times, want MaxDeliveries=3", got)
	}
	if n := xlen(t, s.rdb, store.DeadLetter(s.stream)); n != 1 {
		t.Fatalf("dead-letter stream has %d entries, want 1", n)
	}
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending %+v", p)
	}
}

func TestConsumerAcksEntryDeletedWhilePending(t *testing.T) {
	s := newStreamEnv(t)
	ids := s.add(2)
	s.readRaw(group, "w1", 10)
	if err := s.rdb.XDel(context.Background(), s.stream, ids[0]).Err(); err != nil {
		t.Fatal(err)
	}
	var r recorder
	if n := s.poll(s.consumer("w1", r.handle, nil, nil)); n != 1 {
		t.Fatalf("Poll handled %d, want 1", n)
	}
	if got := r.seen(); !reflect.DeepEqual(got, ids[1:]) {
		t.Fatalf("handler saw %v, want %v (the deleted entry is not handed over)", got, ids[1:])
	}
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending %+v", p)
	}
}

func TestConsumerReclaimDropsEntryDeletedWhilePending(t *testing.T) {
	s := newStreamEnv(t)
	ids := s.add(2)
	s.readRaw(group, "dead", 10)
	if err := s.rdb.XDel(context.Background(), s.stream, ids[0]).Err(); err != nil {
		t.Fatal(err)
	}
	s.makeIdle("dead", ids[0], 1)
	s.makeIdle("dead", ids[1], 1)
	var r recorder
	if n := s.poll(s.consumer("alive", r.handle, nil, nil)); n != 1 {
		t.Fatalf("Poll handled %d, want 1", n)
	}
	if got := r.seen(); !reflect.DeepEqual(got, ids[1:]) {
		t.Fatalf("handler saw %v, want %v", got, ids[1:])
	}
	// XAUTOCLAIM (Redis 7) removes deleted entries from the pending list itself.
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending %+v", p)
	}
}

func TestTrimKeepsPendingAndUndelivered(t *testing.T) {
	ctx := context.Background()
	s := newStreamEnv(t) // group "router"
	const g2 = "audit"
	if err := store.EnsureGroup(ctx, s.rdb, s.stream, g2); err != nil {
		t.Fatal(err)
	}
	ack := func(grp string, ids ...string) {
		t.Helper()
		if err := s.rdb.XAck(ctx, s.stream, grp, ids...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	remaining := func() []string {
		t.Helper()
		msgs, err := s.rdb.XRange(ctx, s.stream, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range msgs {
			out = append(out, m.ID)
		}
		return out
	}
	trim := func(wantDeleted int64, wantLeft []string) {
		t.Helper()
		n, err := store.Trim(ctx, s.rdb, s.stream)
		if err != nil {
			t.Fatal(err)
		}
		if n != wantDeleted {
			t.Fatalf("Trim deleted %d, want %d", n, wantDeleted)
		}
		if got := remaining(); !reflect.DeepEqual(got, wantLeft) {
			t.Fatalf("left %v, want %v", got, wantLeft)
		}
	}

	e := s.add(6)
	// Neither group has read anything: nothing goes.
	trim(0, e)

	// router reads and acks everything; audit reads e0..e3 and acks all but e2.
	s.readRaw(group, "r1", 100)
	ack(group, e...)
	trim(0, e) // audit has not read anything yet
	s.readRaw(g2, "a1", 4)
	ack(g2, e[0], e[1], e[3])
	// e2 is pending in audit, e4 and e5 were never delivered to audit.
	trim(2, e[2:])

	// audit acks e2: everything up to its last delivered entry (e3) is acked by both groups.
	// Trim keeps the last delivered entry itself (MINID is inclusive), which is harmless.
	ack(g2, e[2])
	trim(1, e[3:])

	// Now router has a pending entry (e6) and audit has read and acked everything.
	e6 := s.add(1)[0]
	s.readRaw(group, "r1", 100)
	s.readRaw(g2, "a1", 100)
	ack(g2, e[4], e[5], e6)
	trim(3, []string{e6})
	if n, _ := store.PendingCount(ctx, s.rdb, s.stream, group); n != 1 {
		t.Fatalf("router's pending entry was lost: PendingCount = %d", n)
	}
	var r recorder
	s.makeIdle("r1", e6, 1)
	if n := s.poll(s.consumer("r2", r.handle, nil, nil)); n != 1 {
		t.Fatalf("pending entry after Trim not reclaimable: handled %d", n)
	}
}

func TestTrimWithoutStreamOrGroups(t *testing.T) {
	ctx := context.Background()
	rdb, keys := newRedis(t)
	if n, err := store.Trim(ctx, rdb, keys.Core("missing")); err != nil || n != 0 {
		t.Fatalf("Trim(missing stream) = %d, %v", n, err)
	}
	stream := keys.Core("nogroups")
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"m", "x"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := store.Trim(ctx, rdb, stream); err != nil || n != 0 {
		t.Fatalf("Trim(stream without groups) = %d, %v", n, err)
	}
	if n := xlen(t, rdb, stream); n != 1 {
		t.Fatalf("stream without groups trimmed to %d", n)
	}
}

func TestPendingCount(t *testing.T) {
	ctx := context.Background()
	s := newStreamEnv(t)
	for _, tt := range []struct{ stream, group string }{
		{s.stream + ":missing", group},
		{s.stream, "no-such-group"},
	} {
		if n, err := store.PendingCount(ctx, s.rdb, tt.stream, tt.group); err != nil || n != 0 {
			t.Fatalf("PendingCount(%s, %s) = %d, %v; want 0, nil", tt.stream, tt.group, n, err)
		}
	}
	ids := s.add(4)
	if n, err := store.PendingCount(ctx, s.rdb, s.stream, group); err != nil || n != 0 {
		t.Fatalf("undelivered entries counted as pending: %d, %v", n, err)
	}
	s.readRaw(group, "w1", 3)
	if n, _ := store.PendingCount(ctx, s.rdb, s.stream, group); n != 3 {
		t.Fatalf("PendingCount = %d, want 3", n)
	}
	if err := s.rdb.XAck(ctx, s.stream, group, ids[0]).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := store.PendingCount(ctx, s.rdb, s.stream, group); n != 2 {
		t.Fatalf("PendingCount = %d, want 2", n)
	}
}

func TestEnsureGroup(t *testing.T) {
	ctx := context.Background()
	rdb, keys := newRedis(t)
	stream := keys.Core("outbound")
	// An existing entry, written before the group exists, is delivered to the group.
	id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"m", "early"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := store.EnsureGroup(ctx, rdb, stream, group); err != nil {
			t.Fatalf("EnsureGroup call %d: %v", i+1, err)
		}
	}
	groups, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Name != group {
		t.Fatalf("groups = %+v", groups)
	}
	var r recorder
	c := store.NewConsumer(rdb, store.ConsumerConfig{Stream: stream, Group: group, Consumer: "w"}, r.handle, testLogger(t), nil)
	if n, err := c.Poll(ctx); err != nil || n != 1 || r.seen()[0] != id {
		t.Fatalf("Poll = %d, %v, seen %v; want the entry written before the group", n, err, r.seen())
	}

	// A new stream is created empty with its group.
	fresh := keys.Core("fresh")
	if err := store.EnsureGroup(ctx, rdb, fresh, group); err != nil {
		t.Fatal(err)
	}
	if n := xlen(t, rdb, fresh); n != 0 {
		t.Fatalf("new stream has %d entries", n)
	}

	// A key of another type is a real error naming the group and the key.
	str := keys.Core("string")
	if err := rdb.Set(ctx, str, "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	err = store.EnsureGroup(ctx, rdb, str, group)
	if err == nil || !strings.Contains(err.Error(), group) || !strings.Contains(err.Error(), str) {
		t.Fatalf("EnsureGroup on a string key: %v", err)
	}
}

func TestConsumerPollCreatesMissingGroup(t *testing.T) {
	rdb, keys := newRedis(t)
	stream := keys.Core("late")
	var r recorder
	c := store.NewConsumer(rdb, store.ConsumerConfig{Stream: stream, Group: group, Consumer: "w"}, r.handle, testLogger(t), nil)
	if n, err := c.Poll(context.Background()); err != nil || n != 0 {
		t.Fatalf("Poll on a missing stream = %d, %v", n, err)
	}
	// The stream was deleted under a running consumer (FLUSHALL, manual DEL): it recovers.
	if err := rdb.Del(context.Background(), stream).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: []any{"m", "x"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Poll(context.Background()); err != nil || n != 1 {
		t.Fatalf("Poll after the stream was recreated = %d, %v", n, err)
	}
}

func TestConsumerRunStopsPromptly(t *testing.T) {
	s := newStreamEnv(t)
	handled := make(chan string, 10)
	h := func(_ context.Context, e store.Entry) error { handled <- e.ID; return nil }
	const block = 500 * time.Millisecond
	c := s.consumer("w1", h, nil, func(cfg *store.ConsumerConfig) { cfg.Block = block })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	// A blocking Run picks up an entry written while it waits.
	id := s.add(1)[0]
	select {
	case got := <-handled:
		if got != id {
			t.Fatalf("handled %s, want %s", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not handle a new entry")
	}

	// Shutdown: Run is (most likely) inside a blocking XREADGROUP; it must return within one Block.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v, want nil on cancel", err)
		}
	case <-time.After(block + time.Second):
		t.Fatalf("Run did not return within Block+1s of cancel")
	}
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending after Run: %+v", p)
	}
}

// A handler that runs longer than ReclaimIdle (a send retrying a slow channel) keeps its
// entry: another consumer must not reclaim it and run it a second time meanwhile.
func TestConsumerSlowHandlerKeepsItsEntry(t *testing.T) {
	s := newStreamEnv(t)
	ids := s.add(1)
	const idle = 300 * time.Millisecond
	short := func(c *store.ConsumerConfig) { c.ReclaimIdle = idle }
	var other recorder
	b := s.consumer("b", other.handle, nil, short)
	calls := 0
	slow := func(ctx context.Context, e store.Entry) error {
		calls++
		// Real time, not a timer of ours: Redis measures the entry's idle time itself.
		for start := time.Now(); time.Since(start) < 4*idle; {
			s.poll(b)
			time.Sleep(idle / 10)
		}
		return nil
	}
	a := s.consumer("a", slow, nil, short)
	if n := s.poll(a); n != 1 || calls != 1 {
		t.Fatalf("slow consumer handled %d (%d calls), want 1", n, calls)
	}
	if got := other.seen(); len(got) != 0 {
		t.Fatalf("entry %v was reclaimed and handled again while its first handler was still running", got)
	}
	if p := s.pending(); len(p) != 0 {
		t.Fatalf("pending after the slow handler finished: %+v (want %s acknowledged)", p, ids[0])
	}
}

func TestPruneConsumersKeepsThoseWithPendingWork(t *testing.T) {
	ctx := context.Background()
	rdb, keys := newRedis(t)
	stream := keys.Core("prune")
	if err := store.EnsureGroup(ctx, rdb, stream, "g"); err != nil {
		t.Fatal(err)
	}
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"m": "1"}})
	// "busy" reads the entry and never acks it; "done" exists and has nothing pending.
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "busy", Streams: []string{stream, ">"}, Count: 1, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XGroupCreateConsumer(ctx, stream, "g", "done").Err(); err != nil {
		t.Fatal(err)
	}
	// An idle threshold below zero treats every consumer as idle (Redis measures idle time itself).
	n, err := store.PruneConsumers(ctx, rdb, stream, "g", -1)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	cs := rdb.XInfoConsumers(ctx, stream, "g").Val()
	if len(cs) != 1 || cs[0].Name != "busy" || cs[0].Pending != 1 {
		t.Fatalf("consumers left: %+v", cs)
	}
	if n, err := store.PruneConsumers(ctx, rdb, keys.Core("nostream"), "g", -1); err != nil || n != 0 {
		t.Fatalf("missing stream: %d %v", n, err)
	}
}
