package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/store"
)

// doneTTL is how long an applied inbound entry id is remembered (longer than any redelivery).
const doneTTL = 7 * 24 * time.Hour

// refTTL is how long outbound ids and channel message ids are remembered for delivery statuses.
const refTTL = 8 * 24 * time.Hour

// queueScan bounds how many queued conversations one drain looks at.
const queueScan = 200

func (r *Router) handleInbound(ctx context.Context, e store.Entry) error {
	in, err := store.DecodeInbound(e.Values)
	if err != nil {
		// Not retryable: a malformed entry would fail forever. Keep it in the dead-letter stream.
		r.log.Error("malformed inbound entry moved to the dead-letter stream", "id", e.ID, "err", err)
		return r.rdb.XAdd(ctx, deadLetterArgs(e)).Err()
	}
	if in.Kind == channels.KindStatus {
		return r.applyStatus(ctx, in)
	}
	return r.applyMessage(ctx, e.ID, in)
}

func deadLetterArgs(e store.Entry) *redis.XAddArgs {
	values := map[string]any{"dead_from_id": e.ID}
	for k, v := range e.Values {
		values[k] = v
	}
	return &redis.XAddArgs{Stream: store.DeadLetter(e.Stream), Values: values, MaxLen: store.DeadLetterMaxLen, Approx: true}
}

// handleInbounds applies one read's entries in stream order. Runs of consecutive customer
// messages are applied with their process.lua calls pipelined (one round trip for the run);
// anything else (delivery statuses, malformed entries) is handled on its own between runs,
// so the order of effects is exactly the stream's.
func (r *Router) handleInbounds(ctx context.Context, entries []store.Entry) []error {
	errs := make([]error, len(entries))
	var run []pendingMessage
	flush := func() {
		if len(run) > 0 {
			r.applyMessages(ctx, run, errs)
			run = run[:0]
		}
	}
	for i, e := range entries {
		in, err := store.DecodeInbound(e.Values)
		if err != nil || in.Kind == channels.KindStatus {
			flush()
			errs[i] = r.handleInbound(ctx, e)
			continue
		}
		pm, err := r.prepareMessage(ctx, e.ID, in)
		if err != nil {
			errs[i] = err
			continue
		}
		pm.idx = i
		run = append(run, pm)
	}
	flush()
	return errs
}

// pendingMessage is a customer message ready for process.lua.
type pendingMessage struct {
	idx  int // index in the batch
	in   channels.Inbound
	spam bool
	args []any
}

// applyMessages runs process.lua for every message of ms in one pipeline, in order, and
// stores each one's outcome in errs[m.idx].
func (r *Router) applyMessages(ctx context.Context, ms []pendingMessage, errs []error) {
	keys := []string{r.keys.seq()}
	if len(ms) == 1 {
		res, err := processScript.Run(ctx, r.rdb, keys, ms[0].args...).Slice()
		errs[ms[0].idx] = r.finishMessage(ctx, ms[0], res, err)
		return
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(ms))
	for i, m := range ms {
		cmds[i] = processScript.EvalSha(ctx, pipe, keys, m.args...)
	}
	_, _ = pipe.Exec(ctx) // per-command errors are read below
	for i, m := range ms {
		res, err := cmds[i].Slice()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			// The script cache was flushed (Redis restarted): load it with Run, once per
			// message, in order. process.lua is idempotent per entry.
			res, err = processScript.Run(ctx, r.rdb, keys, m.args...).Slice()
		}
		errs[m.idx] = r.finishMessage(ctx, m, res, err)
	}
}

func (r *Router) applyMessage(ctx context.Context, entryID string, in channels.Inbound) error {
	m, err := r.prepareMessage(ctx, entryID, in)
	if err != nil {
		return err
	}
	res, err := processScript.Run(ctx, r.rdb, []string{r.keys.seq()}, m.args...).Slice()
	return r.finishMessage(ctx, m, res, err)
}

