// Package router turns inbound messages into conversations and gets each one to a human fast:
// it qualifies a new conversation, sends the automatic acknowledgement, offers it to a free
// lead-manager chosen by the configured strategy, re-offers it when the offer or the first
// reply is not made in time, escalates after max_offers, and keeps a waiting queue drained
// whenever a manager frees up. All state is in Redis and every decision that must be unique
// is one Lua script, so several gateway processes can share the work.
package router

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/store"
)

// Consumer group names.
const (
	groupRouter = "router" // inbound and fired timers
	groupNotify = "notify" // events
	groupSend   = "send"   // outbound
)

// Deps are the router's collaborators.
type Deps struct {
	Redis     redis.UniversalClient
	Keys      store.Keys
	Clock     clock.Clock
	Log       *slog.Logger
	Metrics   *metrics.Metrics                           // required; metrics.New(nil, ids) for tests that do not scrape
	Qualifier qualify.Qualifier                          // nil: everything priority 0, no tags
	Instance  string                                     // consumer name prefix, unique per process
	Sleep     func(context.Context, time.Duration) error // send backoff; nil = real sleep
}

// Router is the conversation engine. It implements Desk and channels.Alerter.
type Router struct {
	cfg       Config
	managers  []Manager
	byID      map[string]*Manager
	byTG      map[int64]string
	tpl       Templates
	rdb       redis.UniversalClient
	keys      keys
	clock     clock.Clock
	log       *slog.Logger
	m         *metrics.Metrics
	q         qualify.Qualifier
	instance  string
	sleep     func(context.Context, time.Duration) error
	mu        sync.RWMutex
	senders   map[string]channels.Sender
	notifiers []Notifier

	stepOnce sync.Once
	stepCons []*store.Consumer

	// drainReq is set while Run runs: new conversations and fired timers then ask the
	// drainer goroutine for a queue drain instead of running one inline, so a burst of
	// new conversations is offered by a few assign.lua calls rather than one each.
	drainReq atomic.Pointer[chan struct{}]

	// runCtx is Run's context while Run runs: handlers get a context that shutdown does not
	// cancel (an entry is finished, not half-done), but waits between send retries end on it.
	runCtx atomic.Pointer[context.Context]
}

var (
	_ Desk             = (*Router)(nil)
	_ channels.Alerter = (*Router)(nil)
)

// New builds a router. The managers must have passed ValidateManagers.
func New(cfg Config, managers []Manager, tpl Templates, d Deps) (*Router, error) {
	if d.Redis == nil || d.Clock == nil || d.Log == nil || d.Metrics == nil {
		return nil, fmt.Errorf("router: Redis, Clock, Log and Metrics are required")
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("router config: %w", err)
	}
	ms := append([]Manager(nil), managers...)
	ManagersDefaults(ms)
	if err := ValidateManagers(ms); err != nil {
		return nil, fmt.Errorf("managers: %w", err)
	}
	tpl.Defaults()
	r := &Router{
		cfg: cfg, managers: ms, byID: map[string]*Manager{}, byTG: map[int64]string{}, tpl: tpl,
		rdb: d.Redis, keys: newKeys(d.Keys), clock: d.Clock, log: d.Log, m: d.Metrics, q: d.Qualifier,
		instance: d.Instance, sleep: d.Sleep, senders: map[string]channels.Sender{},
	}
	if r.instance == "" {
		r.instance = "lidorub"
	}
	if r.sleep == nil {
		r.sleep = sleepCtx
	}
	for i := range r.managers {
		m := &r.managers[i]
		r.byID[m.ID] = m
		if m.TelegramID != 0 {
			r.byTG[m.TelegramID] = m.ID
		}
	}
	return r, nil
}

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

// RegisterSender sets the sender of a channel. Call before Run.
func (r *Router) RegisterSender(channel string, s channels.Sender) {
	r.mu.Lock()
	r.senders[channel] = s
	r.mu.Unlock()
}

// AddNotifier adds a manager notifier (the staff bot). Call before Run.
func (r *Router) AddNotifier(n Notifier) {
	r.mu.Lock()
	r.notifiers = append(r.notifiers, n)
	r.mu.Unlock()
}

func (r *Router) sender(channel string) channels.Sender {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.senders[channel]
}

// CanReply reports whether replies can be delivered on the channel.
func (r *Router) CanReply(channel string) bool { return r.sender(channel) != nil }

// Managers returns the configured managers.
func (r *Router) Managers() []Manager { return r.managers }

func (r *Router) consumer(stream, group, name string, h store.Handler) *store.Consumer {
	return store.NewConsumer(r.rdb, store.ConsumerConfig{
		Stream: stream, Group: group, Consumer: r.instance + "-" + name,
		ReclaimIdle: r.cfg.ReclaimIdle, MaxDeliveries: int64(r.cfg.MaxDeliveries),
	}, h, r.log, r.m)
}

