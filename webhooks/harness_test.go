package webhooks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// t0 is a Wednesday 10:00 UTC.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// testSecret is the spec's test-vector secret; testSecret2 another valid one (rotation).
const (
	testSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	testSecret2 = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tMTIzNA=="
)

// leads is the lead store the deliveries read: a stand-in for router.Desk.Conversation
// (the app test reads through the real router).
type leads struct {
	mu sync.Mutex
	m  map[int64]*router.Conversation
}

func (l *leads) Conversation(_ context.Context, id int64) (*router.Conversation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.m[id]
	if !ok {
		return nil, router.ErrNotFound
	}
	cp := *c
	return &cp, nil
}

func (l *leads) erase(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, id)
}

// alerts records channels.Alerter calls.
type alerts struct {
	mu   sync.Mutex
	list []string
}

func (a *alerts) Alert(_ context.Context, channel, account, reason string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, channel+"/"+account+": "+reason)
	return nil
}

func (a *alerts) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.list...)
}

// request is one request a receiver got.
type request struct {
	Header http.Header
	Body   []byte
}

// receiver is an httptest endpoint answering with a programmable function.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []request
	answer func(n int, w http.ResponseWriter) // n: 1-based request number
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{answer: func(int, http.ResponseWriter) {}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{Header: r.Header.Clone(), Body: b})
		n, answer := len(rc.reqs), rc.answer
		rc.mu.Unlock()
		answer(n, w)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setAnswer(f func(n int, w http.ResponseWriter)) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// status answers every request with code.
func status(code int) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) { w.WriteHeader(code) }
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// harness is one outbox on the test Redis with a fresh prefix, a fake clock and receivers.
type harness struct {
	t      *testing.T
	ctx    context.Context
	rdb    *redis.Client
	keys   store.Keys
	clock  *clock.Fake
	leads  *leads
	alerts *alerts
	reg    *prometheus.Registry
	cfg    Config
	svc    *Service
	rand   float64
}

// newHarness builds a service for endpoints (Defaults applied to cfg; jitter 0 unless the
// test sets h.rand).
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	rdb, prefix := redistest.New(t)
	h := &harness{t: t, ctx: context.Background(), rdb: rdb, keys: store.NewKeys(prefix), clock: clock.NewFake(t0),
		alerts: &alerts{}, reg: prometheus.NewRegistry(),
		leads: &leads{m: map[int64]*router.Conversation{
			7: {ID: 7, Channel: "telegram", Name: "Ivan Petrov", Phone: "+79161234567", Email: "ivan@example.com",
				Source: "winter", Qualification: "hot", ManagerID: "anna"},
		}}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h.cfg = cfg
	h.svc = h.newService("test-1")
	return h
}

// newService is another gateway instance on the same outbox.
func (h *harness) newService(instance string) *Service {
	h.t.Helper()
	s, err := New(h.cfg, Deps{Redis: h.rdb, Keys: h.keys, Leads: h.leads, Clock: h.clock, Registerer: h.reg,
		Alerter: h.alerts, Instance: instance, Rand: func() float64 { return h.rand }})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// endpointCfg is an endpoint for url taking events (all when none).
func endpointCfg(id, url string, events ...string) Endpoint {
	return Endpoint{ID: id, URL: url, Secret: testSecret, Events: events}
}

// xadd appends a timeline entry in the router's shape (lua/lib.lua timeline()).
func (h *harness) xadd(conv int64, stage, manager, extra string) string {
	h.t.Helper()
	id, err := h.rdb.XAdd(h.ctx, &redis.XAddArgs{Stream: router.TimelineStream(h.keys), Values: []any{
		"c", strconv.FormatInt(conv, 10), "s", stage, "m", manager, "x", extra,
		"at", strconv.FormatInt(h.clock.Now().UnixMilli(), 10)}}).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

func (h *harness) poll() int {
	h.t.Helper()
	n, err := h.svc.Poll(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) deliver() int {
	h.t.Helper()
	n, err := h.svc.Deliver(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// due is the score (due time) of an item in an endpoint's outbox, zero if absent.
func (h *harness) due(ep, id string) time.Time {
	h.t.Helper()
	s, err := h.rdb.ZScore(h.ctx, newKeys(h.keys).due(ep), id).Result()
	if err == redis.Nil {
		return time.Time{}
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return time.UnixMilli(int64(s)).UTC()
}

func (h *harness) itemField(ep, id, field string) string {
	h.t.Helper()
	v, _ := h.rdb.HGet(h.ctx, newKeys(h.keys).item(ep, id), field).Result()
	return v
}

func (h *harness) deadIDs(ep string) []string {
	h.t.Helper()
	v, err := h.rdb.ZRange(h.ctx, newKeys(h.keys).dead(ep), 0, -1).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// metric is the value of one series of the harness's registry.
func (h *harness) metric(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }
