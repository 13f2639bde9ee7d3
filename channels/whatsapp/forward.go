package whatsapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
)

// Only the process holding an account's lease has its WhatsApp connection, but the router's
// outbound worker may run the send anywhere. A process that does not hold the account hands
// the send to the holder through Redis and waits for its answer:
//
//	requester: LPUSH {P:ch:whatsapp:<acct>}:sendq  {"r": req id, "dl": deadline ms, "o": Outbound}
//	           BLPOP {P:ch:whatsapp:<acct>}:sendr:<req id>  (until the deadline)
//	holder:    BRPOP sendq, send, LPUSH sendr:<req id> {"id": message id} | {"err": text, "perm": bool}
//
// If the holder dies mid-way the requester times out with a temporary error and the router
// retries; the WhatsApp message id is derived from Outbound.ID, so a send that did happen is
// not duplicated by the retry.

// DefaultForwardTimeout is how long a non-holder waits for the holder's answer.
const DefaultForwardTimeout = 20 * time.Second

type forwardRequest struct {
	Req      string            `json:"r"`
	Deadline int64             `json:"dl"` // unix ms; the holder drops requests past it
	Out      channels.Outbound `json:"o"`
}

type forwardReply struct {
	ID        string      `json:"id,omitempty"`
	Err       string      `json:"err,omitempty"`
	Msg       *locale.Msg `json:"msg,omitempty"` // the catalogue message of Err, if it has one
	Permanent bool        `json:"perm,omitempty"`
}

func (c *Channel) sendQueueKey(account string) string {
	return c.d.Keys.Channel(channels.WhatsApp, account, "sendq")
}

func (c *Channel) sendReplyKey(account, req string) string {
	return c.d.Keys.Channel(channels.WhatsApp, account, "sendr:"+req)
}

// heldElsewhere reports whether another process holds the account's lease.
func (a *account) heldElsewhere(ctx context.Context) (bool, error) {
	n, err := a.ch.d.Redis.Exists(ctx, a.ch.d.Keys.Lease("whatsapp:"+a.name)).Result()
	return n == 1, err
}

// forward hands out to the process holding the account and returns its result.
func (c *Channel) forward(ctx context.Context, a *account, out channels.Outbound) (channels.SendResult, error) {
	wait := c.forwardTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl)-time.Second < wait {
		wait = time.Until(dl) - time.Second
	}
	if wait < time.Second {
		wait = time.Second
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	req := forwardRequest{Req: hex.EncodeToString(b), Deadline: c.d.Clock.Now().Add(wait).UnixMilli(), Out: out}
	payload, err := json.Marshal(req)
	if err != nil {
		return channels.SendResult{}, err
	}
	q := c.sendQueueKey(a.name)
	pipe := c.d.Redis.TxPipeline()
	pipe.LPush(ctx, q, payload)
	pipe.PExpire(ctx, q, 10*time.Minute) // nobody serving the queue: it goes away
	if _, err := pipe.Exec(ctx); err != nil {
		return channels.SendResult{}, fmt.Errorf("whatsapp: hand the send to the account holder: %w", err)
	}
	res, err := c.d.Redis.BLPop(ctx, wait, c.sendReplyKey(a.name, req.Req)).Result()
	if errors.Is(err, redis.Nil) {
		return channels.SendResult{}, fmt.Errorf("whatsapp account %q: the process holding it did not answer within %s", a.name, wait)
	}
	if err != nil {
		return channels.SendResult{}, fmt.Errorf("whatsapp: wait for the account holder: %w", err)
	}
	var rep forwardReply
	if len(res) != 2 || json.Unmarshal([]byte(res[1]), &rep) != nil {
		return channels.SendResult{}, errors.New("whatsapp: malformed answer from the account holder")
	}
	switch {
	case rep.Err != "" && rep.Permanent && rep.Msg != nil:
		return channels.SendResult{}, channels.Permanent(&locale.Error{Msg: *rep.Msg, Err: errors.New(rep.Err)})
	case rep.Err != "" && rep.Permanent:
		return channels.SendResult{}, channels.Permanent(errors.New(rep.Err))
	case rep.Err != "":
		return channels.SendResult{}, errors.New(rep.Err)
	}
	return channels.SendResult{ChannelMessageID: rep.ID}, nil
}

// serveForwarded answers forwarded sends while this process holds the account.
func (a *account) serveForwarded(ctx context.Context) {
	idle := time.NewTicker(a.lease.TTL() / 3)
	defer idle.Stop()
	for ctx.Err() == nil {
		if a.liveClient() == nil {
			select {
			case <-ctx.Done():
			case <-idle.C:
			}
			continue
		}
		if _, err := a.serveOne(ctx, time.Second); err != nil && ctx.Err() == nil {
			a.log.Warn("whatsapp: serving a forwarded send failed", "err", err)
			select { // do not spin on a broken Redis
			case <-ctx.Done():
			case <-idle.C:
			}
		}
	}
}

// serveOne waits up to block for one forwarded send and answers it. It reports whether
// there was one.
func (a *account) serveOne(ctx context.Context, block time.Duration) (bool, error) {
	c := a.ch
	res, err := c.d.Redis.BRPop(ctx, block, c.sendQueueKey(a.name)).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var req forwardRequest
	if len(res) != 2 || json.Unmarshal([]byte(res[1]), &req) != nil || req.Req == "" {
		return true, errors.New("malformed forwarded send dropped")
	}
	deadline := time.UnixMilli(req.Deadline)
	left := deadline.Sub(c.d.Clock.Now())
	if left <= 0 {
		return true, nil // the requester gave up; the router retries the send
	}
	sctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	var rep forwardReply
	client := a.liveClient()
	if client == nil {
		rep.Err = fmt.Sprintf("whatsapp account %q is not connected in the process that held it", a.name)
	} else if r, err := c.sendLocal(sctx, a, client, req.Out); err != nil {
		rep.Err, rep.Permanent = err.Error(), channels.IsPermanent(err)
		var le *locale.Error
		if errors.As(err, &le) {
			rep.Msg = &le.Msg
		}
	} else {
		rep.ID = r.ChannelMessageID
	}
	payload, _ := json.Marshal(rep)
	key := c.sendReplyKey(a.name, req.Req)
	pipe := c.d.Redis.TxPipeline()
	pipe.LPush(ctx, key, payload)
	pipe.PExpire(ctx, key, time.Minute)
	_, err = pipe.Exec(ctx)
	return true, err
}
