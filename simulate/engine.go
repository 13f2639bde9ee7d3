package simulate

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// Backend gives every simulated run a fresh, private Redis state.
type Backend struct {
	url    string
	client *redis.Client
}

// NewBackend: url "" or "embedded" starts an embedded in-memory server per run; a redis://
// URL shares that server, each run under its own key prefix, deleted afterwards.
func NewBackend(url string) (*Backend, error) {
	b := &Backend{url: url}
	if url == "" || url == store.Embedded {
		b.url = store.Embedded
		return b, nil
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("--redis: not a redis:// URL")
	}
	b.client = redis.NewClient(opt)
	return b, nil
}

// Close closes the shared client, if any.
func (b *Backend) Close() error {
	if b.client != nil {
		return b.client.Close()
	}
	return nil
}

func (b *Backend) open(ctx context.Context) (redis.UniversalClient, store.Keys, func(), error) {
	if b.client == nil {
		cfg := store.Config{URL: store.Embedded, Prefix: "sim"}
		cfg.Defaults()
		conn, err := store.Open(ctx, cfg, discardLog())
		if err != nil {
			return nil, store.Keys{}, nil, err
		}
		return conn.Client, conn.Keys, func() { _ = conn.Close() }, nil
	}
	rb := make([]byte, 6)
	_, _ = rand.Read(rb)
	prefix := "sim" + hex.EncodeToString(rb)
	cleanup := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, pat := range []string{"{" + prefix + "}*", "{" + prefix + ":*"} {
			iter := b.client.Scan(dctx, 0, pat, 1000).Iterator()
			var batch []string
			for iter.Next(dctx) {
				batch = append(batch, iter.Val())
				if len(batch) == 500 {
					_ = b.client.Unlink(dctx, batch...).Err()
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				_ = b.client.Unlink(dctx, batch...).Err()
			}
		}
	}
	if err := b.client.Ping(ctx).Err(); err != nil {
		return nil, store.Keys{}, nil, fmt.Errorf("redis does not answer: %w", err)
	}
	return b.client, store.NewKeys(prefix), cleanup, nil
}

