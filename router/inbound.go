package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/store"
)

// doneTTL is how long an applied inbound entry id is remembered (longer than any redelivery).
const doneTTL = 7 * 24 * time.Hour

// inboundApplier applies the inbound stream: each customer message to its conversation
// (process.lua: a new conversation is qualified, acknowledged and queued for an offer), and
// delivery statuses to the outbound messages they report on.
type inboundApplier struct {
	*base
	team     *team
	tpl      *customerTexts
	q        qualify.Qualifier
	senders  *senders
	offers   *offerer
	statuses *sendWorker    // delivery statuses of outbound messages
	zone     *time.Location // router.time_zone (nil: the zone of the next shift)
}

func (a *inboundApplier) consumer(instance, suffix string) *store.Consumer {
	return store.NewBatchConsumer(a.rdb, a.consumerConfig(a.keys.Inbound(), groupRouter, instance, "in"+suffix),
		a.handleInbounds, a.log, a.m)
}

func (a *inboundApplier) handleInbound(ctx context.Context, e store.Entry) error {
	in, err := store.DecodeInbound(e.Values)
	if err != nil {
		// Not retryable: a malformed entry would fail forever. Keep it in the dead-letter stream.
		a.log.Error("malformed inbound entry moved to the dead-letter stream", "id", e.ID, "err", err)
		return a.deadLetter(ctx, e, "malformed inbound entry")
	}
	switch in.Kind {
	case channels.KindStatus:
		return a.statuses.applyStatus(ctx, in)
	case channels.KindCall:
		return a.applyCall(ctx, entryIdentity(e), in)
	}
	return a.applyMessage(ctx, entryIdentity(e), in)
}

