package router

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/store"
)

// Supervisor actions (see ops_types.go). Each checks that the caller is a supervisor and
// appends an entry to {P}:audit: in the same script as the action where the action is one
// script in the router's slot (offline, reassign, front, close, resend), right after it
// otherwise (dead letters: the inbound stream is in another slot; exports and erasures).

// auditMaxLen caps the audit stream (ids only; the oldest entries go first).
const auditMaxLen = 100000

// Audit actions (AuditEntry.Action).
const (
	AuditOffline  = "offline"
	AuditReassign = "reassign"
	AuditFront    = "front"
	AuditClose    = "close"
	AuditReplay   = "replay"
	AuditDiscard  = "discard"
	AuditResend   = "resend"
	AuditExport   = "export"
	AuditErase    = "erase"
)

// supervisor checks that id is a configured supervisor.
func (r *Router) supervisor(id string) error {
	if r.Role(id) != RoleSupervisor {
		return fmt.Errorf("%w: only a supervisor can do this", ErrForbidden)
	}
	return nil
}

// audit appends a supervisor action written from Go (see above).
func (b *base) audit(ctx context.Context, by, action string, lead int64, manager, detail string) error {
	l := ""
	if lead > 0 {
		l = i64s(lead)
	}
	return b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: b.keys.audit(), MaxLen: auditMaxLen, Approx: true, Values: []any{
		"at", ms(b.clock.Now()), "by", by, "action", action, "lead", l, "manager", manager, "detail", detail}}).Err()
}

// ForceOffline sets a manager offline as presence.lua does when they go offline themselves:
// their offers and accepted but unanswered leads go back to the queue and are offered again.
func (r *Router) ForceOffline(ctx context.Context, supervisorID, managerID string) error {
	if err := r.supervisor(supervisorID); err != nil {
		return err
	}
	m, err := r.team.lead(managerID)
	if err != nil {
		return err
	}
	a := forceOfflineArgs{Now: ms(r.b.clock.Now()), Manager: managerID, Sales: m.Role == RoleSales, Supervisor: supervisorID}
	n, err := presenceScript.Run(ctx, r.b.rdb, r.b.keys.forceOfflineKeys(managerID), a.argv()...).Int()
	if err != nil {
		return fmt.Errorf("force offline: %w", err)
	}
	r.b.log.Info("manager forced offline", "manager", managerID, "by", supervisorID, "returned_to_queue", n)
	if a.Sales {
		if err := r.desk.sales.offline(ctx, managerID); err != nil {
			return err
		}
	}
	r.offers.after(ctx)
	return nil
}

// Reassign offers a lead to the lead-manager toManager at once, taking it from whoever holds
// it (reassign.lua, one atomic step: an accept racing with it either lands first and the lead
// is then taken from the acceptor, or finds the offer gone). The target must be a configured,
// online lead-manager; their capacity may be exceeded (a supervisor's decision).
func (r *Router) Reassign(ctx context.Context, supervisorID string, convID int64, toManager string) error {
	if err := r.supervisor(supervisorID); err != nil {
		return err
	}
	m, ok := r.team.byID[toManager]
	if !ok || m.Role != RoleLead {
		return fmt.Errorf("%w: %q is not a lead-manager", ErrInvalid, toManager)
	}
	now := r.b.clock.Now()
	a := reassignArgs{Now: ms(now), Conv: convID, Target: toManager, OfferTimeout: r.b.cfg.OfferTimeout.Milliseconds(),
		Supervisor: supervisorID}
	res, err := reassignScript.Run(ctx, r.b.rdb, r.b.keys.reassignKeys(convID, toManager), a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("reassign: %w", err)
	}
	switch status, _ := res[0].(string); status {
	case "ok":
	case "already":
		return nil
	case "offline":
		return fmt.Errorf("%w: %s is not online", ErrConflict, toManager)
	default:
		return statusErr(status)
	}
	r.b.m.Offers.WithLabelValues(toManager).Inc()
	if first, _ := res[2].(int64); first == 1 {
		if fi, _ := strconv.ParseInt(fmt.Sprint(res[4]), 10, 64); fi > 0 {
			ch, _ := res[3].(string)
			r.b.m.TimeToFirstOffer.WithLabelValues(ch).Observe(seconds(now, fi))
		}
	} else {
		r.b.m.Reoffers.Inc()
	}
	r.offers.after(ctx) // the previous holder may be free for another lead
	return nil
}

