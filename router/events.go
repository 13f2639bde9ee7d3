package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// eventDispatcher delivers the events stream to the notifiers (the staff bot) and raises
// channels' operational alerts as escalation events.
type eventDispatcher struct {
	*base
	mu        sync.RWMutex
	notifiers []Notifier
}

func (d *eventDispatcher) add(n Notifier) {
	d.mu.Lock()
	d.notifiers = append(d.notifiers, n)
	d.mu.Unlock()
}

func (d *eventDispatcher) consumer(instance, suffix string) *store.Consumer {
	return store.NewBatchConsumer(d.rdb, d.consumerConfig(d.keys.events(), groupNotify, instance, "events"+suffix),
		d.handleEvents, d.log, d.m)
}

// handleEvents delivers a batch of events: the conversation snapshots of the whole batch
// are read in one pipelined round trip, then each event goes to every notifier in order.
// An error leaves that event pending: it is redelivered, so notifiers see repeats and must
// tolerate them.
func (d *eventDispatcher) handleEvents(ctx context.Context, entries []store.Entry) []error {
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
		loadErr = d.conversations(ctx, convs)
	}
	if loadErr == nil {
		// an offer shows the earlier leads of a returning contact
		var offered []*Conversation
		seen := map[int64]bool{}
		for _, ev := range evs {
			if c := convs[ev.ConversationID]; ev.Type == EventOffer && c != nil && !seen[c.ID] {
				seen[c.ID] = true
				offered = append(offered, c)
			}
		}
		loadErr = d.fillPrevious(ctx, offered)
	}
	for i := range evs {
		if evs[i].ConversationID > 0 && loadErr != nil {
			errs[i] = loadErr
			continue
		}
		errs[i] = d.dispatchEvent(ctx, evs[i], convs[evs[i].ConversationID])
	}
	return errs
}

// dispatchEvent delivers one event, with the conversation snapshot c (nil: none or gone).
func (d *eventDispatcher) dispatchEvent(ctx context.Context, ev Event, c *Conversation) error {
	if ev.Type == EventEscalation {
		d.log.Warn("escalation", "conversation", ev.ConversationID, "reason", ev.Reason)
	}
	ev.Conversation = c
	d.mu.RLock()
	ns := d.notifiers
	d.mu.RUnlock()
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
	ev := Event{ID: entryIdentity(e), Type: str("t"), ConversationID: i64("c"), ManagerID: str("m"), OfferSeq: i64("s"),
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

// alert raises an operational alert from a channel as an escalation event.
func (d *eventDispatcher) alert(ctx context.Context, channel, account, reason string) error {
	d.m.Alerts.WithLabelValues(channel).Inc()
	d.m.Escalations.WithLabelValues("channel").Inc()
	return d.rdb.XAdd(ctx, &redis.XAddArgs{Stream: d.keys.events(), Values: map[string]any{
		"t": EventEscalation, "c": "0", "m": "", "s": "0", "r": "channel",
		"x": channel + "/" + account + ": " + reason, "at": strconv.FormatInt(ms(d.clock.Now()), 10),
	}}).Err()
}
