package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// handleEvent delivers one event to every notifier. An error leaves it pending: it is
// redelivered, so notifiers see repeats and must tolerate them.
func (r *Router) handleEvent(ctx context.Context, e store.Entry) error {
	ev := decodeEvent(e)
	if ev.Type == EventEscalation {
		r.log.Warn("escalation", "conversation", ev.ConversationID, "reason", ev.Reason)
	}
	if ev.ConversationID > 0 {
		if c, err := r.Conversation(ctx, ev.ConversationID); err == nil {
			ev.Conversation = c
		} else if err != ErrNotFound {
			return err
		}
	}
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