// MoveToFront puts a waiting lead at the head of the queue and drains it.
func (r *Router) MoveToFront(ctx context.Context, supervisorID string, convID int64) error {
	if err := r.supervisor(supervisorID); err != nil {
		return err
	}
	a := frontArgs{Now: ms(r.b.clock.Now()), Conv: convID, Supervisor: supervisorID}
	status, err := frontScript.Run(ctx, r.b.rdb, r.b.keys.frontKeys(convID), a.argv()...).Text()
	if err != nil {
		return fmt.Errorf("move to front: %w", err)
	}
	if status == "notwaiting" {
		return fmt.Errorf("%w: the lead is not waiting in the queue", ErrConflict)
	}
	if err := statusErr(status); err != nil {
		return err
	}
	r.offers.after(ctx)
	return nil
}

// CloseLead closes a lead in any open state without the polite-close text.
func (r *Router) CloseLead(ctx context.Context, supervisorID string, convID int64) error {
	if err := r.supervisor(supervisorID); err != nil {
		return err
	}
	a := opsCloseArgs{Now: ms(r.b.clock.Now()), Conv: convID, Retention: r.b.cfg.Retention.Milliseconds(), Supervisor: supervisorID}
	res, err := opsCloseScript.Run(ctx, r.b.rdb, r.b.keys.opsCloseKeys(convID), a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	status, _ := res[0].(string)
	if err := statusErr(status); err != nil {
		return err
	}
	ch, _ := res[1].(string)
	r.b.m.Closed.WithLabelValues(ch).Inc()
	r.offers.after(ctx)
	return nil
}

// deadStreams are the streams with a dead-letter stream, by the short name DeadLetter.Stream
// and the API use.
func (r *Router) deadStreams() map[string]string {
	return map[string]string{"inbound": r.b.keys.Inbound(), "outbound": r.b.keys.outbound(),
		"events": r.b.keys.events(), "fired": r.b.keys.fired()}
}

func (r *Router) deadStream(name string) (string, error) {
	s, ok := r.deadStreams()[name]
	if !ok {
		return "", fmt.Errorf("%w: no dead-letter stream %q (inbound, outbound, events, fired)", ErrInvalid, name)
	}
	return s, nil
}

// The fields the consumers add to a dead-lettered entry (store.Consumer, base.deadLetter).
const (
	deadFromField       = "dead_from_id"
	deadDeliveriesField = "dead_deliveries"
	deadErrorField      = "dead_error"
)

// DeadLetters lists the dead-lettered entries of every stream, newest first.
func (r *Router) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []DeadLetter
	for name, s := range r.deadStreams() {
		msgs, err := r.b.rdb.XRevRangeN(ctx, store.DeadLetter(s), "+", "-", int64(limit)).Result()
		if err != nil && !isNil(err) {
			return nil, fmt.Errorf("dead letters: %w", err)
		}
		for _, m := range msgs {
			d := DeadLetter{Stream: name, ID: m.ID, Fields: map[string]string{}}
			if msStr, _, ok := strings.Cut(m.ID, "-"); ok {
				v, _ := strconv.ParseInt(msStr, 10, 64)
				d.At = fromMS(v)
			}
			for k, v := range m.Values {
				sv := fmt.Sprint(v)
				switch k {
				case deadDeliveriesField:
					d.Deliveries, _ = strconv.ParseInt(sv, 10, 64)
				case deadErrorField:
					d.Error = sv
				case deadFromField:
					d.Fields["source_id"] = sv
				default:
					if !strings.HasPrefix(k, "dead_") {
						d.Fields[k] = sv
					}
				}
			}
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.After(out[j].At)
		}
		return out[i].ID > out[j].ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ReplayDeadLetter puts a dead-lettered entry back on its source stream (replay.lua). The
// handlers take the entry's identity from its replay_of field, so replaying an entry that
// was applied before it died applies nothing twice: an inbound message is applied once (its
// done marker), an outbound message with a recorded status is not sent again, a fired timer
// compares the offer seq, and an event keeps its id for the notifiers.
func (r *Router) ReplayDeadLetter(ctx context.Context, supervisorID, stream, id string) error {
	if err := r.supervisor(supervisorID); err != nil {
		return err
	}
	src, err := r.deadStream(stream)
	if err != nil {
		return err
	}
	newID, err := replayScript.Run(ctx, r.b.rdb, replayKeys(src), replayArgs{EntryID: id}.argv()...).Text()
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if newID == "" {
		return fmt.Errorf("%w: no such dead-letter entry", ErrNotFound)
	}
	r.b.log.Info("dead letter replayed", "stream", stream, "id", id, "new_id", newID, "by", supervisorID)
	return r.b.audit(ctx, supervisorID, AuditReplay, 0, "", stream+"/"+id+" -> "+newID)
}

// DiscardDeadLetter deletes a dead-lettered entry.
func (r *Router) DiscardDeadLetter(ctx context.Context, supervisorID, stream, id string) error {
	if err := r.supervisor(supervisorID); err != nil {
		return err
	}
	src, err := r.deadStream(stream)
	if err != nil {
		return err
	}
	n, err := r.b.rdb.XDel(ctx, store.DeadLetter(src), id).Result()
	if err != nil {
		if strings.Contains(err.Error(), "Invalid stream ID") {
			return fmt.Errorf("%w: no such dead-letter entry", ErrNotFound)
		}
		return fmt.Errorf("discard: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: no such dead-letter entry", ErrNotFound)
	}
	return r.b.audit(ctx, supervisorID, AuditDiscard, 0, "", stream+"/"+id)
}

// Resend queues a failed outbound message again under the same id (resend.lua). The message
// is rebuilt from its transcript line (its text and attachments) and the conversation (the
// channel, account, contact and channel meta): the outbound stream's copy is acknowledged
// and trimmed by then.
func (r *Router) Resend(ctx context.Context, supervisorID string, convID int64, outboundID string) error {
	if err := r.supervisor(supervisorID); err != nil {
		return err
	}
	c, err := r.b.conversation(ctx, convID)
	if err != nil {
		return err
	}
	st, err := r.b.rdb.Get(ctx, r.b.keys.out(outboundID)).Result()
	if err != nil && !isNil(err) {
		return err
	}
	if st != "failed" {
		return fmt.Errorf("%w: the message has not failed (or was resent already)", ErrConflict)
	}
	lines, err := r.b.rdb.LRange(ctx, r.b.keys.log(convID), 0, -1).Result()
	if err != nil {
		return err
	}
	var orig *Message
	for _, l := range lines {
		var m Message
		if json.Unmarshal([]byte(l), &m) == nil && m.Dir == "out" && m.ID == outboundID && m.Kind != "note" {
			orig = &m
			break
		}
	}
	if orig == nil {
		return fmt.Errorf("%w: the message is no longer in the transcript", ErrNotFound)
	}
	if r.senders.get(c.Channel) == nil {
		return fmt.Errorf("%w: %s cannot send: %v", ErrConflict, c.Channel, channels.ErrNoSender)
	}
	now := r.b.clock.Now()
	out := channels.Outbound{ID: outboundID, ConversationID: strconv.FormatInt(convID, 10), Channel: c.Channel,
		Account: c.Account, ContactID: c.ContactID, Kind: orig.Kind, ManagerID: orig.ManagerID, Text: orig.Text,
		Attachments: orig.Attachments, Meta: c.Meta, CreatedAt: now}
	b, _ := json.Marshal(out)
	a := resendArgs{Now: ms(now), Conv: convID, OutID: outboundID, Out: string(b), Supervisor: supervisorID}
	status, err := resendScript.Run(ctx, r.b.rdb, r.b.keys.resendKeys(convID, outboundID), a.argv()...).Text()
	if err != nil {
		return fmt.Errorf("resend: %w", err)
	}
	if status == "notfailed" {
		return fmt.Errorf("%w: the message has not failed (or was resent already)", ErrConflict)
	}
	return statusErr(status)
}

// AuditLog is the supervisor actions, newest first.
func (r *Router) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	msgs, err := r.b.rdb.XRevRangeN(ctx, r.b.keys.audit(), "+", "-", int64(limit)).Result()
	if err != nil && !isNil(err) {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { s, _ := m.Values[k].(string); return s }
		at, _ := strconv.ParseInt(str("at"), 10, 64)
		lead, _ := strconv.ParseInt(str("lead"), 10, 64)
		out = append(out, AuditEntry{ID: m.ID, At: fromMS(at), By: str("by"), Action: str("action"), Lead: lead,
			Manager: str("manager"), Detail: str("detail")})
	}
	return out, nil
}
