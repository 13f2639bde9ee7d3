package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/store"
)

// sendTimeout bounds one Send call.
const sendTimeout = 30 * time.Second

// maxRetryWait: a backoff or rate limit longer than this is never waited out in the handler.
const maxRetryWait = 30 * time.Second

// refTTL is how long outbound ids and channel message ids are remembered for delivery statuses.
const refTTL = 8 * 24 * time.Hour

// sendWorker sends outbound messages with retries and records what became of them: sent,
// failed for good (the author is told), and the delivery statuses channels report later.
type sendWorker struct {
	*base
	senders *senders
	sleep   func(context.Context, time.Duration) error

	// runCtx is the router's run context while it runs: handlers get a context that shutdown
	// does not cancel (an entry is finished, not half-done), but waits between send retries
	// end on it.
	runCtx atomic.Pointer[context.Context]
}

func (s *sendWorker) consumer(instance, suffix string) *store.Consumer {
	return store.NewConsumer(s.rdb, s.consumerConfig(s.keys.outbound(), groupSend, instance, "out"+suffix),
		s.handleOutbound, s.log, s.m)
}

// handleOutbound sends one outbound message with retries. A permanent failure is recorded
// and reported to the manager who wrote the message; temporary failures beyond send_retries
// leave the entry pending, so it is redelivered (and dead-lettered after max_deliveries).
//
// A rate limit (channels.RetryAfterError: HTTP 429, Telegram retry_after) is never retried
// before its deadline. A short one (at most half of reclaim_idle: the entry's claim is kept
// alive meanwhile, and after a shutdown another instance cannot reclaim it sooner) is waited
// out here; a longer one, or one on the last retry, is deferred durably: defer.lua
// acknowledges the entry and keeps it in {P}:deferred until the deadline, when the sweeper
// puts it back on the stream (undefer.lua) with its deferral count. After max_deliveries
// deferrals the send is recorded as failed.
func (s *sendWorker) handleOutbound(ctx context.Context, e store.Entry) error {
	raw, _ := e.Values["o"].(string)
	var out channels.Outbound
	if err := json.Unmarshal([]byte(raw), &out); err != nil || out.ID == "" {
		if err == nil {
			err = errors.New("no outbound id")
		}
		s.log.Error("malformed outbound entry moved to the dead-letter stream", "id", e.ID, "err", err)
		return s.deadLetter(ctx, e, "malformed outbound entry")
	}
	cid, _ := strconv.ParseInt(out.ConversationID, 10, 64)
	// A redelivered entry whose send already succeeded or failed for good is not sent again.
	if st, err := s.rdb.Get(ctx, s.keys.out(out.ID)).Result(); err == nil && st != "" {
		return nil
	} else if err != nil && !isNil(err) {
		return err
	}
	if out.Kind == "prechat" {
		// a pre-chat question queued just before a human answered is not sent after the answer
		if r, err := s.rdb.HGet(ctx, s.keys.conv(cid), "replied").Result(); err == nil && r == "1" {
			return nil
		} else if err != nil && !isNil(err) {
			return err
		}
	}
	snd := s.senders.get(out.Channel)
	if snd == nil {
		if out.Human() {
			return s.recordFailure(ctx, cid, out.ID, out.ManagerID, out.Channel, locale.M("failure.no_sender").Encode())
		}
		return nil // automatic message on a channel that cannot send (web form): nothing to do
	}
	for attempt := 0; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		res, err := snd.Send(sctx, out)
		cancel()
		if err == nil {
			return s.delivered(ctx, cid, out, res)
		}
		if channels.IsPermanent(err) {
			s.m.SendFailed.WithLabelValues(out.Channel, "permanent").Inc()
			return s.recordFailure(ctx, cid, out.ID, out.ManagerID, out.Channel, failureReason(err))
		}
		s.m.SendFailed.WithLabelValues(out.Channel, "temporary").Inc()
		var ra *channels.RetryAfterError
		limited := errors.As(err, &ra)
		if limited && (ra.After > s.maxInlineWait() || attempt >= s.cfg.SendRetries) {
			return s.deferSend(ctx, e, raw, cid, out, ra.After)
		}
		if attempt >= s.cfg.SendRetries {
			return s.giveUp(ctx, e, cid, out, err)
		}
		wait := time.Duration(200<<attempt) * time.Millisecond
		if limited {
			wait = ra.After
		}
		if wait > maxRetryWait {
			return s.giveUp(ctx, e, cid, out, err)
		}
		s.log.Info("send failed, retrying", "outbound", out.ID, "channel", out.Channel, "attempt", attempt+1, "wait", wait, "err", err)
		if err := s.sleep(s.retryWaitCtx(ctx), wait); err != nil {
			return err // shutting down: the entry stays pending for the next instance
		}
	}
}

