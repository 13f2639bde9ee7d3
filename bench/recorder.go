package bench

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// BenchChannel is the synthetic messaging channel of the speed phase. Form leads cannot be
// answered (the manager calls back and marks them contacted), so to time "manager reply ->
// handed to the channel sender" the bench ingests some leads on this channel and registers
// an in-process Sender for it that records when each reply reaches it.
const BenchChannel = "bench"

// offer is one offer handed to a synthetic lead-manager.
type offer struct {
	convID  int64
	channel string
}

// recorder is the bench's Notifier and its "bench" channel Sender, registered in the
// in-process gateway. It timestamps offers as they are dispatched to the manager interface
// and replies as they are handed to the sender.
type recorder struct {
	offerTimeout time.Duration
	inbox        func(managerID string, o offer) // synthetic managers; nil = passive managers

	mu         sync.Mutex
	sent       map[sentKey]time.Time // request start (before ReceivedAt) of each lead
	replyStart map[int64]time.Time   // conversation -> the manager's reply request start
	seen       map[int64]bool        // conversations offered at least once
	lastOffer  map[int64]time.Time   // conversation -> its current offer time (event "at", ms)
	first      time.Time             // first offer dispatched
	last       time.Time             // last first offer dispatched
	offered    int                   // conversations offered (first offers)
	reoffers   int
	replies    int
	unknown    int // first offers of leads the bench did not send (should stay 0)

	inToOffer    samples // inbound received (max(request start, FirstInboundAt)) -> offer dispatched
	postToOffer  samples // form POST started -> offer dispatched (includes the HTTP request)
	replyToSend  samples // reply request started -> Sender.Send called
	queuedToSend samples // reply recorded by the router (Outbound.CreatedAt) -> Sender.Send called
	lateness     samples // re-offer dispatched - previous offer's deadline
	// where inbound -> offer goes (server timestamps, ms resolution): the offer made in
	// Redis (first_offer_at - first_inbound_at), then its event dispatched (now - first_offer_at)
	inToOfferMade  samples
	madeToDispatch samples
}

func newRecorder(offerTimeout time.Duration) *recorder {
	return &recorder{offerTimeout: offerTimeout, sent: map[sentKey]time.Time{}, replyStart: map[int64]time.Time{},
		seen: map[int64]bool{}, lastOffer: map[int64]time.Time{}}
}

var (
	_ router.Notifier = (*recorder)(nil)
	_ channels.Sender = (*recorder)(nil)
)

// sentKey is a lead's channel and contact id (a struct key: no string built per lead).
type sentKey struct{ channel, contact string }

// expect sizes the table of request starts for n more leads, so recording one does not
// grow the table in the middle of a measured phase.
func (r *recorder) expect(n int) {
	r.mu.Lock()
	if len(r.sent) == 0 {
		r.sent = make(map[sentKey]time.Time, n)
	}
	r.mu.Unlock()
}

// markSent records when the request creating a lead started.
func (r *recorder) markSent(channel, contact string, t time.Time) {
	r.mu.Lock()
	r.sent[sentKey{channel, contact}] = t
	r.mu.Unlock()
}

func (r *recorder) markReply(convID int64, t time.Time) {
	r.mu.Lock()
	r.replyStart[convID] = t
	r.mu.Unlock()
}

// Notify implements router.Notifier.
func (r *recorder) Notify(ctx context.Context, ev router.Event) error {
	if ev.Type != router.EventOffer || ev.Conversation == nil {
		return nil
	}
	now := time.Now()
	c := ev.Conversation
	r.mu.Lock()
	if prev, ok := r.lastOffer[ev.ConversationID]; ok && ev.OfferSeq > 1 && r.offerTimeout > 0 {
		r.reoffers++
		r.lateness.add(now.Sub(prev.Add(r.offerTimeout)))
	}
	if !ev.At.IsZero() {
		r.lastOffer[ev.ConversationID] = ev.At
	}
	first := !r.seen[ev.ConversationID]
	if first {
		r.seen[ev.ConversationID] = true
		r.offered++
		if r.first.IsZero() {
			r.first = now
		}
		r.last = now
		if start, ok := r.sent[sentKey{c.Channel, c.ContactID}]; ok {
			r.postToOffer.add(now.Sub(start))
			recv := start
			if c.FirstInboundAt.After(recv) {
				recv = c.FirstInboundAt
			}
			r.inToOffer.add(now.Sub(recv))
			if !c.FirstOfferAt.IsZero() && !c.FirstInboundAt.IsZero() {
				r.inToOfferMade.add(c.FirstOfferAt.Sub(c.FirstInboundAt))
				r.madeToDispatch.add(now.Sub(c.FirstOfferAt))
			}
		} else {
			r.unknown++
		}
	}
	inbox := r.inbox
	r.mu.Unlock()
	if inbox != nil && first {
		inbox(ev.ManagerID, offer{convID: ev.ConversationID, channel: c.Channel})
	}
	return nil
}

// Send implements channels.Sender for the "bench" channel.
func (r *recorder) Send(ctx context.Context, out channels.Outbound) (channels.SendResult, error) {
	if out.Kind == "reply" {
		now := time.Now()
		cid, _ := strconv.ParseInt(out.ConversationID, 10, 64)
		r.mu.Lock()
		if start, ok := r.replyStart[cid]; ok {
			r.replyToSend.add(now.Sub(start))
			if !out.CreatedAt.IsZero() {
				r.queuedToSend.add(now.Sub(out.CreatedAt))
			}
			delete(r.replyStart, cid)
			r.replies++
		}
		r.mu.Unlock()
	}
	return channels.SendResult{ChannelMessageID: "bench-" + out.ID}, nil
}

type recorderCounts struct {
	offered, reoffers, replies, unknown int
	first, last                         time.Time
}

func (r *recorder) counts() recorderCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorderCounts{offered: r.offered, reoffers: r.reoffers, replies: r.replies, unknown: r.unknown, first: r.first, last: r.last}
}

// waitFor polls cond every 10 ms until it holds, ctx ends or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(10 * time.Millisecond) // polling the system under test, not waiting for a timer in a test
	}
}
