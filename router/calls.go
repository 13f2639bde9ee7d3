package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/lidorub/lidorub/channels"
)

// applyCall applies a phone call (channels.KindCall). The customer's own call is a customer
// message (process.lua: it opens a conversation, a missed call being a callback lead, or
// continues the open one). A call in which somebody of the team spoke to the customer, either
// way, then ends speed-to-lead at the moment it connected, and a known lead-manager takes the
// conversation if it was waiting or offered (call.lua). A manager's call that did not connect
// is written on the transcript only: an attempt is not a contact.
func (a *inboundApplier) applyCall(ctx context.Context, entryID string, in channels.Inbound) error {
	c := channels.Call{Direction: channels.CallIn}
	if in.Call != nil {
		c = *in.Call
	}
	if c.ManagerID != "" {
		if _, err := a.team.lead(c.ManagerID); err != nil {
			a.log.Warn("phone call by a manager the router does not know: contact not credited", "channel", in.Channel, "manager", c.ManagerID)
			c.ManagerID = ""
		}
	}
	if c.Direction != channels.CallOut {
		if in.Note == "" {
			in.Note = c.Note // the call's line in the reader's language (Message.Note)
		}
		m, err := a.prepareMessage(ctx, entryID, in)
		if err != nil {
			return err
		}
		res, err := processScript.Run(ctx, a.rdb, m.keys, m.args.argv()...).Slice()
		if err != nil {
			return fmt.Errorf("apply inbound: %w", err)
		}
		if c.Connected {
			if err := a.contact(ctx, entryID, in, c, ""); err != nil {
				return err
			}
		}
		return a.finishMessage(ctx, m, res, nil)
	}
	at := in.ReceivedAt
	if at.IsZero() {
		at = a.clock.Now()
	}
	line, _ := json.Marshal(Message{Dir: "out", Kind: channels.KindCall, ManagerID: c.ManagerID, Text: in.Text,
		Attachments: in.Attachments, ID: in.MessageID, At: at, Note: c.Note})
	return a.contact(ctx, entryID, in, c, string(line))
}

// contact runs call.lua for a call (line: its transcript line, "" when process.lua wrote it).
func (a *inboundApplier) contact(ctx context.Context, entryID string, in channels.Inbound, c channels.Call, line string) error {
	now := a.clock.Now()
	connectedAt := c.ConnectedAt
	if connectedAt.IsZero() || connectedAt.After(now) {
		connectedAt = now
	}
	args := callArgs{Now: ms(now), DoneTTL: doneTTL.Milliseconds(), Line: line, Limit: a.cfg.TranscriptLimit,
		Connected: c.Connected, Manager: c.ManagerID, ConnectedAt: ms(connectedAt)}
	res, err := callScript.Run(ctx, a.rdb, a.keys.callKeys(entryID, in.Channel, in.Account, in.ContactID), args.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("apply call: %w", err)
	}
	status, _ := res[0].(string)
	if status == "ignored" {
		a.m.InboundIgnored.WithLabelValues(in.Channel, in.Kind).Inc()
		a.log.Debug("phone call with no open conversation dropped", "channel", in.Channel)
		return nil
	}
	if first, _ := res[2].(int64); first == 1 {
		if firstIn, _ := strconv.ParseInt(fmt.Sprint(res[3]), 10, 64); firstIn > 0 {
			ch, _ := res[4].(string)
			a.m.SpeedToLead.WithLabelValues(ch).Observe(seconds(connectedAt, firstIn))
		}
	}
	return nil
}