// prepareMessage qualifies a customer message and builds process.lua's arguments.
func (r *Router) prepareMessage(ctx context.Context, entryID string, in channels.Inbound) (pendingMessage, error) {
	now := r.clock.Now()
	var q qualify.Result
	if r.q != nil && in.Kind == channels.KindMessage {
		var err error
		if q, err = r.q.Qualify(ctx, in); err != nil {
			return pendingMessage{}, fmt.Errorf("qualify: %w", err)
		}
	}
	firstIn := in.ReceivedAt
	if firstIn.IsZero() || firstIn.After(now) {
		firstIn = now
	}
	line, _ := json.Marshal(Message{Dir: "in", Kind: in.Kind, Text: in.Text, Attachments: in.Attachments, ID: in.MessageID, At: firstIn})
	meta := ""
	if len(in.Meta) > 0 {
		b, _ := json.Marshal(in.Meta)
		meta = string(b)
	}
	// The automatic acknowledgement, sent with the creation of a new conversation.
	ackKind, ackOut, ackLine := "", "", ""
	// No automatic reply to a comment lead: the one private reply Instagram allows per
	// comment belongs to the manager's first answer.
	if r.sender(in.Channel) != nil && !q.Spam && !in.NoAutoReply {
		text := tplText(r.tpl.AutoAck)
		ackKind = "auto_ack"
		if !r.anyOnShift(now) {
			ackKind, text = "off_hours", tplText(r.tpl.OffHours)
		}
		if text != "" {
			out := channels.Outbound{ID: "c__CID__-" + ackKind, ConversationID: "__CID__", Channel: in.Channel,
				Account: in.Account, ContactID: in.ContactID, Kind: ackKind, Text: text, Meta: in.Meta, CreatedAt: now}
			b, _ := json.Marshal(out)
			l, _ := json.Marshal(Message{Dir: "out", Kind: ackKind, Text: text, ID: out.ID, At: now})
			ackOut, ackLine = string(b), string(l)
		} else {
			ackKind = ""
		}
	}
	spam := "0"
	if q.Spam {
		spam = "1"
	}
	return pendingMessage{in: in, spam: q.Spam, args: []any{
		r.keys.p, ms(now), entryID, doneTTL.Milliseconds(),
		in.Kind, in.Channel, in.Account, in.ContactID, string(line), r.cfg.TranscriptLimit,
		in.DisplayName, in.Phone, in.Email, in.Source, meta,
		q.Priority, strings.Join(q.Tags, ","), spam, ms(firstIn),
		ackKind, ackOut, ackLine, r.cfg.Retention.Milliseconds()}}, nil
}

// finishMessage records the outcome of process.lua for one message.
func (r *Router) finishMessage(ctx context.Context, m pendingMessage, res []any, err error) error {
	if err != nil {
		return fmt.Errorf("apply inbound: %w", err)
	}
	status, _ := res[0].(string)
	created, _ := res[2].(int64)
	if status == "ok" && created == 1 {
		r.m.Conversations.WithLabelValues(m.in.Channel).Inc()
		if m.spam {
			r.m.Closed.WithLabelValues(m.in.Channel).Inc()
			return nil
		}
		r.requestDrain(ctx)
	}
	return nil
}

// applyStatus records a delivery status of one of our outbound messages.
func (r *Router) applyStatus(ctx context.Context, in channels.Inbound) error {
	ref := in.Meta["ref"]
	if ref == "" {
		return nil
	}
	v, err := r.rdb.Get(ctx, r.keys.outref(in.Channel, in.Account, ref)).Result()
	if err != nil {
		if isNil(err) {
			return nil // not ours, or older than refTTL
		}
		return err
	}
	parts := strings.SplitN(v, "|", 3)
	if len(parts) != 3 {
		return nil
	}
	cid, _ := strconv.ParseInt(parts[0], 10, 64)
	status := in.Meta["status"]
	if status == "failed" {
		reason := in.Meta["error"]
		if reason == "" {
			reason = "the channel reported the message as not delivered"
		}
		return r.recordFailure(ctx, cid, parts[1], parts[2], in.Channel, reason)
	}
	if status != "" {
		return r.rdb.Set(ctx, r.keys.out(parts[1]), status, refTTL).Err()
	}
	return nil
}

// anyOnShift reports whether some lead-manager works now (else the off-hours template is used).
func (r *Router) anyOnShift(t time.Time) bool {
	for i := range r.managers {
		if r.managers[i].Role == RoleLead && r.managers[i].OnShift(t) {
			return true
		}
	}
	return false
}

// Drain offers queued conversations to free lead-managers. It is called after every change
// that can free a manager or add work, and every second (shifts starting).
func (r *Router) Drain(ctx context.Context) (int, error) {
	now := r.clock.Now()
	args := []any{r.keys.p, ms(now), r.cfg.Strategy, r.cfg.OfferTimeout.Milliseconds(), queueScan, 0}
	n := 0
	for i := range r.managers {
		m := &r.managers[i]
		if m.Role == RoleLead && m.OnShift(now) {
			args = append(args, m.ID, m.Capacity)
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	args[5] = n
	res, err := assignScript.Run(ctx, r.rdb, []string{r.keys.waiting()}, args...).Slice()
	if err != nil {
		return 0, fmt.Errorf("assign: %w", err)
	}
	offers := 0
	for i := 0; i+5 < len(res); i += 6 {
		mgr, _ := res[i+1].(string)
		first, _ := res[i+3].(int64)
		ch, _ := res[i+4].(string)
		r.m.Offers.WithLabelValues(mgr).Inc()
		if first == 1 {
			firstIn, _ := strconv.ParseInt(fmt.Sprint(res[i+5]), 10, 64)
			if firstIn > 0 {
				r.m.TimeToFirstOffer.WithLabelValues(ch).Observe(seconds(now, firstIn))
			}
		} else {
			r.m.Reoffers.Inc()
		}
		offers++
	}
	return offers, nil
}

func seconds(now time.Time, fromMS int64) float64 {
	d := float64(ms(now)-fromMS) / 1000
	if d < 0 {
		return 0
	}
	return d
}

func isNil(err error) bool { return errors.Is(err, redis.Nil) }
