package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
)

func (r *Router) lead(managerID string) (*Manager, error) {
	m, ok := r.byID[managerID]
	if !ok {
		return nil, ErrUnknownManager
	}
	return m, nil
}

func statusErr(status string) error {
	switch status {
	case "ok", "already":
		return nil
	case "notfound":
		return ErrNotFound
	case "notyours":
		return ErrNotYours
	case "closed":
		return fmt.Errorf("%w: the conversation is closed", ErrConflict)
	}
	return fmt.Errorf("unexpected script status %q", status)
}

// SetOnline sets a manager's presence. Going online drains the queue at once; going offline
// returns their unanswered conversations to it.
func (r *Router) SetOnline(ctx context.Context, managerID string, online bool) error {
	if _, err := r.lead(managerID); err != nil {
		return err
	}
	a := presenceArgs{Now: ms(r.clock.Now()), Manager: managerID, Online: online}
	n, err := presenceScript.Run(ctx, r.rdb, r.keys.presenceKeys(managerID), a.argv()...).Int()
	if err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	r.log.Info("manager presence changed", "manager", managerID, "online", online, "returned_to_queue", n)
	r.drainAfter(ctx)
	return nil
}

// Accept takes an offer.
func (r *Router) Accept(ctx context.Context, convID int64, managerID string) error {
	if _, err := r.lead(managerID); err != nil {
		return err
	}
	now := r.clock.Now()
	a := acceptArgs{Now: ms(now), Conv: convID, Manager: managerID, FirstResponse: r.cfg.FirstResponse.Milliseconds()}
	res, err := acceptScript.Run(ctx, r.rdb, r.keys.acceptKeys(convID, managerID), a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	status, _ := res[0].(string)
	if status == "ok" {
		if offered, _ := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64); offered > 0 {
			r.m.OfferToAccept.WithLabelValues(managerID).Observe(seconds(now, offered))
		}
	}
	return statusErr(status)
}

// Pass declines an offer; it goes to the next free manager.
func (r *Router) Pass(ctx context.Context, convID int64, managerID string) error {
	if _, err := r.lead(managerID); err != nil {
		return err
	}
	a := passArgs{Now: ms(r.clock.Now()), Conv: convID, Manager: managerID}
	status, err := passScript.Run(ctx, r.rdb, r.keys.passKeys(convID, managerID), a.argv()...).Text()
	if err != nil {
		return fmt.Errorf("pass: %w", err)
	}
	if err := statusErr(status); err != nil {
		return err
	}
	r.drainAfter(ctx)
	return nil
}

// maxReplyChars bounds a reply's text (characters, as the messengers count them; channels
// split longer texts where they must, e.g. Instagram at 1000).
const maxReplyChars = 4096

// Reply queues a human reply to the customer.
func (r *Router) Reply(ctx context.Context, convID int64, managerID, text string, atts []channels.Attachment) (string, error) {
	if _, err := r.lead(managerID); err != nil {
		return "", err
	}
	text = strings.TrimSpace(text)
	if text == "" && len(atts) == 0 {
		return "", fmt.Errorf("%w: the reply is empty", ErrInvalid)
	}
	if utf8.RuneCountInString(text) > maxReplyChars {
		return "", fmt.Errorf("%w: the reply is longer than %d characters", ErrInvalid, maxReplyChars)
	}
	c, err := r.Conversation(ctx, convID)
	if err != nil {
		return "", err
	}
	// Ownership first (the script checks it again atomically), so another manager learns
	// nothing about the conversation, not even its channel.
	if err := statusErr(replyStatus(c, managerID)); err != nil {
		return "", err
	}
	if r.sender(c.Channel) == nil {
		return "", fmt.Errorf("%w: %s leads cannot be answered here: %v; call the customer and mark the lead contacted", ErrConflict, c.Channel, channels.ErrNoSender)
	}
	now := r.clock.Now()
	seq, err := outSeqScript.Run(ctx, r.rdb, r.keys.outSeqKeys(convID)).Int64()
	if err != nil {
		return "", err
	}
	if seq == 0 {
		return "", ErrNotFound // erased meanwhile
	}
	out := channels.Outbound{ID: fmt.Sprintf("c%d-r%d", convID, seq), ConversationID: strconv.FormatInt(convID, 10),
		Channel: c.Channel, Account: c.Account, ContactID: c.ContactID, Kind: "reply", ManagerID: managerID,
		Text: text, Attachments: atts, Meta: c.Meta, CreatedAt: now}
	return out.ID, r.reply(ctx, convID, managerID, out, now)
}

// replyStatus is the reply script's status check, for an early answer.
func replyStatus(c *Conversation, managerID string) string {
	switch {
	case c.State == StateClosed:
		return "closed"
	case c.State != StateAssigned || c.ManagerID != managerID:
		return "notyours"
	}
	return "ok"
}

// MarkContacted records an off-channel first contact (a form lead called back).
func (r *Router) MarkContacted(ctx context.Context, convID int64, managerID string) error {
	if _, err := r.lead(managerID); err != nil {
		return err
	}
	return r.reply(ctx, convID, managerID, channels.Outbound{Kind: "contacted", ManagerID: managerID}, r.clock.Now())
}