// maxInlineWait is the longest rate limit waited out inside the handler: half of
// reclaim_idle, so the entry cannot be reclaimed (and sent) before the wait is over, even
// if this instance stops during it; at most maxRetryWait.
func (s *sendWorker) maxInlineWait() time.Duration {
	return min(maxRetryWait, s.cfg.ReclaimIdle/2)
}

// deferSend keeps a rate-limited outbound entry out of the stream until now+after (see
// handleOutbound). Returning nil lets the consumer acknowledge it again, which is harmless.
func (s *sendWorker) deferSend(ctx context.Context, e store.Entry, raw string, cid int64, out channels.Outbound, after time.Duration) error {
	n, _ := strconv.Atoi(fmt.Sprint(e.Values["d"]))
	n++
	if n > s.cfg.MaxDeliveries {
		reason := fmt.Sprintf("the channel kept rate-limiting; gave up after %d deferrals", n-1)
		return s.recordFailure(ctx, cid, out.ID, out.ManagerID, out.Channel, reason)
	}
	due := s.clock.Now().Add(after)
	a := deferArgs{Group: groupSend, EntryID: e.ID, Due: ms(due), Deferrals: n, Out: raw}
	if err := deferScript.Run(ctx, s.rdb, s.keys.deferKeys(), a.argv()...).Err(); err != nil {
		return fmt.Errorf("defer send %s: %w", out.ID, err)
	}
	s.log.Info("send rate-limited; deferred", "outbound", out.ID, "channel", out.Channel, "retry_after", after, "deferrals", n)
	return nil
}

// retryWaitCtx is the context a wait between send retries ends on: Run's context while Run
// runs (shutdown does not wait out a rate limit's backoff), else ctx.
func (s *sendWorker) retryWaitCtx(ctx context.Context) context.Context {
	if p := s.runCtx.Load(); p != nil {
		return *p
	}
	return ctx
}

// giveUp ends a delivery of out that failed temporarily: the entry stays pending for
// redelivery, unless this was its last delivery (the next step is the dead-letter stream),
// in which case the failure is recorded and reported like a permanent one, so the author
// learns that the message never left.
func (s *sendWorker) giveUp(ctx context.Context, e store.Entry, cid int64, out channels.Outbound, err error) error {
	if e.Deliveries < int64(s.cfg.MaxDeliveries) {
		return fmt.Errorf("send %s on %s: %w", out.ID, out.Channel, err)
	}
	reason := locale.M("failure.gave_up", "n", e.Deliveries).Encode()
	return s.recordFailure(ctx, cid, out.ID, out.ManagerID, out.Channel, reason)
}

func (s *sendWorker) delivered(ctx context.Context, cid int64, out channels.Outbound, res channels.SendResult) error {
	now := s.clock.Now()
	a := deliveredArgs{Now: ms(now), Conv: cid, OutID: out.ID, Human: out.Human(), ChannelMsgID: res.ChannelMessageID,
		Manager: out.ManagerID, RefTTL: refTTL.Milliseconds(), Pending: res.Pending}
	if err := s.recordDelivered(ctx, out.Channel, out.Account, a, now); err != nil {
		return err
	}
	s.m.Sent.WithLabelValues(out.Channel, out.Kind).Inc()
	return nil
}