func (r *Router) consumers(suffix string) []*store.Consumer {
	events := store.NewBatchConsumer(r.rdb, store.ConsumerConfig{
		Stream: r.keys.events(), Group: groupNotify, Consumer: r.instance + "-events" + suffix,
		ReclaimIdle: r.cfg.ReclaimIdle, MaxDeliveries: int64(r.cfg.MaxDeliveries),
	}, r.handleEvents, r.log, r.m)
	inbound := store.NewBatchConsumer(r.rdb, store.ConsumerConfig{
		Stream: r.keys.Inbound(), Group: groupRouter, Consumer: r.instance + "-in" + suffix,
		ReclaimIdle: r.cfg.ReclaimIdle, MaxDeliveries: int64(r.cfg.MaxDeliveries),
	}, r.handleInbounds, r.log, r.m)
	return []*store.Consumer{
		store.NewBatchConsumer(r.rdb, store.ConsumerConfig{
			Stream: r.keys.fired(), Group: groupRouter, Consumer: r.instance + "-timers" + suffix,
			ReclaimIdle: r.cfg.ReclaimIdle, MaxDeliveries: int64(r.cfg.MaxDeliveries),
		}, r.handleFireds, r.log, r.m),
		inbound,
		events,
		r.consumer(r.keys.outbound(), groupSend, "out"+suffix, r.handleOutbound),
	}
}

// Run starts the workers and blocks until ctx is cancelled and every worker has stopped.
// Entries in flight finish; unacknowledged ones stay pending for the next instance.
func (r *Router) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	start := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	req := make(chan struct{}, 1)
	r.drainReq.Store(&req)
	defer r.drainReq.Store(nil)
	r.runCtx.Store(&ctx)
	defer r.runCtx.Store(nil)
	start(func() { r.drainer(ctx, req) })
	for i := 0; i < r.cfg.Workers; i++ {
		for _, c := range r.consumers(fmt.Sprintf("-%d", i)) {
			c := c
			start(func() { _ = c.Run(ctx) })
		}
	}
	start(func() {
		r.every(ctx, r.cfg.TimerInterval, func(ctx context.Context) error { _, err := r.ForwardTimers(ctx); return err })
	})
	start(func() {
		r.every(ctx, time.Second, func(ctx context.Context) error { _, err := r.Drain(ctx); return err })
	})
	start(func() { r.every(ctx, 30*time.Second, r.trim) })
	<-ctx.Done()
	wg.Wait()
	return nil
}

// requestDrain offers queued conversations: inline when the router is driven by Step
// (tests), else by waking the drainer. Requests made while a drain runs coalesce into one
// more drain, which sees everything queued meanwhile; nothing is lost if the process dies
// in between, because the conversation is already in the waiting queue and the periodic
// drain offers it.
func (r *Router) requestDrain(ctx context.Context) {
	if p := r.drainReq.Load(); p != nil {
		select {
		case *p <- struct{}{}:
		default: // a drain is already requested: it will see this conversation too
		}
		return
	}
	if _, err := r.Drain(ctx); err != nil {
		// The conversation is queued; the periodic drain offers it. Do not redo the entry.
		r.log.Warn("drain failed", "err", err)
	}
}

// drainer runs requested drains one after another until ctx ends. A drain that offered a
// full scan's worth runs again at once: more may be waiting behind it.
func (r *Router) drainer(ctx context.Context, req chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-req:
		}
		for ctx.Err() == nil {
			n, err := r.Drain(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("drain failed", "err", err)
				}
				break
			}
			if n < queueScan {
				break
			}
		}
	}
}

func (r *Router) every(ctx context.Context, d time.Duration, f func(context.Context) error) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("periodic router task failed", "err", err)
			}
		}
	}
}

func (r *Router) trim(ctx context.Context) error {
	groups := map[string]string{r.keys.Inbound(): groupRouter, r.keys.fired(): groupRouter,
		r.keys.events(): groupNotify, r.keys.outbound(): groupSend}
	for s, g := range groups {
		if _, err := store.Trim(ctx, r.rdb, s); err != nil {
			return err
		}
		// Consumers of processes gone for a day, with nothing pending, are forgotten.
		if _, err := store.PruneConsumers(ctx, r.rdb, s, g, consumerForget); err != nil {
			return err
		}
	}
	return nil
}

// consumerForget: a consumer idle this long with nothing pending belongs to a process that is gone.
const consumerForget = 24 * time.Hour

// Step runs one non-blocking round of everything Run does in the background: due timers,
// fired timers, inbound, events, outbound, and a queue drain. It returns how many items were
// handled. Tests call it until it returns 0 instead of sleeping.
func (r *Router) Step(ctx context.Context) (int, error) {
	r.stepOnce.Do(func() { r.stepCons = r.consumers("-step") })
	total := 0
	n, err := r.ForwardTimers(ctx)
	if err != nil {
		return total, err
	}
	total += n
	for _, c := range r.stepCons {
		n, err := c.Poll(ctx)
		total += n
		if err != nil {
			return total, err
		}
	}
	n, err = r.Drain(ctx)
	return total + n, err
}

// Settle calls Step until nothing is left to do (at most 1000 rounds).
func (r *Router) Settle(ctx context.Context) error {
	for i := 0; i < 1000; i++ {
		n, err := r.Step(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
	return fmt.Errorf("router did not settle after 1000 steps")
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}
