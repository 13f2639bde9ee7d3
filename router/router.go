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
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/store"
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
	// Locale is the message catalogue of the automatic customer messages; nil = the built-in
	// English one with the Templates given to New adopted (with a Locale, they are not used:
	// the config adopts them into its locale: section).
	Locale *locale.Catalogue
	// CustomerLocale is the language of a channel account's customers ("" = the catalogue's
	// default); nil = the default for every account.
	CustomerLocale func(channel, account string) string
	// Funnel, when set, is counted from the {P}:timeline stream by router.workers consumers
	// of its "metrics" group (NewFunnelMetrics).
	Funnel *FunnelMetrics
	// Sales is the sales: section (the second tier); nil = its defaults.
	Sales *SalesConfig
}

// Router is the conversation engine: a facade that composes components with one job each
// and runs them.
//
//	inboundApplier   inbound.go        the inbound stream: customer messages, delivery statuses
//	offerer          offers.go         offers and the waiting queue (drains)
//	desk             desk*.go          what managers do (the Desk; Router embeds it)
//	sendWorker       outbound.go       the outbound stream: sending, retries, failures
//	timerWorker      timers.go         speed-to-lead timers: forwarding and firing
//	eventDispatcher  events.go         the events stream to notifiers; channel alerts
//	sweeper          forget.go         deferred sends, retention, forget jobs of erased conversations
//
// Router implements Desk and channels.Alerter.
type Router struct {
	*desk

	b        *base
	team     *team
	senders  *senders
	instance string
	inbound  *inboundApplier
	offers   *offerer
	sender   *sendWorker
	timers   *timerWorker
	events   *eventDispatcher
	sweeper  *sweeper
	funnel   *funnelWorker // nil: no funnel metrics

	stepOnce sync.Once
	stepCons []*store.Consumer
}

var (
	_ Desk             = (*Router)(nil)
	_ Ops              = (*Router)(nil)
	_ channels.Alerter = (*Router)(nil)
)

// New builds a router. The managers must have passed ValidateManagers.
func New(cfg Config, managers []Manager, tpl0 Templates, d Deps) (*Router, error) {
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
	tpl, err := newCustomerTexts(tpl0, d)
	if err != nil {
		return nil, fmt.Errorf("router templates: %w", err)
	}
	if d.Instance == "" {
		d.Instance = "lidorub"
	}
	if d.Sleep == nil {
		d.Sleep = sleepCtx
	}
	if d.Locale == nil {
		cat, err := locale.New(locale.EN, nil)
		if err != nil {
			return nil, fmt.Errorf("router: built-in texts: %w", err)
		}
		d.Locale = cat
	}
	var zone *time.Location
	if cfg.TimeZone != "" {
		zone, _ = time.LoadLocation(cfg.TimeZone) // validated
	}
	var scfg SalesConfig
	if d.Sales != nil {
		scfg = *d.Sales
	}
	scfg.Defaults()
	if err := scfg.Validate(); err != nil {
		return nil, fmt.Errorf("sales config: %w", err)
	}
	b := &base{cfg: cfg, rdb: d.Redis, keys: newKeys(d.Keys), clock: d.Clock, log: d.Log, m: d.Metrics}
	r := &Router{b: b, team: newTeam(ms), senders: &senders{}, instance: d.Instance}
	sales := &salesRouter{base: b, team: r.team, cfg: scfg}
	if !sales.enabled() && d.Sales != nil {
		d.Log.Warn("no sales manager configured (managers[].role: sales): hot leads are only marked handed off")
	}
	r.offers = &offerer{base: b, team: r.team, sales: sales}
	r.sender = &sendWorker{base: b, senders: r.senders, sleep: d.Sleep}
	r.inbound = &inboundApplier{base: b, team: r.team, tpl: tpl, q: d.Qualifier, senders: r.senders,
		offers: r.offers, statuses: r.sender, zone: zone}
	r.timers = &timerWorker{base: b, offers: r.offers, sales: sales}
	r.events = &eventDispatcher{base: b}
	r.sweeper = &sweeper{base: b, team: r.team}
	if d.Funnel != nil {
		r.funnel = &funnelWorker{base: b, fm: d.Funnel}
	}
	r.desk = &desk{base: b, team: r.team, tpl: tpl, senders: r.senders, offers: r.offers, sweeper: r.sweeper, sales: sales}
	return r, nil
}

// RegisterSender sets the sender of a channel. Call before Run.
func (r *Router) RegisterSender(channel string, s channels.Sender) { r.senders.set(channel, s) }

// AddNotifier adds a manager notifier (the staff bot). Call before Run.
func (r *Router) AddNotifier(n Notifier) { r.events.add(n) }

// CanReply reports whether replies can be delivered on the channel.
func (r *Router) CanReply(channel string) bool { return r.senders.get(channel) != nil }

// Managers returns the configured managers.
func (r *Router) Managers() []Manager { return r.team.managers }

// Drain offers queued conversations to free lead-managers. It is called after every change
// that can free a manager or add work, and every second (shifts starting).
func (r *Router) Drain(ctx context.Context) (int, error) { return r.offers.Drain(ctx) }

// ForwardTimers moves due timers to the fired stream (atomically, so each fires once across
// instances) and returns how many it moved.
func (r *Router) ForwardTimers(ctx context.Context) (int, error) { return r.timers.ForwardTimers(ctx) }

// Alert raises an operational alert from a channel as an escalation event.
func (r *Router) Alert(ctx context.Context, channel, account, reason string) error {
	return r.events.alert(ctx, channel, account, reason)
}

// consumers are one consumer of each stream, in the order Step polls them: fired timers,
// inbound, events, outbound, and the timeline (funnel metrics) when counted.
func (r *Router) consumers(suffix string) []*store.Consumer {
	var cs []*store.Consumer
	ws := []streamWorker{r.timers, r.inbound, r.events, r.sender}
	if r.funnel != nil {
		ws = append(ws, r.funnel)
	}
	for _, w := range ws {
		cs = append(cs, w.consumer(r.instance, suffix))
	}
	return cs
}

// Run starts the components and blocks until ctx is cancelled and every worker has stopped.
// Entries in flight finish; unacknowledged ones stay pending for the next instance.
func (r *Router) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	r.offers.start(ctx, &wg)
	defer r.offers.stop()
	r.sender.runCtx.Store(&ctx)
	defer r.sender.runCtx.Store(nil)
	for i := 0; i < r.b.cfg.Workers; i++ {
		for _, c := range r.consumers(fmt.Sprintf("-%d", i)) {
			goWG(&wg, func() { _ = c.Run(ctx) })
		}
	}
	r.timers.start(ctx, &wg)
	r.sweeper.start(ctx, &wg)
	goWG(&wg, func() { every(ctx, r.b.log, 30*time.Second, r.b.trim) })
	<-ctx.Done()
	wg.Wait()
	return nil
}

// Step runs one non-blocking round of everything Run does in the background: due timers,
// the sweep (deferred sends, retention, forget jobs), fired timers, inbound, events,
// outbound, and a queue drain. It returns how many items were
// handled. Tests call it until it returns 0 instead of sleeping.
func (r *Router) Step(ctx context.Context) (int, error) {
	r.stepOnce.Do(func() { r.stepCons = r.consumers("-step") })
	total := 0
	n, err := r.ForwardTimers(ctx)
	if err != nil {
		return total, err
	}
	total += n
	n, err = r.sweeper.sweep(ctx)
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
