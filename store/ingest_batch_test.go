package store

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
)

// One run of ingest.lua handles its items in order, each as if alone: an item whose
// marker an earlier item of the same run set is a duplicate of that item's entry.
func TestIngestScriptBatchInOrder(t *testing.T) {
	rdb, prefix := redistest.New(t)
	k := NewKeys(prefix)
	ctx := context.Background()
	items := []ingestItem{
		{Marker: k.Dedupe("form", "default", "a"), TTL: 60_000, Payload: []byte(`{"n":"a"}`)},
		{Marker: k.Dedupe("form", "default", "b"), TTL: 60_000, Payload: []byte(`{"n":"b"}`)},
		{Marker: k.Dedupe("form", "default", "a"), TTL: 60_000, Payload: []byte(`{"n":"a again"}`)},
		{Marker: k.Dedupe("form", "default", "c"), TTL: 1, Payload: []byte(`{"n":"c"}`)},
	}
	keys, argv := ingestRun(k, items)
	if len(keys) != 5 || keys[0] != k.Inbound() || len(argv) != 8 || argv[0] != "60000" || argv[7] == nil {
		t.Fatalf("KEYS %v, ARGV %d values", keys, len(argv))
	}
	res, err := ingestScript.Run(ctx, rdb, keys, argv...).Slice()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 8 {
		t.Fatalf("answer %v, want 8 values", res)
	}
	dups := []int64{res[1].(int64), res[3].(int64), res[5].(int64), res[7].(int64)}
	if dups[0] != 0 || dups[1] != 0 || dups[2] != 1 || dups[3] != 0 {
		t.Fatalf("duplicate flags %v, want [0 0 1 0]", dups)
	}
	if res[4] != res[0] {
		t.Fatalf("the repeated item answered %v, want the first one's entry %v", res[4], res[0])
	}
	entries, err := rdb.XRange(ctx, k.Inbound(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, e := range entries {
		got = append(got, e.Values["m"].(string))
		if want := res[[]int{0, 2, 6}[i]]; e.ID != want {
			t.Errorf("entry %d id %s, answered %v", i, e.ID, want)
		}
	}
	if strings.Join(got, " ") != `{"n":"a"} {"n":"b"} {"n":"c"}` {
		t.Fatalf("stream holds %v, want a, b, c in order", got)
	}
	if id, _ := rdb.Get(ctx, items[0].Marker).Result(); id != res[0] {
		t.Fatalf("marker of a = %q, want %v", id, res[0])
	}
}

// A run that fails part-way fails as a whole for its callers (each answers an error and
// its sender retries), and what it stored before the failure is found by the retry as a
// duplicate of the stored entry: at least once, never twice.
func TestIngestScriptErrorPartWay(t *testing.T) {
	rdb, prefix := redistest.New(t)
	k := NewKeys(prefix)
	ctx := context.Background()
	good := ingestItem{Marker: k.Dedupe("form", "default", "good"), TTL: 60_000, Payload: []byte(`{"n":"good"}`)}
	// A marker key of the wrong type makes the script's GET fail on the second item.
	bad := ingestItem{Marker: k.Dedupe("form", "default", "bad"), TTL: 60_000, Payload: []byte(`{"n":"bad"}`)}
	if err := rdb.HSet(ctx, bad.Marker, "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	keys, argv := ingestRun(k, []ingestItem{good, bad})
	if err := ingestScript.Run(ctx, rdb, keys, argv...).Err(); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("run with a broken marker: %v, want WRONGTYPE", err)
	}
	first, err := rdb.XRange(ctx, k.Inbound(), "-", "+").Result()
	if err != nil || len(first) != 1 {
		t.Fatalf("stream after the failed run: %v %v, want the first item only", first, err)
	}
	keys, argv = ingestRun(k, []ingestItem{good})
	res, err := ingestScript.Run(ctx, rdb, keys, argv...).Slice()
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != first[0].ID || res[1].(int64) != 1 {
		t.Fatalf("retry answered %v, want a duplicate of %s", res, first[0].ID)
	}
	if n := rdb.XLen(ctx, k.Inbound()).Val(); n != 1 {
		t.Fatalf("stream has %d entries after the retry, want 1", n)
	}
}

// Through Ingest: when a run fails every caller of that run gets the error, and none is
// left waiting.
func TestIngestRunErrorReachesEveryCaller(t *testing.T) {
	rdb, prefix := redistest.New(t)
	k := NewKeys(prefix)
	ctx := context.Background()
	// The inbound stream is a string: every XADD fails.
	if err := rdb.Set(ctx, k.Inbound(), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	g := NewIngest(rdb, k, clock.Real{}, nil)
	const n = 50
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := g.Ingest(ctx, channels.Inbound{Channel: channels.Form, Account: "default",
				MessageID: "m" + strconv.Itoa(i), ContactID: "+79160000000", Text: "call me"})
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
			t.Fatalf("call %d: %v, want the WRONGTYPE error", i, err)
		}
	}
}

// Many concurrent calls, more than one run holds, some repeating each other: every item is
// stored once, every repeat answers the stored entry, whatever runs the calls fell into.
func TestIngestConcurrentRunsStoreEachItemOnce(t *testing.T) {
	rdb, prefix := redistest.New(t)
	k := NewKeys(prefix)
	ctx := context.Background()
	g := NewIngest(rdb, k, clock.Real{}, nil)
	const distinct, copies = 3 * ingestBatch, 3
	type answer struct {
		i   int
		res channels.IngestResult
		err error
	}
	answers := make(chan answer, distinct*copies)
	for c := 0; c < copies; c++ {
		for i := 0; i < distinct; i++ {
			go func() {
				res, err := g.Ingest(ctx, testLead(i))
				answers <- answer{i, res, err}
			}()
		}
	}
	ids := map[int]string{}
	stored := map[int]int{}
	for n := 0; n < distinct*copies; n++ {
		a := <-answers
		if a.err != nil {
			t.Fatalf("item %d: %v", a.i, a.err)
		}
		if id, ok := ids[a.i]; ok && id != a.res.EntryID {
			t.Fatalf("item %d answered entries %s and %s", a.i, id, a.res.EntryID)
		}
		ids[a.i] = a.res.EntryID
		if !a.res.Duplicate {
			stored[a.i]++
		}
	}
	for i := 0; i < distinct; i++ {
		if stored[i] != 1 {
			t.Fatalf("item %d stored %d times, want once", i, stored[i])
		}
	}
	entries, err := rdb.XRange(ctx, k.Inbound(), "-", "+").Result()
	if err != nil || len(entries) != distinct {
		t.Fatalf("stream: %d entries (%v), want %d", len(entries), err, distinct)
	}
	for _, e := range entries {
		var in channels.Inbound
		if err := json.Unmarshal([]byte(e.Values["m"].(string)), &in); err != nil {
			t.Fatal(err)
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(in.MessageID, "m"))
		if ids[i] != e.ID || in.Text != "lead "+strconv.Itoa(i) {
			t.Fatalf("entry %s holds item %d (%q), answered %s", e.ID, i, in.Text, ids[i])
		}
	}
}

// lingerRecorder is Ingest.sleep for the linger tests: it records each wait and holds the
// waiting flusher until released.
type lingerRecorder struct {
	waits   chan time.Duration
	release chan struct{}
}

func newLingerRecorder() *lingerRecorder {
	return &lingerRecorder{waits: make(chan time.Duration, 16), release: make(chan struct{})}
}

func (l *lingerRecorder) sleep(d time.Duration) {
	l.waits <- d
	<-l.release
}

// queued waits (yielding, bounded) until n calls are queued.
func queued(t *testing.T, g *Ingest, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		q := len(g.queue)
		g.mu.Unlock()
		if q >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", q, n)
		}
		runtime.Gosched()
	}
}