// handleInbounds applies one read's entries in stream order. Runs of consecutive customer
// messages are applied with their process.lua calls pipelined (one round trip for the run);
// anything else (delivery statuses, malformed entries) is handled on its own between runs,
// so the order of effects is exactly the stream's.
func (a *inboundApplier) handleInbounds(ctx context.Context, entries []store.Entry) []error {
	errs := make([]error, len(entries))
	var run []pendingMessage
	flush := func() {
		if len(run) > 0 {
			a.applyMessages(ctx, run, errs)
			run = run[:0]
		}
	}
	for i, e := range entries {
		in, err := store.DecodeInbound(e.Values)
		if err != nil || in.Kind == channels.KindStatus || in.Kind == channels.KindCall {
			flush()
			errs[i] = a.handleInbound(ctx, e)
			continue
		}
		pm, err := a.prepareMessage(ctx, entryIdentity(e), in)
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
	keys []string
	args processArgs
}

// applyMessages runs process.lua for every message of ms in one pipeline, in order, and
// stores each one's outcome in errs[m.idx]. process.lua is idempotent per entry, so the
// NOSCRIPT fallback may run one again.
func (a *inboundApplier) applyMessages(ctx context.Context, ms []pendingMessage, errs []error) {
	calls := make([]store.Call, len(ms))
	for i, m := range ms {
		calls[i] = store.Call{Keys: m.keys, Args: m.args.argv()}
	}
	for i, cmd := range processScript.EvalPipelined(ctx, a.rdb, calls) {
		res, err := cmd.Slice()
		errs[ms[i].idx] = a.finishMessage(ctx, ms[i], res, err)
	}
}

func (a *inboundApplier) applyMessage(ctx context.Context, entryID string, in channels.Inbound) error {
	m, err := a.prepareMessage(ctx, entryID, in)
	if err != nil {
		return err
	}
	res, err := processScript.Run(ctx, a.rdb, m.keys, m.args.argv()...).Slice()
	return a.finishMessage(ctx, m, res, err)
}

// prepareMessage qualifies a customer message and builds process.lua's arguments.
func (a *inboundApplier) prepareMessage(ctx context.Context, entryID string, in channels.Inbound) (pendingMessage, error) {
	now := a.clock.Now()
	kind := in.Kind
	if kind == channels.KindCall {
		kind = channels.KindMessage // the customer's call (see applyCall)
	}
	var q qualify.Result
	if a.q != nil && kind == channels.KindMessage {
		var err error
		if q, err = a.q.Qualify(ctx, in); err != nil {
			return pendingMessage{}, fmt.Errorf("qualify: %w", err)
		}
	}
	firstIn := in.ReceivedAt
	if firstIn.IsZero() || firstIn.After(now) {
		firstIn = now
	}
	line, _ := json.Marshal(Message{Dir: "in", Kind: in.Kind, Text: in.Text, Attachments: in.Attachments, ID: in.MessageID, At: firstIn, Note: in.Note})
	meta := ""
	if len(in.Meta) > 0 {
		b, _ := json.Marshal(in.Meta)
		meta = string(b)
	}
	// The automatic acknowledgement, sent with the creation of a new conversation, or the
	// off-hours text when nobody can answer.
	var ack autoReply
	var online []string // nobody_online: presence keys of the managers on shift
	// No automatic reply to a comment lead: the one private reply Instagram allows per
	// comment belongs to the manager's first answer.
	if in.Kind == channels.KindMessage && a.senders.get(in.Channel) != nil && !q.Spam && !in.NoAutoReply {
		cands := a.team.onShift(now)
		switch {
		case len(cands) == 0:
			ack.kind, ack.out, ack.line = autoReplyJSON(in, "off_hours", a.offHoursText(in, now), now)
		default:
			ack.kind, ack.out, ack.line = autoReplyJSON(in, "auto_ack", a.tpl.text(keyAutoAck, in.Channel, in.Account), now)
			if a.cfg.OffHoursWhen == OffHoursNobodyOnline {
				_, ack.altOut, ack.altLine = autoReplyJSON(in, "off_hours", a.offHoursText(in, now), now)
				for _, c := range cands {
					online = append(online, a.keys.mgr(c.ID))
				}
			}
		}
	}
	origID, patch, unset := rewriteOf(in)
	var hc, ph, eh, why string
	if kind == channels.KindMessage {
		hc, ph, eh = a.keys.contactPseudonym(in.ContactID), a.keys.phonePseudonym(in.Phone), a.keys.emailPseudonym(in.Email)
		if lines := q.Explanation.Lines(); len(lines) > 0 {
			b, _ := json.Marshal(lines)
			why = string(b)
		}
	}
	pc, _ := a.prechatFor(in, q.Spam, firstIn, now)
	if pc.Phone != "" {
		pc.PhoneHash = a.keys.phonePseudonym(pc.Phone)
	}
	return pendingMessage{in: in, spam: q.Spam, keys: a.keys.processKeys(entryID, in.Channel, in.Account, in.ContactID, online),
		args: processArgs{Now: ms(now), DoneTTL: doneTTL.Milliseconds(), Kind: kind, Channel: in.Channel,
			Account: in.Account, ContactID: in.ContactID, Line: string(line), Limit: a.cfg.TranscriptLimit,
			Name: in.DisplayName, Phone: in.Phone, Email: in.Email, Source: in.Source, Meta: meta,
			Priority: min(max(q.Priority+in.PriorityBoost, 0), 9), Tags: strings.Join(q.Tags, ","), Spam: q.Spam, FirstIn: ms(firstIn),
			AckKind: ack.kind, AckOut: ack.out, AckLine: ack.line, Retention: a.cfg.Retention.Milliseconds(),
			OrigID: origID, Patch: patch, Unset: unset, PhoneHash: ph, EmailHash: eh, Why: why,
			OffOut: ack.altOut, OffLine: ack.altLine, PreChat: pc, ContactHash: hc}}, nil
}

// autoReply is the automatic reply to a new conversation: kind, outbound JSON and transcript
// line with "__CID__" placeholders ("" = none); in nobody_online mode with managers on
// shift also the off-hours alternative, which process.lua sends instead when none of them
// is online.
type autoReply struct {
	kind, out, line string
	altOut, altLine string
}

// autoReplyJSON builds an automatic reply's outbound and transcript line ("" for an empty text).
func autoReplyJSON(in channels.Inbound, kind, text string, now time.Time) (string, string, string) {
	if text == "" {
		return "", "", ""
	}
	out := channels.Outbound{ID: "c__CID__-" + kind, ConversationID: "__CID__", Channel: in.Channel,
		Account: in.Account, ContactID: in.ContactID, Kind: kind, Text: text, Meta: in.Meta, CreatedAt: now}
	b, _ := json.Marshal(out)
	l, _ := json.Marshal(Message{Dir: "out", Kind: kind, Text: text, ID: out.ID, At: now})
	return kind, string(b), string(l)
}

// rewriteOf says how an edit or a deletion changes the customer's original message in the
// transcript: its channel id, the JSON fields to set on its line and the fields to remove.
// origID is "" for anything else.
func rewriteOf(in channels.Inbound) (origID, patch, unset string) {
	switch in.Kind {
	case channels.KindEdit:
		p := map[string]any{"edited": true, "text": in.Text}
		if len(in.Attachments) > 0 {
			p["attachments"] = in.Attachments
		}
		b, _ := json.Marshal(p)
		return in.Meta["edited_id"], string(b), ""
	case channels.KindDelete:
		return in.Meta["deleted_id"], `{"deleted":true}`, "text,attachments"
	}
	return "", "", ""
}

// finishMessage records the outcome of process.lua for one message.
func (a *inboundApplier) finishMessage(ctx context.Context, m pendingMessage, res []any, err error) error {
	if err != nil {
		return fmt.Errorf("apply inbound: %w", err)
	}
	status, _ := res[0].(string)
	created, _ := res[2].(int64)
	if status == "ignored" {
		a.m.InboundIgnored.WithLabelValues(m.in.Channel, m.in.Kind).Inc()
		a.log.Debug("inbound item for no open conversation dropped", "channel", m.in.Channel, "kind", m.in.Kind)
		return nil
	}
	if status == "ok" && created == 1 {
		a.m.Conversations.WithLabelValues(m.in.Channel).Inc()
		if m.spam {
			a.m.Closed.WithLabelValues(m.in.Channel).Inc()
			return nil
		}
		a.offers.request(ctx)
	}
	// a follow-up (also one applied before, when the caller failed before its re-qualification)
	if (status == "ok" || status == "dup") && created == 0 && len(res) > 5 {
		state, _ := res[3].(string)
		nin, _ := res[5].(int64)
		if nin > 1 && (state == StateWaiting || state == StateOffered) {
			cid, _ := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64)
			return a.requalify(ctx, m.in, cid, int(nin))
		}
	}
	return nil
}

