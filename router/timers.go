package router

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lidorub/lidorub/store"
)

// timerBatch bounds how many due timers one ForwardTimers call moves.
const timerBatch = 100

// ForwardTimers moves due timers to the fired stream (atomically, so each fires once across
// instances) and returns how many it moved.
func (r *Router) ForwardTimers(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := forwardScript.Run(ctx, r.rdb, []string{r.keys.timers()}, r.keys.p, ms(r.clock.Now()), timerBatch).Int()
		if err != nil {
			return total, fmt.Errorf("forward timers: %w", err)
		}
		total += n
		if n < timerBatch {
			return total, nil
		}
	}
}

// handleFired applies one fired timer: an offer that lapsed or a first reply that did not come.
func (r *Router) handleFired(ctx context.Context, e store.Entry) error {
	id, _ := e.Values["id"].(string)
	parts := strings.Split(id, "|")
	if len(parts) != 3 || (parts[0] != "o" && parts[0] != "r") {
		r.log.Error("malformed timer dropped", "timer", id)
		return nil
	}
	now := r.clock.Now()
	if due, err := strconv.ParseFloat(fmt.Sprint(e.Values["due"]), 64); err == nil {
		r.m.TimerLateness.Observe(seconds(now, int64(due)))
	}
	res, err := expireScript.Run(ctx, r.rdb, []string{r.keys.timers()},
		r.keys.p, ms(now), parts[0], parts[1], parts[2], r.cfg.MaxOffers).Slice()
	if err != nil {
		return fmt.Errorf("expire timer: %w", err)
	}
	status, _ := res[0].(string)
	if status == "stale" {
		return nil
	}
	mgr, _ := res[1].(string)
	esc, _ := res[3].(int64)
	kind := "offer_timeout"
	if status == "no_reply" {
		kind = "first_response"
	}
	r.m.Breaches.WithLabelValues(kind).Inc()
	if esc == 1 {
		r.m.Escalations.WithLabelValues("max_offers").Inc()
	}
	r.log.Info("speed-to-lead timer fired: conversation back in the queue", "conversation", parts[1], "manager", mgr, "breach", kind, "escalated", esc == 1)
	if _, err := r.Drain(ctx); err != nil {
		r.log.Warn("drain after timer failed", "err", err)
	}
	return nil
}
