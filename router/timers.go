package router

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

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

// firedTimer is a fired timer ready for expire.lua.
type firedTimer struct {
	idx   int
	parts []string
	args  []any
}

// handleFireds applies fired timers (offers that lapsed, first replies that did not come)
// of one read, with their expire.lua calls pipelined (one
// round trip for the batch, in stream order): timers set for the same second (a burst of
// leads) lapse together, and each one used to wait for the round trips of those before it.
func (r *Router) handleFireds(ctx context.Context, entries []store.Entry) []error {
	errs := make([]error, len(entries))
	now := r.clock.Now()
	ts := make([]firedTimer, 0, len(entries))
	for i, e := range entries {
		id, _ := e.Values["id"].(string)
		parts := strings.Split(id, "|")
		if len(parts) != 3 || (parts[0] != "o" && parts[0] != "r") {
			r.log.Error("malformed timer dropped", "timer", id)
			continue
		}
		if due, err := strconv.ParseFloat(fmt.Sprint(e.Values["due"]), 64); err == nil {
			r.m.TimerLateness.Observe(seconds(now, int64(due)))
		}
		ts = append(ts, firedTimer{idx: i, parts: parts,
			args: []any{r.keys.p, ms(now), parts[0], parts[1], parts[2], r.cfg.MaxOffers}})
	}
	if len(ts) == 0 {
		return errs
	}
	keys := []string{r.keys.timers()}
	results := make([][]any, len(ts))
	rerrs := make([]error, len(ts))
	if len(ts) == 1 {
		results[0], rerrs[0] = expireScript.Run(ctx, r.rdb, keys, ts[0].args...).Slice()
	} else {
		pipe := r.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(ts))
		for i, t := range ts {
			cmds[i] = expireScript.EvalSha(ctx, pipe, keys, t.args...)
		}
		_, _ = pipe.Exec(ctx) // per-command errors are read below
		for i, t := range ts {
			results[i], rerrs[i] = cmds[i].Slice()
			if rerrs[i] != nil && redis.HasErrorPrefix(rerrs[i], "NOSCRIPT") {
				results[i], rerrs[i] = expireScript.Run(ctx, r.rdb, keys, t.args...).Slice()
			}
		}
	}
	drain := false
	for i, t := range ts {
		if rerrs[i] != nil {
			errs[t.idx] = fmt.Errorf("expire timer: %w", rerrs[i])
			continue
		}
		res := results[i]
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
		r.m.Breaches.WithLabelValues(kind).Inc()
		if esc == 1 {
			r.m.Escalations.WithLabelValues("max_offers").Inc()
		}
		r.log.Info("speed-to-lead timer fired: conversation back in the queue", "conversation", t.parts[1], "manager", mgr, "breach", kind, "escalated", esc == 1)
		drain = true
	}
	if drain {
		r.requestDrain(ctx)
	}
	return errs
}
