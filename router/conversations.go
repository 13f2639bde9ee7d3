package router

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// conversation reads one conversation.
func (b *base) conversation(ctx context.Context, convID int64) (*Conversation, error) {
	pipe := b.rdb.Pipeline()
	hc := pipe.HGetAll(ctx, b.keys.conv(convID))
	mc := pipe.Get(ctx, b.keys.meta(convID))
	cc := pipe.HGetAll(ctx, b.keys.card(convID))
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
	c := decodeConversation(h)
	decodeCard(c, cc.Val())
	return c, nil
}

// decodeCard fills the lead card context kept in {P}:conv:<id>:card: the qualification's
// explanation (why) and the pre-chat answers (q:<question>).
func decodeCard(c *Conversation, card map[string]string) {
	for k, v := range card {
		if q, ok := strings.CutPrefix(k, "q:"); ok {
			if c.PreChat == nil {
				c.PreChat = map[string]string{}
			}
			c.PreChat[q] = v
		}
	}
	if w := card["why"]; w != "" {
		_ = json.Unmarshal([]byte(w), &c.Explanation)
	}
}

// conversations reads the conversations whose ids are the keys of convs in one pipelined
// round trip; ids that do not exist stay nil.
func (b *base) conversations(ctx context.Context, convs map[int64]*Conversation) error {
	pipe := b.rdb.Pipeline()
	type pair struct {
		h *redis.MapStringStringCmd
		m *redis.StringCmd
		c *redis.MapStringStringCmd
	}
	cmds := make(map[int64]pair, len(convs))
	for id := range convs {
		cmds[id] = pair{pipe.HGetAll(ctx, b.keys.conv(id)), pipe.Get(ctx, b.keys.meta(id)), pipe.HGetAll(ctx, b.keys.card(id))}
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
		decodeCard(convs[id], p.c.Val())
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
		contactHash: h["hc"], phoneHash: h["ph"], emailHash: h["eh"],
		LeadManagerID: h["lm"], SalesState: h["sstate"], SalesManagerID: h["smgr"], SalesOfferTo: h["soffer_to"],
		SalesOfferSeq: i64("sseq"), SalesOffers: int(i64("soffers")), HandoffNote: h["hnote"],
		HandedOffAt: fromMS(i64("handed_at")), SalesAcceptedAt: fromMS(i64("saccepted")), ContactedAt: fromMS(i64("contacted")),
		Outcome: h["outcome"], Currency: h["currency"], LossReason: h["loss_reason"],
	}
	c.Amount, _ = strconv.ParseFloat(h["amount"], 64)
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
