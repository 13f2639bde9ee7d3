package router

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// queueScan bounds how many queued conversations one drain looks at.
const queueScan = 200

// offerer offers queued conversations to free lead-managers (assign.lua): when asked (a new
// conversation, a fired timer), after a manager action, and every second (shifts starting).
type offerer struct {
	*base
	team  *team
	sales *salesRouter

	// req is set while the router runs: new conversations and fired timers then ask the
	// drainer goroutine for a queue drain instead of running one inline, so a burst of
	// new conversations is offered by a few assign.lua calls rather than one each.
	req atomic.Pointer[chan struct{}]
}

// Drain offers queued conversations to free lead-managers, and handed-off leads in the sales
// queue to free sales managers, and returns how many it offered.
func (o *offerer) Drain(ctx context.Context) (int, error) {
	n, err := o.drainLeads(ctx)
	if err != nil {
		return n, err
	}
	s, err := o.sales.Drain(ctx)
	return n + s, err
}

func (o *offerer) drainLeads(ctx context.Context) (int, error) {
	now := o.clock.Now()
	cands := o.team.onShift(now)
	if len(cands) == 0 {
		return 0, nil
	}
	a := assignArgs{Now: ms(now), Strategy: o.cfg.Strategy, OfferTimeout: o.cfg.OfferTimeout.Milliseconds(),
		Scan: queueScan, Candidates: cands}
	res, err := assignScript.Run(ctx, o.rdb, o.keys.assignKeys(cands), a.argv()...).Slice()
	if err != nil {
		return 0, fmt.Errorf("assign: %w", err)
	}
	offers := 0
	for i := 0; i+5 < len(res); i += 6 {
		mgr, _ := res[i+1].(string)
		first, _ := res[i+3].(int64)
		ch, _ := res[i+4].(string)
		o.m.Offers.WithLabelValues(mgr).Inc()
		if first == 1 {
			firstIn, _ := strconv.ParseInt(fmt.Sprint(res[i+5]), 10, 64)
			if firstIn > 0 {
				o.m.TimeToFirstOffer.WithLabelValues(ch).Observe(seconds(now, firstIn))
			}
		} else {
			o.m.Reoffers.Inc()
		}
		offers++
	}
	return offers, nil
}

// request offers queued conversations: inline when the router is driven by Step (tests),
// else by waking the drainer. Requests made while a drain runs coalesce into one more
// drain, which sees everything queued meanwhile; nothing is lost if the process dies in
// between, because the conversation is already in the waiting queue and the periodic drain
// offers it.
func (o *offerer) request(ctx context.Context) {
	if p := o.req.Load(); p != nil {
		select {
		case *p <- struct{}{}:
		default: // a drain is already requested: it will see this conversation too
		}
		return
	}
	if _, err := o.Drain(ctx); err != nil {
		// The conversation is queued; the periodic drain offers it. Do not redo the entry.
		o.log.Warn("drain failed", "err", err)
	}
}

// after offers queued conversations after a change that may have freed a manager. The
// change itself is already committed, so a failing drain is logged, not returned (the caller
// would retry a done action); the periodic drain catches up.
func (o *offerer) after(ctx context.Context) {
	if _, err := o.Drain(ctx); err != nil {
		o.log.Warn("queue drain after a manager action failed; the periodic drain retries", "err", err)
	}
}

// start runs the drainer and the periodic drain until ctx ends; stop (after they ended)
// makes requests drain inline again.
func (o *offerer) start(ctx context.Context, wg *sync.WaitGroup) {
	req := make(chan struct{}, 1)
	o.req.Store(&req)
	goWG(wg, func() { o.drainer(ctx, req) })
	goWG(wg, func() {
		every(ctx, o.log, time.Second, func(ctx context.Context) error { _, err := o.Drain(ctx); return err })
	})
}

func (o *offerer) stop() { o.req.Store(nil) }

// drainer runs requested drains one after another until ctx ends. A drain that offered a
// full scan's worth runs again at once: more may be waiting behind it.
func (o *offerer) drainer(ctx context.Context, req chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-req:
		}
		for ctx.Err() == nil {
			n, err := o.Drain(ctx)
			if err != nil {
				if ctx.Err() == nil {
					o.log.Warn("drain failed", "err", err)
				}
				break
			}
			if n < queueScan {
				break
			}
		}
	}
}
