package router_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// t0 is a Wednesday 10:00 UTC: inside the default test shifts.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type env struct {
	t       *testing.T
	ctx     context.Context
	rdb     *redis.Client
	keys    store.Keys
	clock   *clock.Fake
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	ingest  *store.Ingest
	r       *router.Router
	sender  *fakeSender
	events  *eventLog
	seq     int
}

type opts struct {
	cfg       router.Config
	managers  []router.Manager
	tpl       router.Templates
	locale    *locale.Catalogue                    // nil: English with tpl adopted
	custLang  func(channel, account string) string // customer language per account
	qualify   *qualify.Config
	noSender  bool
	instance  string
	shareWith *env                                       // second instance on the same Redis/prefix/clock
	sleep     func(context.Context, time.Duration) error // send backoff; nil = return at once
	funnel    *router.FunnelLabels                       // count the funnel metrics (on reg)
	sales     *router.SalesConfig                        // the sales: section (nil: defaults)
}

func managers(ids ...string) []router.Manager {
	var ms []router.Manager
	for _, id := range ids {
		ms = append(ms, router.Manager{ID: id, Capacity: 2})
	}
	return ms
}

func newEnv(t *testing.T, o opts) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), sender: &fakeSender{}, events: &eventLog{}}
	if o.shareWith != nil {
		e.rdb, e.keys, e.clock = o.shareWith.rdb, o.shareWith.keys, o.shareWith.clock
	} else {
		rdb, prefix := redistest.New(t)
		e.rdb, e.keys, e.clock = rdb, store.NewKeys(prefix), clock.NewFake(t0)
	}
	if o.managers == nil {
		o.managers = managers("anna", "boris", "carl")
	}
	ids := []string{}
	for _, m := range o.managers {
		ids = append(ids, m.ID)
	}
	e.reg = prometheus.NewRegistry()
	e.metrics = metrics.New(e.reg, ids)
	var fm *router.FunnelMetrics
	if o.funnel != nil {
		fm = router.NewFunnelMetrics(e.reg, *o.funnel)
	}
	var q qualify.Qualifier
	if o.qualify != nil {
		rules, err := qualify.NewRules(*o.qualify)
		if err != nil {
			t.Fatal(err)
		}
		q = rules
	}
	if o.instance == "" {
		o.instance = "test"
	}
	if o.sleep == nil {
		o.sleep = func(context.Context, time.Duration) error { return nil }
	}
	log := testlog.Logger()
	r, err := router.New(o.cfg, o.managers, o.tpl, router.Deps{Redis: e.rdb, Keys: e.keys, Clock: e.clock, Log: log,
		Metrics: e.metrics, Qualifier: q, Instance: o.instance,
		Sleep: o.sleep, Locale: o.locale, CustomerLocale: o.custLang, Funnel: fm, Sales: o.sales})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.MustRegister(r.Collector())
	if !o.noSender {
		for _, ch := range []string{channels.Telegram, channels.Instagram, channels.WhatsAppCloud} {
			r.RegisterSender(ch, e.sender)
		}
	}
	r.AddNotifier(e.events)
	e.r = r
	e.ingest = store.NewIngest(e.rdb, e.keys, e.clock, e.metrics)
	return e
}

// inbound ingests one customer message and settles the router.
func (e *env) inbound(contact, text string) {
	e.t.Helper()
	e.seq++
	e.ingestMsg(channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: contact + "-" + itoa(e.seq),
		ContactID: contact, DisplayName: "Customer " + contact, Text: text})
}

func (e *env) ingestMsg(in channels.Inbound) {
	e.t.Helper()
	if _, err := e.ingest.Ingest(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
	e.settle()
}

func (e *env) settle() {
	e.t.Helper()
	if err := e.r.Settle(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) advance(d time.Duration) {
	e.t.Helper()
	e.clock.Advance(d)
	e.settle()
}

func (e *env) online(ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		if err := e.r.SetOnline(e.ctx, id, true); err != nil {
			e.t.Fatal(err)
		}
	}
	e.settle()
}

func (e *env) conv(id int64) *router.Conversation {
	e.t.Helper()
	c, err := e.r.Conversation(e.ctx, id)
	if err != nil {
		e.t.Fatalf("conversation %d: %v", id, err)
	}
	return c
}

func itoa(i int) string { return strconv.Itoa(i) }

// fakeSender records sends; fail decides the outcome per message.
type fakeSender struct {
	mu   sync.Mutex
	sent []channels.Outbound
	fail func(channels.Outbound) error
}

func (s *fakeSender) Send(_ context.Context, out channels.Outbound) (channels.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(out); err != nil {
			return channels.SendResult{}, err
		}
	}
	s.sent = append(s.sent, out)
	return channels.SendResult{ChannelMessageID: "tg-" + out.ID}, nil
}

func (s *fakeSender) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var k []string
	for _, o := range s.sent {
		k = append(k, o.Kind)
	}
	return k
}

func (s *fakeSender) last() channels.Outbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sent) == 0 {
		return channels.Outbound{}
	}
	return s.sent[len(s.sent)-1]
}

// eventLog is a Notifier recording events.
type eventLog struct {
	mu  sync.Mutex
	evs []router.Event
}

func (l *eventLog) Notify(_ context.Context, ev router.Event) error {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
	return nil
}

// of returns "type:manager" strings of events for a conversation (0 = all).
func (l *eventLog) of(conv int64) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.evs {
		if conv == 0 || ev.ConversationID == conv {
			s := ev.Type
			if ev.ManagerID != "" {
				s += ":" + ev.ManagerID
			}
			if ev.Reason != "" {
				s += "(" + ev.Reason + ")"
			}
			out = append(out, s)
		}
	}
	return out
}
