package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/store"
)

// sendTimeout bounds one Send call.
const sendTimeout = 30 * time.Second

// maxRetryWait: a rate limit asking for longer than this leaves the entry for redelivery.
const maxRetryWait = 30 * time.Second

// handleOutbound sends one outbound message with retries. A permanent failure is recorded
// and reported to the manager who wrote the message; temporary failures beyond send_retries
// leave the entry pending, so it is redelivered (and dead-lettered after max_deliveries).
func (r *Router) handleOutbound(ctx context.Context, e store.Entry) error {
	raw, _ := e.Values["o"].(string)
	var out channels.Outbound
	if err := json.Unmarshal([]byte(raw), &out); err != nil || out.ID == "" {
		r.log.Error("malformed outbound entry moved to the dead-letter stream", "id", e.ID)
		return r.rdb.XAdd(ctx, deadLetterArgs(e)).Err()
	}
	cid, _ := strconv.ParseInt(out.ConversationID, 10, 64)
	// A redelivered entry whose send already succeeded or failed for good is not sent again.
	if st, err := r.rdb.Get(ctx, r.keys.out(out.ID)).Result(); err == nil && st != "" {
		return nil
	} else if err != nil && !isNil(err) {
		return err
	}
	s := r.sender(out.Channel)
	if s == nil {
		if out.Human() {
			return r.recordFailure(ctx, cid, out.ID, out.ManagerID, out.Channel, channels.ErrNoSender.Error())
		}
		return nil // automatic message on a channel that cannot send (web form): nothing to do
	}
	for attempt := 0; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		res, err := s.Send(sctx, out)
		cancel()
		if err == nil {
			return r.delivered(ctx, cid, out, res)
		}
		if channels.IsPermanent(err) {
			r.m.SendFailed.WithLabelValues(out.Channel, "permanent").Inc()
			return r.recordFailure(ctx, cid, out.ID, out.ManagerID, out.Channel, err.Error())
		}
		r.m.SendFailed.WithLabelValues(out.Channel, "temporary").Inc()
		if attempt >= r.cfg.SendRetries {
			return r.giveUp(ctx, e, cid, out, err)
		}
		wait := time.Duration(200<<attempt) * time.Millisecond
		var ra *channels.RetryAfterError
		if errors.As(err, &ra) {
			wait = ra.After
		}
		if wait > maxRetryWait {
			return r.giveUp(ctx, e, cid, out, err)
		}
		r.log.Info("send failed, retrying", "outbound", out.ID, "channel", out.Channel, "attempt", attempt+1, "wait", wait, "err", err)
		if err := r.sleep(r.retryWaitCtx(ctx), wait); err != nil {
			return err // shutting down: the entry stays pending for the next instance
		}
	}
}

// retryWaitCtx is the context a wait between send retries ends on: Run's context while Run
// runs (shutdown does not wait out a rate limit's backoff), else ctx.
func (r *Router) retryWaitCtx(ctx context.Context) context.Context {
	if p := r.runCtx.Load(); p != nil {
		return *p
	}
	return ctx
}

// giveUp ends a delivery of out that failed temporarily: the entry stays pending for
// redelivery, unless this was its last delivery (the next step is the dead-letter stream),
// in which case the failure is recorded and reported like a permanent one, so the author
// learns that the message never left.
func (r *Router) giveUp(ctx context.Context, e store.Entry, cid int64, out channels.Outbound, err error) error {
	if e.Deliveries < int64(r.cfg.MaxDeliveries) {
		return fmt.Errorf("send %s on %s: %w", out.ID, out.Channel, err)
	}
	reason := fmt.Sprintf("the channel kept failing; gave up after %d deliveries", e.Deliveries)
	return r.recordFailure(ctx, cid, out.ID, out.ManagerID, out.Channel, reason)
}

func (r *Router) delivered(ctx context.Context, cid int64, out channels.Outbound, res channels.SendResult) error {
	now := r.clock.Now()
	a := deliveredArgs{Now: ms(now), Conv: cid, OutID: out.ID, Human: out.Human(), ChannelMsgID: res.ChannelMessageID,
		Manager: out.ManagerID, RefTTL: refTTL.Milliseconds()}
	v, err := deliveredScript.Run(ctx, r.rdb, r.keys.deliveredKeys(cid, out.ID, out.Channel, out.Account, res.ChannelMessageID),
		a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	r.m.Sent.WithLabelValues(out.Channel, out.Kind).Inc()
	if first, _ := v[0].(int64); first == 1 {
		if fi, _ := strconv.ParseInt(fmt.Sprint(v[1]), 10, 64); fi > 0 {
			r.m.SpeedToLead.WithLabelValues(out.Channel).Observe(seconds(now, fi))
		}
	}
	return nil
}

// recordFailure records a permanent delivery failure and tells the author (or, for an
// automatic message, the escalation target).
func (r *Router) recordFailure(ctx context.Context, cid int64, outID, managerID, channel, reason string) error {
	now := r.clock.Now()
	line, _ := json.Marshal(Message{Dir: "out", Kind: "note", Text: "not delivered: " + reason, ID: outID, At: now})
	a := failedArgs{Now: ms(now), Conv: cid, OutID: outID, Manager: managerID, Reason: reason, Line: string(line),
		Limit: r.cfg.TranscriptLimit, RefTTL: refTTL.Milliseconds()}
	n, err := failedScript.Run(ctx, r.rdb, r.keys.failedKeys(cid, outID), a.argv()...).Int()
	if err != nil {
		return fmt.Errorf("record send failure: %w", err)
	}
	if n == 1 {
		r.log.Warn("message could not be delivered", "conversation", cid, "outbound", outID, "channel", channel, "manager", managerID, "reason", reason)
		if managerID == "" {
			r.m.Escalations.WithLabelValues("send_failure").Inc()
		}
	}
	return nil
}