func salesCfgPtr(sv *salesVariant) *router.SalesConfig {
	if sv == nil {
		return nil
	}
	c := sv.cfg
	return &c
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// variant is one router set-up run on the scenario's leads.
type variant struct {
	name       string
	cfg        router.Config
	assignOnce bool
	team       []simManager
	sales      *salesVariant // nil: the first tier only
}

type simManager struct {
	m      router.Manager
	breaks []router.Shift
	b      Behaviour
}

func (sc *Scenario) team() []simManager {
	var out []simManager
	ms := sc.Leads.managers(sc.loc)
	i := 0
	for _, mem := range sc.Leads.Roster {
		b := sc.Leads.Behaviour.merge(mem.Behaviour)
		breaks := append([]router.Shift(nil), mem.Breaks...)
		for k := range breaks {
			if breaks[k].TimeZone == "" {
				breaks[k].TimeZone = sc.loc.String()
			}
		}
		// compile the breaks (in place) in their time zone; validated already
		_ = router.ValidateManagers([]router.Manager{{ID: "breaks", Role: router.RoleLead, Capacity: 1, Weight: 1, Shifts: breaks}})
		for range mem.ids() {
			out = append(out, simManager{m: ms[i], breaks: breaks, b: b})
			i++
		}
	}
	return out
}

// action kinds
const (
	actArrive = iota
	actPresence
	actNotice
	actReply
	actClose
)

type action struct {
	at     time.Time
	seq    int64
	kind   int
	lead   int
	mgr    int
	conv   int64
	online bool
	sseq   int64 // sales actions: the sales offer they answer
}

type actionHeap []action

func (h actionHeap) Len() int { return len(h) }
func (h actionHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h actionHeap) Swap(i, j int)    { h[i], h[j] = h[j], h[i] }
func (h *actionHeap) Push(x any)      { *h = append(*h, x.(action)) }
func (h *actionHeap) Pop() any        { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }
func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any          { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }

type timeHeap []time.Time

// lead states as the simulator tracks them from the router's events
const (
	lsNone = iota
	lsWaiting
	lsOffered
	lsAssigned
	lsClosed
)

type mgrTrack struct {
	online   bool
	assigned int
	since    time.Time // last integration point
	onlineD  time.Duration
	busyD    time.Duration // online with at least one assigned conversation
	loadD    float64       // integral of assigned/capacity over online time (seconds)
	offers   int
	ignored  int
	accepted int
	handled  int
}

type queuePoint struct {
	at time.Time
	n  int
}

// runResult is one simulated run.
type runResult struct {
	leads       []leadResult
	mgrs        []mgrResult
	queue       []queuePoint
	lapsed      int // offers not accepted in time (offer_timeout breaches)
	noReply     int // accepted without a first reply in time (first_response breaches)
	escalations int
	offline     int // offers/conversations given back because the manager went offline
	reoffers    int
	lateActions int // a manager acted on something no longer theirs
	instants    int // distinct moments the router was settled at
	steps       int // router Steps (rounds over its streams) in all
	simulated   time.Duration
	wall        time.Duration
	sales       salesCounts
	salesMgrs   []salesResult
}

type leadResult struct {
	Lead
	counted   bool
	answered  bool
	wait      time.Duration
	offers    int
	escalated bool
	// the second tier, from the conversation at the end
	qual                            string
	salesState                      string
	handedAt, acceptedAt, contactAt time.Time
	amount                          float64
}

type mgrResult struct {
	id                        string
	capacity                  int
	online, busy              time.Duration
	load                      float64 // seconds of assigned/capacity
	offers, ignored, accepted int
	handled                   int
}

type sim struct {
	ctx    context.Context
	sc     *Scenario
	v      *variant
	seed   uint64
	clk    *clock.Fake
	r      *router.Router
	ing    *store.Ingest
	rdb    redis.UniversalClient
	timers string
	w      window
	leads  []Lead

	q   actionHeap
	seq int64
	// sawTimer: the timers sorted set was seen non-empty (see checkTimers)
	sawTimer bool
	mu       sync.Mutex
	events   []router.Event

	mgrIdx   map[string]int
	mt       []mgrTrack
	salesIdx map[string]int
	st       []salesTrack
	// returnedClosed: conversations a lead-manager closed after sales returned them
	returnedClosed map[int64]bool
	// salesSeq: each conversation's latest sales offer seq (from the events)
	salesSeq map[int64]int64
	state    []int
	conv     []int64
	convLead map[int64]int
	waiting  int
	res      runResult
}

// simQualifier gives hot leads their priority (the config's rules are not used: the
// simulated texts are not real).
type simQualifier struct{ hot int }

func (q simQualifier) Qualify(_ context.Context, in channels.Inbound) (qualify.Result, error) {
	if in.Meta["sim_hot"] == "1" {
		return qualify.Result{Priority: q.hot, Tags: []string{"hot"}}, nil
	}
	return qualify.Result{}, nil
}

// runOnce simulates the leads under variant v on a fresh Redis state.
func runOnce(ctx context.Context, be *Backend, sc *Scenario, v *variant, leads []Lead, seed uint64) (*runResult, error) {
	began := time.Now()
	rdb, keys, cleanup, err := be.open(ctx)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	w := sc.window()
	s := &sim{ctx: ctx, sc: sc, v: v, seed: seed, rdb: rdb, w: w, leads: leads,
		clk: clock.NewFake(w.start), mgrIdx: map[string]int{}, convLead: map[int64]int{},
		salesIdx: map[string]int{}, returnedClosed: map[int64]bool{}, salesSeq: map[int64]int64{},
		timers: keys.Core("timers")}
	// A private copy of the team (shifts are compiled in place, and runs may go in parallel).
	team := make([]simManager, len(v.team))
	ms := make([]router.Manager, len(v.team))
	ids := make([]string, len(v.team))
	for i, m := range v.team {
		m.m.Shifts = append([]router.Shift(nil), m.m.Shifts...)
		m.breaks = append([]router.Shift(nil), m.breaks...)
		team[i], ms[i], ids[i] = m, m.m, m.m.ID
		s.mgrIdx[m.m.ID] = i
	}
	var sv *salesVariant
	if v.sales != nil {
		sv = &salesVariant{cfg: v.sales.cfg, team: make([]simSales, len(v.sales.team))}
		for i, m := range v.sales.team {
			m.m.Shifts = append([]router.Shift(nil), m.m.Shifts...)
			m.breaks = append([]router.Shift(nil), m.breaks...)
			if len(m.breaks) > 0 {
				_ = router.ValidateManagers([]router.Manager{{ID: "breaks", Role: router.RoleSales, Capacity: 1, Weight: 1, Shifts: m.breaks}})
			}
			sv.team[i] = m
			s.salesIdx[m.m.ID] = i
		}
	}
	if err := router.ValidateManagers(ms); err != nil {
		return nil, fmt.Errorf("lead_managers: %w", err)
	}
	if sv != nil {
		sms := make([]router.Manager, len(sv.team))
		for i := range sv.team {
			sms[i] = sv.team[i].m
		}
		if err := router.ValidateManagers(sms); err != nil {
			return nil, fmt.Errorf("sales: %w", err)
		}
		for i := range sv.team {
			sv.team[i].m = sms[i]
			ms = append(ms, sms[i])
			ids = append(ids, sms[i].ID)
		}
	}
	for i := range team {
		team[i].m = ms[i]
		if len(team[i].breaks) > 0 {
			_ = router.ValidateManagers([]router.Manager{{ID: "breaks", Role: router.RoleLead, Capacity: 1, Weight: 1, Shifts: team[i].breaks}})
		}
	}
	v = &variant{name: v.name, cfg: v.cfg, assignOnce: v.assignOnce, team: team, sales: sv}
	s.v = v
	met := metrics.New(nil, ids)
	s.r, err = router.New(v.cfg, ms, router.Templates{}, router.Deps{Redis: rdb, Keys: keys, Clock: s.clk,
		Log: discardLog(), Metrics: met, Qualifier: simQualifier{hot: sc.Arrivals.HotPriority}, Instance: "sim",
		Sleep: func(context.Context, time.Duration) error { return nil }, Sales: salesCfgPtr(sv)})
	if err != nil {
		return nil, err
	}
	send := channels.SenderFunc(func(_ context.Context, out channels.Outbound) (channels.SendResult, error) {
		return channels.SendResult{ChannelMessageID: out.ID}, nil
	})
	for _, ch := range simChannels {
		if ch != channels.Form {
			s.r.RegisterSender(ch, send)
		}
	}
	s.r.AddNotifier(router.NotifierFunc(func(_ context.Context, ev router.Event) error {
		s.mu.Lock()
		s.events = append(s.events, ev)
		s.mu.Unlock()
		return nil
	}))
	s.ing = store.NewIngest(rdb, keys, s.clk, met)
	s.mt = make([]mgrTrack, len(v.team))
	s.state = make([]int, len(leads))
	s.conv = make([]int64, len(leads))
	for i := range s.mt {
		s.mt[i].since = w.start
	}
	if sv != nil {
		s.st = make([]salesTrack, len(sv.team))
		for i := range s.st {
			s.st[i].since = w.start
		}
	}
	for i, l := range leads {
		s.push(action{at: l.At, kind: actArrive, lead: i})
	}
	s.schedulePresence()
	if err := s.loop(); err != nil {
		return nil, err
	}
	if err := s.collect(); err != nil {
		return nil, err
	}
	// The next timer deadline is read from the router's timers sorted set ({P}:timers, the
	// documented key layout). Offers were made but none was ever seen there: the layout changed
	// and the simulation would never fire a timer, so refuse to report.
	if !s.sawTimer {
		for _, t := range s.mt {
			if t.offers > 0 {
				return nil, fmt.Errorf("the router's timers were never seen at %s: the simulator does not match this router's key layout", s.timers)
			}
		}
	}
	s.res.simulated = w.stop.Sub(w.start)
	s.res.wall = time.Since(began)
	return &s.res, nil
}

func (s *sim) push(a action) {
	s.seq++
	a.seq = s.seq
	heap.Push(&s.q, a)
}

// schedulePresence turns shifts and breaks into SetOnline calls, checked minute by minute.
func (s *sim) schedulePresence() {
	for i := range s.v.team {
		m := &s.v.team[i]
		s.presence(actPresence, i, &m.m, m.breaks)
	}
	if s.v.sales != nil {
		for i := range s.v.sales.team {
			m := &s.v.sales.team[i]
			s.presence(actSalesPresence, i, &m.m, m.breaks)
		}
	}
}

func (s *sim) presence(kind, i int, m *router.Manager, breaks []router.Shift) {
	prev := false
	for t := s.w.start; !t.After(s.w.stop); t = t.Add(time.Minute) {
		on := m.OnShift(t)
		for k := range breaks {
			if breaks[k].Contains(t) {
				on = false
			}
		}
		if on != prev {
			s.push(action{at: t, kind: kind, mgr: i, online: on})
			prev = on
		}
	}
}

func (s *sim) loop() error {
	for {
		if err := s.settle(); err != nil {
			return err
		}
		next, ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok || next.After(s.w.stop) {
			break
		}
		s.clk.Set(next)
		for s.q.Len() > 0 && !s.q[0].at.After(next) {
			a := heap.Pop(&s.q).(action)
			if err := s.do(a); err != nil {
				return err
			}
		}
	}
	s.clk.Set(s.w.stop)
	if err := s.settle(); err != nil {
		return err
	}
	now := s.clk.Now()
	for i := range s.mt {
		s.integrate(i, now)
	}
	for i := range s.st {
		s.salesIntegrate(i, now)
	}
	s.queueAt(now)
	return nil
}

// next is the time of the next thing that can happen: a scheduled action, or a router timer
// (read from the timers sorted set, and derived from offers and acceptances as a fallback).
func (s *sim) next() (time.Time, bool, error) {
	now := s.clk.Now()
	var best time.Time
	ok := false
	consider := func(t time.Time) {
		if !ok || t.Before(best) {
			best, ok = t, true
		}
	}
	if s.q.Len() > 0 {
		consider(s.q[0].at)
	}
	z, err := s.rdb.ZRangeWithScores(s.ctx, s.timers, 0, 0).Result()
	if err != nil {
		return time.Time{}, false, err
	}
	if len(z) == 1 {
		s.sawTimer = true
		if t := time.UnixMilli(int64(z[0].Score)); t.After(now) {
			consider(t)
		}
	}
	return best, ok, nil
}

// settle lets the router finish everything due now, then follows the events it emitted
// (observing only schedules actions; it calls nothing on the router).
func (s *sim) settle() error {
	s.res.instants++
	for i := 0; ; i++ {
		n, err := s.r.Step(s.ctx)
		if err != nil {
			return err
		}
		s.res.steps++
		if n == 0 {
			break
		}
		if i == 1000 {
			return fmt.Errorf("the router did not settle after 1000 steps")
		}
	}
	s.mu.Lock()
	evs := s.events
	s.events = nil
	s.mu.Unlock()
	for _, ev := range evs {
		s.observe(ev)
	}
	return nil
}

func (s *sim) integrate(i int, now time.Time) {
	t := &s.mt[i]
	d := now.Sub(t.since)
	if d > 0 && t.online {
		t.onlineD += d
		if t.assigned > 0 {
			t.busyD += d
		}
		c := float64(s.v.team[i].m.Capacity)
		t.loadD += d.Seconds() * minf(float64(t.assigned), c) / c
	}
	t.since = now
}

func minf(a, b float64) float64 {
	if a < b {
		return a
	}
	return b
}

func (s *sim) queueAt(now time.Time) {
	if n := len(s.res.queue); n > 0 && s.res.queue[n-1].at.Equal(now) {
		s.res.queue[n-1].n = s.waiting
		return
	}
	s.res.queue = append(s.res.queue, queuePoint{at: now, n: s.waiting})
}

func (s *sim) setState(lead, st int) {
	old := s.state[lead]
	if old == st {
		return
	}
	if old == lsWaiting {
		s.waiting--
	}
	if st == lsWaiting {
		s.waiting++
	}
	s.state[lead] = st
	s.queueAt(s.clk.Now())
}

// observe follows one router event.
func (s *sim) observe(ev router.Event) {
	now := s.clk.Now()
	lead, ok := s.convLead[ev.ConversationID]
	if !ok && ev.Conversation != nil {
		if n, err := strconv.Atoi(strings.TrimPrefix(ev.Conversation.ContactID, "c")); err == nil && n >= 0 && n < len(s.leads) {
			lead, ok = n, true
			s.convLead[ev.ConversationID] = n
			s.conv[n] = ev.ConversationID
		}
	}
	mi, isMgr := s.mgrIdx[ev.ManagerID]
	if isMgr {
		s.integrate(mi, now)
	}
	switch ev.Type {
	case router.EventSalesOffer, router.EventSalesOfferWithdrawn, router.EventSalesAccepted, router.EventSalesReturned:
		if !ok {
			lead = -1
		}
		s.observeSales(ev, lead)
		return
	case router.EventOffer:
		if !ok || !isMgr {
			return
		}
		s.setState(lead, lsOffered)
		s.mt[mi].offers++
		b := s.v.team[mi].b
		r := stream(s.seed, "offer", lead, ev.OfferSeq, ev.ManagerID)
		if r.Float64() < *b.Ignore {
			s.mt[mi].ignored++
			if b.Recheck.IsSet() {
				s.push(action{at: now.Add(b.Recheck.Sample(r)), kind: actNotice, lead: lead, mgr: mi, conv: ev.ConversationID})
			}
			return
		}
		s.push(action{at: now.Add(b.Notice.Sample(r)), kind: actNotice, lead: lead, mgr: mi, conv: ev.ConversationID})
	case router.EventOfferWithdrawn:
		if ok && s.state[lead] == lsOffered {
			s.setState(lead, lsWaiting)
		}
		switch ev.Reason {
		case "lapsed":
			s.res.lapsed++
		case "offline":
			s.res.offline++
		}
	case router.EventAssigned:
		if ok {
			s.setState(lead, lsAssigned)
		}
		if isMgr {
			s.mt[mi].assigned++
			s.mt[mi].accepted++
		}
	case router.EventReleased:
		if ok {
			s.setState(lead, lsWaiting)
		}
		if isMgr && s.mt[mi].assigned > 0 {
			s.mt[mi].assigned--
		}
		switch ev.Reason {
		case "no_reply":
			s.res.noReply++
		case "offline":
			s.res.offline++
		}
	case router.EventClosed:
		if ok {
			s.setState(lead, lsClosed)
		}
		if isMgr && s.mt[mi].assigned > 0 {
			s.mt[mi].assigned--
			if !s.returnedClosed[ev.ConversationID] {
				s.mt[mi].handled++
			}
		}
	case router.EventEscalation:
		switch {
		case s.inSales(ev):
			s.res.sales.escalations++
		case ev.ConversationID > 0:
			s.res.escalations++
		}
	}
}

// expected reports whether err is a manager acting on something no longer theirs.
func expected(err error) bool {
	return errors.Is(err, router.ErrNotYours) || errors.Is(err, router.ErrConflict) || errors.Is(err, router.ErrNotFound)
}

func (s *sim) do(a action) error {
	if a.kind >= actSalesPresence {
		return s.doSales(a)
	}
	now := s.clk.Now()
	ctx := s.ctx
	switch a.kind {
	case actArrive:
		l := s.leads[a.lead]
		meta := map[string]string{}
		if l.Hot {
			meta["sim_hot"] = "1"
		}
		if l.Tourist {
			meta["sim_tourist"] = "1"
		}
		in := channels.Inbound{Channel: l.Channel, Account: "sim", MessageID: "m" + strconv.Itoa(a.lead),
			ContactID: "c" + strconv.Itoa(a.lead), DisplayName: "Lead " + strconv.Itoa(a.lead),
			Text: "Hello, how much is it?", Meta: meta, ReceivedAt: now}
		if _, err := s.ing.Ingest(ctx, in); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		s.setState(a.lead, lsWaiting)
	case actPresence:
		s.integrate(a.mgr, now)
		s.mt[a.mgr].online = a.online
		return s.r.SetOnline(ctx, s.v.team[a.mgr].m.ID, a.online)
	case actNotice:
		id := s.v.team[a.mgr].m.ID
		if err := s.r.Accept(ctx, a.conv, id); err != nil {
			if expected(err) {
				s.res.lateActions++
				return nil
			}
			return err
		}
		r := stream(s.seed, "reply", a.lead, id)
		s.push(action{at: now.Add(s.v.team[a.mgr].b.Reply.Sample(r)), kind: actReply, lead: a.lead, mgr: a.mgr, conv: a.conv})
	case actReply:
		id := s.v.team[a.mgr].m.ID
		var err error
		if s.leads[a.lead].Channel == channels.Form {
			err = s.r.MarkContacted(ctx, a.conv, id)
		} else {
			_, err = s.r.Reply(ctx, a.conv, id, "Hello! Thank you for writing to us.", nil)
		}
		if err != nil {
			if expected(err) {
				s.res.lateActions++
				return nil
			}
			return err
		}
		b := s.v.team[a.mgr].b
		d := b.Handling
		if s.leads[a.lead].Tourist {
			d = b.TouristHandling
		}
		r := stream(s.seed, "handling", a.lead)
		s.push(action{at: now.Add(d.Sample(r)), kind: actClose, lead: a.lead, mgr: a.mgr, conv: a.conv})
	case actClose:
		id := s.v.team[a.mgr].m.ID
		l := s.leads[a.lead]
		var err error
		switch {
		case l.Tourist:
			err = s.r.Qualify(ctx, a.conv, id, router.QualTourist)
		default:
			level := router.QualWarm
			if l.Hot {
				level = router.QualHot
			}
			if s.v.sales.handsOff(level) {
				return s.handoff(a, level)
			}
			if err = s.r.Qualify(ctx, a.conv, id, level); err == nil {
				err = s.r.Close(ctx, a.conv, id)
			}
		}
		if err != nil && !expected(err) {
			return err
		}
	}
	return nil
}

// collect reads every lead's conversation: speed-to-lead is what the router recorded.
func (s *sim) collect() error {
	s.res.leads = make([]leadResult, len(s.leads))
	for i, l := range s.leads {
		lr := leadResult{Lead: l, counted: !l.At.Before(s.w.counted)}
		if id := s.conv[i]; id > 0 {
			c, err := s.r.Conversation(s.ctx, id)
			if err != nil {
				return fmt.Errorf("read conversation %d: %w", id, err)
			}
			lr.offers = c.Offers
			lr.escalated = c.Escalated
			if c.Offers > 1 {
				s.res.reoffers += c.Offers - 1
			}
			if !c.FirstReplyAt.IsZero() {
				lr.answered = true
				lr.wait = c.FirstReplyAt.Sub(c.FirstInboundAt)
			}
			lr.qual, lr.salesState = c.Qualification, c.SalesState
			lr.handedAt, lr.acceptedAt, lr.contactAt, lr.amount = c.HandedOffAt, c.SalesAcceptedAt, c.ContactedAt, c.Amount
		}
		s.res.leads[i] = lr
	}
	for i, t := range s.mt {
		s.res.mgrs = append(s.res.mgrs, mgrResult{id: s.v.team[i].m.ID, capacity: s.v.team[i].m.Capacity,
			online: t.onlineD, busy: t.busyD, load: t.loadD, offers: t.offers, ignored: t.ignored,
			accepted: t.accepted, handled: t.handled})
	}
	for i, t := range s.st {
		m := s.v.sales.team[i].m
		s.res.salesMgrs = append(s.res.salesMgrs, salesResult{id: m.ID, capacity: m.Capacity, weight: m.Weight, online: t.onlineD,
			offers: t.offers, lapsed: t.lapsed, rejected: t.rejected, accepted: t.accepted, contacted: t.contacted,
			breaches: t.breaches, won: t.won, lost: t.lost, amount: t.amount})
	}
	return nil
}