// requalify judges a follow-up customer message (the nin-th) of conversation cid while it
// waits for a human, with the real message count, and raises the conversation's priority
// and tags to what the matched rules give (requalify.lua, which checks again that nobody
// has qualified or answered it). The rule: a follow-up only ever adds — a higher priority,
// new tags and their explanation lines on the lead card; it never lowers what an earlier
// message earned, and a not-a-lead rule matching a follow-up is ignored, so a lead is
// never closed by a later message (an owner who sees spam in it closes it as a tourist).
func (a *inboundApplier) requalify(ctx context.Context, in channels.Inbound, cid int64, nin int) error {
	rq, ok := a.q.(qualify.Requalifier)
	if !ok || in.Kind != channels.KindMessage || cid <= 0 {
		return nil
	}
	at := in.ReceivedAt // as for the first message; a redelivery keeps the message's own time
	if at.IsZero() {
		at = a.clock.Now()
	}
	q, err := rq.Requalify(ctx, qualify.Input{Inbound: in, Messages: nin, At: at})
	if err != nil {
		return fmt.Errorf("qualify follow-up: %w", err)
	}
	var rules []requalifyRule
	for _, r := range q.Explanation.Rules {
		if r.NotALead || (r.Priority == nil && len(r.Tags) == 0) {
			continue
		}
		p := -1
		if r.Priority != nil {
			p = min(max(*r.Priority+in.PriorityBoost, 0), 9)
		}
		rules = append(rules, requalifyRule{Line: fmt.Sprintf("message %d: %s", nin, r.String()), Prio: p, Tags: r.Tags})
	}
	if len(rules) == 0 {
		return nil
	}
	res, err := requalifyScript.Run(ctx, a.rdb, a.keys.requalifyKeys(cid),
		requalifyArgs{Conv: cid, Count: nin, Rules: rules}.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("requalify: %w", err)
	}
	if status, _ := res[0].(string); status == "raised" {
		a.log.Debug("follow-up message raised the qualification", "conversation", cid, "priority", res[1])
		a.offers.request(ctx)
	}
	return nil
}