// testLead is form lead i: message id m<i>, contact c<i>, text "lead <i>".
func testLead(i int) channels.Inbound {
	return channels.Inbound{Channel: channels.Form, Account: "default",
		MessageID: "m" + strconv.Itoa(i), ContactID: "c" + strconv.Itoa(i), Text: "lead " + strconv.Itoa(i)}
}

func ingestLead(ctx context.Context, g *Ingest, i int, errs chan<- error) {
	_, err := g.Ingest(ctx, testLead(i))
	errs <- err
}

// A call with no round trip in flight goes at once: no linger.
func TestIngestLoneCallDoesNotLinger(t *testing.T) {
	rdb, prefix := redistest.New(t)
	g := NewIngest(rdb, NewKeys(prefix), clock.Real{}, nil)
	l := newLingerRecorder()
	g.sleep = l.sleep
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ { // one after the other: each finds nothing in flight
		ingestLead(context.Background(), g, i, errs)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(l.waits) != 0 {
		t.Fatalf("%d lingers for lone calls, want none", len(l.waits))
	}
}

// While the other round trip is in flight a new flusher lingers once, and the calls that
// arrive meanwhile go in its run (one linger: the run carried them all); a flusher that
// finds lingerBelow calls or more queued does not linger.
func TestIngestLingersWhileARoundTripIsInFlight(t *testing.T) {
	rdb, prefix := redistest.New(t)
	k := NewKeys(prefix)
	ctx := context.Background()
	g := NewIngest(rdb, k, clock.Real{}, nil)
	l := newLingerRecorder()
	g.sleep = l.sleep

	g.mu.Lock()
	g.flushers, g.inFlight = 1, 1 // a round trip of another flusher is in flight
	g.mu.Unlock()
	const first = lingerBelow + 7
	errs := make(chan error, 2*first)
	go ingestLead(ctx, g, 0, errs) // becomes the second flusher: lingers
	select {
	case d := <-l.waits:
		if d != lingerFor {
			t.Fatalf("lingered %v, want %v", d, lingerFor)
		}
	case err := <-errs:
		t.Fatalf("the call went without lingering (%v)", err)
	}
	for i := 1; i < first; i++ { // arrive while it lingers: both flushers busy, they queue
		go ingestLead(ctx, g, i, errs)
	}
	queued(t, g, first)
	close(l.release)
	for i := 0; i < first; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(l.waits); n != 0 {
		t.Fatalf("%d more lingers: the calls did not all go in the lingering flusher's run", n)
	}

	// Both round trips in flight; lingerBelow calls queue; a flusher that then takes them
	// finds enough and goes at once.
	l.waits = make(chan time.Duration, 16)
	g.mu.Lock()
	g.flushers, g.inFlight = 2, 2
	g.mu.Unlock()
	for i := first; i < first+lingerBelow; i++ {
		go ingestLead(ctx, g, i, errs)
	}
	queued(t, g, lingerBelow)
	g.mu.Lock()
	g.inFlight-- // one of the two round trips is answered and its flusher carries the queue
	g.mu.Unlock()
	g.flush(ctx)
	for i := 0; i < lingerBelow; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(l.waits); n != 0 {
		t.Fatalf("lingered %d times with %d calls queued, want none", n, lingerBelow)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.flushers != 1 || g.inFlight != 1 || len(g.queue) != 0 {
		t.Fatalf("flushers %d, in flight %d, queue %d after the run; want the other in-flight one, nothing queued", g.flushers, g.inFlight, len(g.queue))
	}
	if n, err := rdb.XLen(ctx, k.Inbound()).Result(); err != nil || n != first+lingerBelow {
		t.Fatalf("stream holds %d entries (%v), want %d", n, err, first+lingerBelow)
	}
}

// A flusher that starts while the other one only lingers (nothing sent, nothing in flight)
// goes at once: two flushers never wait for each other while Redis idles.
func TestIngestNoLingerWithoutARoundTripInFlight(t *testing.T) {
	rdb, prefix := redistest.New(t)
	g := NewIngest(rdb, NewKeys(prefix), clock.Real{}, nil)
	l := newLingerRecorder()
	g.sleep = l.sleep
	g.mu.Lock()
	g.flushers = 1 // another flusher is at work, but has sent nothing
	g.mu.Unlock()
	errs := make(chan error, 1)
	ingestLead(context.Background(), g, 0, errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if len(l.waits) != 0 {
		t.Fatalf("lingered with nothing in flight")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.flushers != 1 || g.inFlight != 0 {
		t.Fatalf("flushers %d, in flight %d after the call; want 1, 0", g.flushers, g.inFlight)
	}
}