func (r *Router) reply(ctx context.Context, convID int64, managerID string, out channels.Outbound, now time.Time) error {
	line, _ := json.Marshal(Message{Dir: "out", Kind: out.Kind, ManagerID: managerID, Text: out.Text, Attachments: out.Attachments, ID: out.ID, At: now})
	outJSON := ""
	if out.Kind == "reply" {
		b, _ := json.Marshal(out)
		outJSON = string(b)
	}
	a := replyArgs{Now: ms(now), Conv: convID, Manager: managerID, Line: string(line), Out: outJSON, Limit: r.cfg.TranscriptLimit}
	res, err := replyScript.Run(ctx, r.rdb, r.keys.replyKeys(convID), a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	status, _ := res[0].(string)
	if err := statusErr(status); err != nil {
		return err
	}
	if first, _ := res[1].(int64); first == 1 {
		if acc, _ := strconv.ParseInt(fmt.Sprint(res[2]), 10, 64); acc > 0 {
			r.m.AcceptToReply.WithLabelValues(managerID).Observe(seconds(now, acc))
		}
		if out.Kind == "contacted" {
			if fi, _ := strconv.ParseInt(fmt.Sprint(res[3]), 10, 64); fi > 0 {
				ch, _ := res[4].(string)
				r.m.SpeedToLead.WithLabelValues(ch).Observe(seconds(now, fi))
			}
		}
	}
	return nil
}

// Qualify sets hot, warm or tourist; a tourist gets the polite-close template and is closed.
func (r *Router) Qualify(ctx context.Context, convID int64, managerID, level string) error {
	if _, err := r.lead(managerID); err != nil {
		return err
	}
	if level != QualHot && level != QualWarm && level != QualTourist {
		return fmt.Errorf("%w: level must be hot, warm or tourist", ErrInvalid)
	}
	a := qualifyArgs{Now: ms(r.clock.Now()), Conv: convID, Manager: managerID, Level: level}
	status, err := qualifyScript.Run(ctx, r.rdb, r.keys.qualifyKeys(convID), a.argv()...).Text()
	if err != nil {
		return fmt.Errorf("qualify: %w", err)
	}
	if err := statusErr(status); err != nil {
		return err
	}
	r.m.Qualified.WithLabelValues(managerID, level).Inc()
	if level == QualTourist {
		return r.close(ctx, convID, managerID, true)
	}
	return nil
}

// Close closes a conversation assigned to the manager.
func (r *Router) Close(ctx context.Context, convID int64, managerID string) error {
	if _, err := r.lead(managerID); err != nil {
		return err
	}
	return r.close(ctx, convID, managerID, false)
}

func (r *Router) close(ctx context.Context, convID int64, managerID string, polite bool) error {
	now := r.clock.Now()
	outJSON, line := "", ""
	if polite && tplText(r.tpl.Close) != "" {
		c, err := r.Conversation(ctx, convID)
		if err != nil {
			return err
		}
		if r.sender(c.Channel) != nil {
			out := channels.Outbound{ID: fmt.Sprintf("c%d-close", convID), ConversationID: strconv.FormatInt(convID, 10),
				Channel: c.Channel, Account: c.Account, ContactID: c.ContactID, Kind: "close", Text: tplText(r.tpl.Close), Meta: c.Meta, CreatedAt: now}
			b, _ := json.Marshal(out)
			l, _ := json.Marshal(Message{Dir: "out", Kind: "close", Text: out.Text, ID: out.ID, At: now})
			outJSON, line = string(b), string(l)
		}
	}
	a := closeArgs{Now: ms(now), Conv: convID, Manager: managerID, Out: outJSON, Line: line,
		Limit: r.cfg.TranscriptLimit, Retention: r.cfg.Retention.Milliseconds()}
	res, err := closeScript.Run(ctx, r.rdb, r.keys.closeKeys(convID, managerID), a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	status, _ := res[0].(string)
	if err := statusErr(status); err != nil {
		return err
	}
	ch, _ := res[1].(string)
	r.m.Closed.WithLabelValues(ch).Inc()
	r.drainAfter(ctx)
	return nil
}

// Conversation reads one conversation.
func (r *Router) Conversation(ctx context.Context, convID int64) (*Conversation, error) {
	pipe := r.rdb.Pipeline()
	hc := pipe.HGetAll(ctx, r.keys.conv(convID))
	mc := pipe.Get(ctx, r.keys.meta(convID))
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return nil, err
	}
	if err := hc.Err(); err != nil {
		return nil, err
	}
	h := hc.Val()
	if len(h) == 0 {
		return nil, ErrNotFound
	}
	if m := mc.Val(); m != "" {
		h["meta"] = m // older conversations keep it in the hash
	}
	return decodeConversation(h), nil
}

// conversations reads the conversations whose ids are the keys of convs in one pipelined
// round trip; ids that do not exist stay nil.
func (r *Router) conversations(ctx context.Context, convs map[int64]*Conversation) error {
	pipe := r.rdb.Pipeline()
	type pair struct {
		h *redis.MapStringStringCmd
		m *redis.StringCmd
	}
	cmds := make(map[int64]pair, len(convs))
	for id := range convs {
		cmds[id] = pair{pipe.HGetAll(ctx, r.keys.conv(id)), pipe.Get(ctx, r.keys.meta(id))}
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return err
	}
	for id, p := range cmds {
		if err := p.h.Err(); err != nil {
			return err
		}
		h := p.h.Val()
		if len(h) == 0 {
			continue
		}
		if m := p.m.Val(); m != "" {
			h["meta"] = m
		}
		convs[id] = decodeConversation(h)
	}
	return nil
}

func decodeConversation(h map[string]string) *Conversation {
	i64 := func(k string) int64 { v, _ := strconv.ParseInt(h[k], 10, 64); return v }
	c := &Conversation{
		ID: i64("id"), Channel: h["ch"], Account: h["acct"], ContactID: h["contact"], Name: h["name"],
		Phone: h["phone"], Email: h["email"], Source: h["src"], State: h["state"], Priority: int(i64("prio")),
		Spam: h["spam"] == "1", Qualification: h["qual"], HandedOff: h["handed"] == "1",
		ManagerID: h["mgr"], OfferTo: h["offer_to"], OfferSeq: i64("seq"), Offers: int(i64("offers")),
		Escalated: h["esc"] == "1", Replied: h["replied"] == "1",
		FirstInboundAt: fromMS(i64("first_in")), LastInboundAt: fromMS(i64("last_in")),
		FirstOfferAt: fromMS(i64("first_offer")), OfferedAt: fromMS(i64("offered")),
		AcceptedAt: fromMS(i64("accepted")), FirstReplyAt: fromMS(i64("first_reply")), ClosedAt: fromMS(i64("closed")),
	}
	if c.State == StateWaiting || c.State == StateClosed {
		c.OfferTo = ""
	}
	if t := h["tags"]; t != "" {
		c.Tags = strings.Split(t, ",")
	}
	if m := h["meta"]; m != "" {
		_ = json.Unmarshal([]byte(m), &c.Meta)
	}
	return c
}

// Transcript returns the last limit messages (all kept ones if limit <= 0).
func (r *Router) Transcript(ctx context.Context, convID int64, limit int) ([]Message, error) {
	start := int64(0)
	if limit > 0 {
		start = -int64(limit)
	}
	lines, err := r.rdb.LRange(ctx, r.keys.log(convID), start, -1).Result()
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		if n, err := r.rdb.Exists(ctx, r.keys.conv(convID)).Result(); err == nil && n == 0 {
			return nil, ErrNotFound
		}
	}
	out := make([]Message, 0, len(lines))
	for _, l := range lines {
		var m Message
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// Manager returns a manager's presence, load, offers and conversations.
func (r *Router) Manager(ctx context.Context, managerID string) (*ManagerView, error) {
	m, err := r.lead(managerID)
	if err != nil {
		return nil, err
	}
	h, err := r.rdb.HGetAll(ctx, r.keys.mgr(managerID)).Result()
	if err != nil {
		return nil, err
	}
	ids, err := r.rdb.ZRange(ctx, r.keys.mgrConvs(managerID), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	qlen, err := r.rdb.ZCard(ctx, r.keys.waiting()).Result()
	if err != nil {
		return nil, err
	}
	load, _ := strconv.Atoi(h["load"])
	v := &ManagerView{ID: m.ID, Name: m.Name, Online: h["online"] == "1", OnShift: m.OnShift(r.clock.Now()),
		Load: load, Capacity: m.Capacity, QueueLength: qlen, Offers: []Conversation{}, Conversations: []Conversation{}}
	for _, s := range ids {
		id, _ := strconv.ParseInt(s, 10, 64)
		c, err := r.Conversation(ctx, id)
		if err != nil {
			continue
		}
		switch {
		case c.State == StateOffered && c.OfferTo == managerID:
			v.Offers = append(v.Offers, *c)
		case c.State == StateAssigned && c.ManagerID == managerID:
			v.Conversations = append(v.Conversations, *c)
		}
	}
	return v, nil
}

// ManagerByTelegramID finds a configured manager by Telegram user id.
func (r *Router) ManagerByTelegramID(tgUserID int64) string { return r.byTG[tgUserID] }

// ManagerByToken finds a configured manager by API token (constant-time compare per manager).
func (r *Router) ManagerByToken(token string) string {
	found := ""
	for i := range r.managers {
		if r.managers[i].Token != "" && subtleEq(r.managers[i].Token, token) {
			found = r.managers[i].ID
		}
	}
	return found
}

// Role returns a configured manager's role ("" if unknown).
func (r *Router) Role(managerID string) string {
	if m, ok := r.byID[managerID]; ok {
		return m.Role
	}
	return ""
}

// drainAfter offers queued conversations after a change that may have freed a manager. The
// change itself is already committed, so a failing drain is logged, not returned (the caller
// would retry a done action); the periodic drain catches up.
func (r *Router) drainAfter(ctx context.Context) {
	if _, err := r.Drain(ctx); err != nil {
		r.log.Warn("queue drain after a manager action failed; the periodic drain retries", "err", err)
	}
}