// recordDelivered runs delivered.lua and ends speed-to-lead at now when this was the first
// human reply the customer got.
func (s *sendWorker) recordDelivered(ctx context.Context, channel, account string, a deliveredArgs, now time.Time) error {
	v, err := deliveredScript.Run(ctx, s.rdb, s.keys.deliveredKeys(a.Conv, a.OutID, channel, account, a.ChannelMsgID),
		a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	if first, _ := v[0].(int64); first == 1 {
		if fi, _ := strconv.ParseInt(fmt.Sprint(v[1]), 10, 64); fi > 0 {
			s.m.SpeedToLead.WithLabelValues(channel).Observe(seconds(now, fi))
		}
	}
	return nil
}

// failureReason is what the people are told about a failed send: the channel's catalogue
// message (encoded: each reader gets it in their language), else the error's own text.
func failureReason(err error) string {
	var le *locale.Error
	if errors.As(err, &le) {
		return le.Msg.Encode()
	}
	return err.Error()
}

// recordFailure records a permanent delivery failure and tells the author (or, for an
// automatic message, the escalation target). reason is an encoded locale.Msg or plain
// text; the event carries it as it is, the transcript and the log in English.
func (s *sendWorker) recordFailure(ctx context.Context, cid int64, outID, managerID, channel, reason string) error {
	now := s.clock.Now()
	var note locale.Msg
	if m, ok := locale.Decode(reason); ok {
		note = locale.M("note.not_delivered", "reason", m)
	} else {
		note = locale.M("note.not_delivered", "reason", reason)
	}
	english := locale.English(reason)
	line, _ := json.Marshal(Message{Dir: "out", Kind: "note", Text: note.String(), Note: note.Encode(), ID: outID, At: now})
	a := failedArgs{Now: ms(now), Conv: cid, OutID: outID, Manager: managerID, Reason: reason, Line: string(line),
		Limit: s.cfg.TranscriptLimit, RefTTL: refTTL.Milliseconds()}
	n, err := failedScript.Run(ctx, s.rdb, s.keys.failedKeys(cid, outID), a.argv()...).Int()
	if err != nil {
		return fmt.Errorf("record send failure: %w", err)
	}
	if n == 1 {
		s.log.Warn("message could not be delivered", "conversation", cid, "outbound", outID, "channel", channel, "manager", managerID, "reason", english)
		if managerID == "" {
			s.m.Escalations.WithLabelValues("send_failure").Inc()
		}
	}
	return nil
}

// applyStatus records a delivery status of one of our outbound messages.
func (s *sendWorker) applyStatus(ctx context.Context, in channels.Inbound) error {
	ref := in.Meta["ref"]
	if ref == "" {
		return nil
	}
	v, err := s.rdb.Get(ctx, s.keys.outref(in.Channel, in.Account, ref)).Result()
	if err != nil {
		if isNil(err) {
			return nil // not ours, or older than refTTL
		}
		return err
	}
	parts := strings.SplitN(v, "|", 4) // conv|outbound id|manager[|h]
	if len(parts) < 3 {
		return nil
	}
	cid, _ := strconv.ParseInt(parts[0], 10, 64)
	status := in.Meta["status"]
	if status == "failed" {
		reason := in.Meta["error"]
		if reason == "" {
			reason = "the channel reported the message as not delivered"
		}
		return s.recordFailure(ctx, cid, parts[1], parts[2], in.Channel, reason)
	}
	if status == "" {
		return nil
	}
	if len(parts) == 4 && parts[3] == "h" && (status == "delivered" || status == "read") {
		// A human reply the channel held for the customer (SendResult.Pending) reached them:
		// speed-to-lead ends when the channel saw it delivered.
		at := in.ReceivedAt
		if at.IsZero() {
			at = s.clock.Now()
		}
		a := deliveredArgs{Now: ms(at), Conv: cid, OutID: parts[1], Human: true, Manager: parts[2], RefTTL: refTTL.Milliseconds()}
		if err := s.recordDelivered(ctx, in.Channel, in.Account, a, at); err != nil {
			return err
		}
	}
	return s.rdb.Set(ctx, s.keys.out(parts[1]), status, refTTL).Err()
}
