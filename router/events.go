package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// handleEvents delivers a batch of events: the conversation snapshots of the whole batch
// are read in one pipelined round trip, then each event goes to every notifier in order.
// An error leaves that event pending: it is redelivered, so notifiers see repeats and must
// tolerate them.
func (r *Router) handleEvents(ctx context.Context, entries []store.Entry) []error {
	errs := make([]error, len(entries))
	evs := make([]Event, len(entries))
	convs := map[int64]*Conversation{}
	for i, e := range entries {
		evs[i] = decodeEvent(e)
		if id := evs[i].ConversationID; id > 0 {
			convs[id] = nil
		}
	}
	var loadErr error
	if len(convs) > 0 {
		loadErr = r.conversations(ctx, convs)
	}
	for i := range evs {
		if evs[i].ConversationID > 0 && loadErr != nil {
			errs[i] = loadErr
			continue
		}
		errs[i] = r.dispatchEvent(ctx, evs[i], convs[evs[i].ConversationID])
	}
	return errs
}

// dispatchEvent delivers one event, with the conversation snapshot c (nil: none or gone).
func (r *Router) dispatchEvent(ctx context.Context, ev Event, c *Conversation) error {
	if ev.Type == EventEscalation {
		r.log.Warn("escalation", "conversation", ev.ConversationID, "reason", ev.Reason)
	}
	ev.Conversation = c
	r.mu.RLock()
	ns := r.notifiers
	r.mu.RUnlock()
	for _, n := range ns {
		if err := n.Notify(ctx, ev); err != nil {
			return fmt.Errorf("notify %s: %w", ev.Type, err)
		}
	}
	return nil
}

func decodeEvent(e store.Entry) Event {
	str := func(k string) string { s, _ := e.Values[k].(string); return s }
	i64 := func(k string) int64 { v, _ := strconv.ParseInt(str(k), 10, 64); return v }
	ev := Event{ID: e.ID, Type: str("t"), ConversationID: i64("c"), ManagerID: str("m"), OfferSeq: i64("s"),
		Reason: str("r"), At: fromMS(i64("at"))}
	switch ev.Type {
	case EventCustomerMessage:
		var m Message
		if json.Unmarshal([]byte(str("x")), &m) == nil {
			ev.Message = &m
		}
	case EventEscalation:
		if x := str("x"); x != "" {
			ev.Reason = ev.Reason + ": " + x
		}
	case EventSendFailure:
		ev.Message = &Message{Dir: "out", ID: str("x"), Text: ev.Reason}
	}
	return ev
}

// Alert raises an operational alert from a channel as an escalation event.
func (r *Router) Alert(ctx context.Context, channel, account, reason string) error {
	r.m.Alerts.WithLabelValues(channel).Inc()
	r.m.Escalations.WithLabelValues("channel").Inc()
	return r.rdb.XAdd(ctx, &redis.XAddArgs{Stream: r.keys.events(), Values: map[string]any{
		"t": EventEscalation, "c": "0", "m": "", "s": "0", "r": "channel",
		"x": channel + "/" + account + ": " + reason, "at": strconv.FormatInt(ms(r.clock.Now()), 10),
	}}).Err()
}
