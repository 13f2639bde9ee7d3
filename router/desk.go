package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lidorub/lidorub/channels"
)

// desk is what a lead-manager can do (the Desk): presence, offers, replies, qualification,
// closing, erasure, and what they see. Router embeds it.
type desk struct {
	*base
	team    *team
	tpl     *customerTexts
	senders *senders
	offers  *offerer
	sweeper *sweeper
	sales   *salesRouter
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
func (d *desk) SetOnline(ctx context.Context, managerID string, online bool) error {
	if _, err := d.team.lead(managerID); err != nil {
		return err
	}
	a := presenceArgs{Now: ms(d.clock.Now()), Manager: managerID, Online: online, Sales: d.Role(managerID) == RoleSales}
	n, err := presenceScript.Run(ctx, d.rdb, d.keys.presenceKeys(managerID), a.argv()...).Int()
	if err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	d.log.Info("manager presence changed", "manager", managerID, "online", online, "returned_to_queue", n)
	if a.Sales && !online {
		if err := d.sales.offline(ctx, managerID); err != nil {
			return err
		}
	}
	d.offers.after(ctx)
	return nil
}

// Accept takes an offer.
func (d *desk) Accept(ctx context.Context, convID int64, managerID string) error {
	if _, err := d.team.lead(managerID); err != nil {
		return err
	}
	now := d.clock.Now()
	a := acceptArgs{Now: ms(now), Conv: convID, Manager: managerID, FirstResponse: d.cfg.FirstResponse.Milliseconds()}
	res, err := acceptScript.Run(ctx, d.rdb, d.keys.acceptKeys(convID, managerID), a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	status, _ := res[0].(string)
	if status == "ok" {
		if offered, _ := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64); offered > 0 {
			d.m.OfferToAccept.WithLabelValues(managerID).Observe(seconds(now, offered))
		}
	}
	return statusErr(status)
}

// Pass declines an offer; it goes to the next free manager.
func (d *desk) Pass(ctx context.Context, convID int64, managerID string) error {
	if _, err := d.team.lead(managerID); err != nil {
		return err
	}
	a := passArgs{Now: ms(d.clock.Now()), Conv: convID, Manager: managerID}
	status, err := passScript.Run(ctx, d.rdb, d.keys.passKeys(convID, managerID), a.argv()...).Text()
	if err != nil {
		return fmt.Errorf("pass: %w", err)
	}
	if err := statusErr(status); err != nil {
		return err
	}
	d.offers.after(ctx)
	return nil
}

// maxReplyChars bounds a reply's text (characters, as the messengers count them; channels
// split longer texts where they must, e.g. Instagram at 1000).
const maxReplyChars = 4096

// Reply queues a human reply to the customer.
func (d *desk) Reply(ctx context.Context, convID int64, managerID, text string, atts []channels.Attachment) (string, error) {
	if _, err := d.team.lead(managerID); err != nil {
		return "", err
	}
	text = strings.TrimSpace(text)
	if text == "" && len(atts) == 0 {
		return "", withMsg(fmt.Errorf("%w: the reply is empty", ErrInvalid), "staff.reply.empty")
	}
	if utf8.RuneCountInString(text) > maxReplyChars {
		return "", withMsg(fmt.Errorf("%w: the reply is longer than %d characters", ErrInvalid, maxReplyChars),
			"staff.reply.too_long", "n", maxReplyChars)
	}
	c, err := d.conversation(ctx, convID)
	if err != nil {
		return "", err
	}
	// Ownership first (the script checks it again atomically), so another manager learns
	// nothing about the conversation, not even its channel.
	if err := replyErr(replyStatus(c, managerID), convID); err != nil {
		return "", err
	}
	if d.senders.get(c.Channel) == nil {
		return "", withMsg(fmt.Errorf("%w: %s leads cannot be answered here: %v; call the customer and mark the lead contacted", ErrConflict, c.Channel, channels.ErrNoSender),
			"staff.reply.channel_cannot_reply", "channel", d.tpl.channelArg(c.Channel))
	}
	now := d.clock.Now()
	seq, err := outSeqScript.Run(ctx, d.rdb, d.keys.outSeqKeys(convID)).Int64()
	if err != nil {
		return "", err
	}
	if seq == 0 {
		return "", ErrNotFound // erased meanwhile
	}
	out := channels.Outbound{ID: fmt.Sprintf("c%d-r%d", convID, seq), ConversationID: strconv.FormatInt(convID, 10),
		Channel: c.Channel, Account: c.Account, ContactID: c.ContactID, Kind: "reply", ManagerID: managerID,
		Text: text, Attachments: atts, Meta: c.Meta, CreatedAt: now}
	return out.ID, d.reply(ctx, convID, managerID, out, now)
}

// replyErr is statusErr of a reply: a closed conversation says so to the manager.
func replyErr(status string, convID int64) error {
	err := statusErr(status)
	if status == "closed" {
		return withMsg(err, "staff.reply.closed", "id", convID)
	}
	return err
}

// replyStatus is the reply script's status check, for an early answer.
func replyStatus(c *Conversation, managerID string) string {
	switch {
	case c.State == StateClosed:
		return "closed"
	case c.State != StateAssigned || c.Holder() != managerID:
		return "notyours"
	}
	return "ok"
}

// MarkContacted records an off-channel first contact (a form lead called back).
func (d *desk) MarkContacted(ctx context.Context, convID int64, managerID string) error {
	if _, err := d.team.lead(managerID); err != nil {
		return err
	}
	return d.reply(ctx, convID, managerID, channels.Outbound{Kind: "contacted", ManagerID: managerID}, d.clock.Now())
}

func (d *desk) reply(ctx context.Context, convID int64, managerID string, out channels.Outbound, now time.Time) error {
	line, _ := json.Marshal(Message{Dir: "out", Kind: out.Kind, ManagerID: managerID, Text: out.Text, Attachments: out.Attachments, ID: out.ID, At: now})
	outJSON := ""
	if out.Kind == "reply" {
		b, _ := json.Marshal(out)
		outJSON = string(b)
	}
	a := replyArgs{Now: ms(now), Conv: convID, Manager: managerID, Line: string(line), Out: outJSON, Limit: d.cfg.TranscriptLimit}
	res, err := replyScript.Run(ctx, d.rdb, d.keys.replyKeys(convID), a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	status, _ := res[0].(string)
	if err := replyErr(status, convID); err != nil {
		return err
	}
	if first, _ := res[1].(int64); first == 1 {
		if acc, _ := strconv.ParseInt(fmt.Sprint(res[2]), 10, 64); acc > 0 {
			d.m.AcceptToReply.WithLabelValues(managerID).Observe(seconds(now, acc))
		}
		if out.Kind == "contacted" {
			if fi, _ := strconv.ParseInt(fmt.Sprint(res[3]), 10, 64); fi > 0 {
				ch, _ := res[4].(string)
				d.m.SpeedToLead.WithLabelValues(ch).Observe(seconds(now, fi))
			}
		}
	}
	return nil
}
