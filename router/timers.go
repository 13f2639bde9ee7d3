package router

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/lidorub/lidorub/store"
)

// timerBatch bounds how many due timers one ForwardTimers call moves.
const timerBatch = 100

// timerWorker runs the speed-to-lead timers: it forwards due ones to the fired stream
// (forward.lua) and applies fired ones (expire.lua): an offer not taken in time goes to the
// next manager, an accepted conversation without a first reply is taken back.
type timerWorker struct {
	*base
	offers *offerer
	sales  *salesRouter
}

// start forwards due timers every timer_interval until ctx ends.
func (w *timerWorker) start(ctx context.Context, wg *sync.WaitGroup) {
	goWG(wg, func() {
		every(ctx, w.log, w.cfg.TimerInterval, func(ctx context.Context) error { _, err := w.ForwardTimers(ctx); return err })
	})
}

func (w *timerWorker) consumer(instance, suffix string) *store.Consumer {
	return store.NewBatchConsumer(w.rdb, w.consumerConfig(w.keys.fired(), groupRouter, instance, "timers"+suffix),
		w.handleFireds, w.log, w.m)
}

// ForwardTimers moves due timers to the fired stream (atomically, so each fires once across
// instances) and returns how many it moved.
func (w *timerWorker) ForwardTimers(ctx context.Context) (int, error) {
	total := 0
	for {
		a := forwardArgs{Now: ms(w.clock.Now()), Batch: timerBatch}
		n, err := forwardScript.Run(ctx, w.rdb, w.keys.forwardKeys(), a.argv()...).Int()
		if err != nil {
			return total, fmt.Errorf("forward timers: %w", err)
		}
		total += n
		if n < timerBatch {
			return total, nil
		}
	}
}

// firedTimer is a fired timer ready for expire.lua.
type firedTimer struct {
	idx  int
	conv string
}

// handleFireds applies fired timers (offers that lapsed, first replies that did not come)
// of one read, with their expire.lua calls pipelined (one round trip for the batch, in
// stream order): timers set for the same second (a burst of leads) lapse together, and each
// one used to wait for the round trips of those before it. expire.lua is idempotent by offer
// seq, so the NOSCRIPT fallback may run one again.
func (w *timerWorker) handleFireds(ctx context.Context, entries []store.Entry) []error {
	errs := make([]error, len(entries))
	now := w.clock.Now()
	ts := make([]firedTimer, 0, len(entries))
	calls := make([]store.Call, 0, len(entries))
	for i, e := range entries {
		id, _ := e.Values["id"].(string)
		parts := strings.Split(id, "|")
		var conv int64
		if len(parts) == 3 {
			conv, _ = strconv.ParseInt(parts[1], 10, 64)
		}
		if len(parts) == 3 && (parts[0] == "sa" || parts[0] == "sc") && conv > 0 {
			// the sales tier's accept and first-contact timers: decisions, one script each
			status, err := w.sales.fire(ctx, parts[0], conv, parts[2])
			if err != nil {
				errs[i] = err
				continue
			}
			if status != "stale" {
				kind := "sales_accept"
				if parts[0] == "sc" {
					kind = "sales_first_contact"
				}
				w.m.Breaches.WithLabelValues(kind).Inc()
				w.offers.request(ctx)
			}
			continue
		}
		if len(parts) != 3 || (parts[0] != "o" && parts[0] != "r") || conv <= 0 {
			w.log.Error("malformed timer dropped", "timer", id)
			continue
		}
		if due, err := strconv.ParseFloat(fmt.Sprint(e.Values["due"]), 64); err == nil {
			w.m.TimerLateness.Observe(seconds(now, int64(due)))
		}
		a := expireArgs{Now: ms(now), Kind: parts[0], Conv: conv, Seq: parts[2], MaxOffers: w.cfg.MaxOffers}
		ts = append(ts, firedTimer{idx: i, conv: parts[1]})
		calls = append(calls, store.Call{Keys: w.keys.expireKeys(conv), Args: a.argv()})
	}
	if len(ts) == 0 {
		return errs
	}
	drain := false
	for i, cmd := range expireScript.EvalPipelined(ctx, w.rdb, calls) {
		t := ts[i]
		res, err := cmd.Slice()
		if err != nil {
			errs[t.idx] = fmt.Errorf("expire timer: %w", err)
			continue
		}
		status, _ := res[0].(string)
		if status == "stale" {
			continue
		}
		mgr, _ := res[1].(string)
		esc, _ := res[3].(int64)
		kind := "offer_timeout"
		if status == "no_reply" {
			kind = "first_response"
		}
		w.m.Breaches.WithLabelValues(kind).Inc()
		if esc == 1 {
			w.m.Escalations.WithLabelValues("max_offers").Inc()
		}
		w.log.Info("speed-to-lead timer fired: conversation back in the queue", "conversation", t.conv, "manager", mgr, "breach", kind, "escalated", esc == 1)
		drain = true
	}
	if drain {
		w.offers.request(ctx)
	}
	return errs
}
