package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/lidorub/lidorub/channels"
)

// Qualify sets hot, warm or tourist; a tourist gets the polite-close template and is closed.
// A handing-off level (sales.handoff_levels) hands the lead to sales like Handoff without a note.
func (d *desk) Qualify(ctx context.Context, convID int64, managerID, level string) error {
	return d.Handoff(ctx, convID, managerID, level, "")
}

// qualify is the qualification without a sales handoff.
func (d *desk) qualify(ctx context.Context, convID int64, managerID, level string) error {
	if _, err := d.team.lead(managerID); err != nil {
		return err
	}
	if d.Role(managerID) == RoleSales {
		return fmt.Errorf("%w: sales managers record outcomes, not qualifications", ErrForbidden)
	}
	if level != QualHot && level != QualWarm && level != QualTourist {
		return fmt.Errorf("%w: level must be hot, warm or tourist", ErrInvalid)
	}
	a := qualifyArgs{Now: ms(d.clock.Now()), Conv: convID, Manager: managerID, Level: level, Handed: !d.sales.enabled()}
	status, err := qualifyScript.Run(ctx, d.rdb, d.keys.qualifyKeys(convID), a.argv()...).Text()
	if err != nil {
		return fmt.Errorf("qualify: %w", err)
	}
	if err := statusErr(status); err != nil {
		return err
	}
	d.m.Qualified.WithLabelValues(managerID, level).Inc()
	if level == QualTourist {
		return d.close(ctx, convID, managerID, true)
	}
	return nil
}

// Close closes a conversation assigned to the manager.
func (d *desk) Close(ctx context.Context, convID int64, managerID string) error {
	if _, err := d.team.lead(managerID); err != nil {
		return err
	}
	return d.close(ctx, convID, managerID, false)
}

func (d *desk) close(ctx context.Context, convID int64, managerID string, polite bool) error {
	now := d.clock.Now()
	outJSON, line := "", ""
	if polite {
		c, err := d.conversation(ctx, convID)
		if err != nil {
			return err
		}
		if text := d.tpl.text(keyClose, c.Channel, c.Account); text != "" && d.senders.get(c.Channel) != nil {
			out := channels.Outbound{ID: fmt.Sprintf("c%d-close", convID), ConversationID: strconv.FormatInt(convID, 10),
				Channel: c.Channel, Account: c.Account, ContactID: c.ContactID, Kind: "close", Text: text, Meta: c.Meta, CreatedAt: now}
			b, _ := json.Marshal(out)
			l, _ := json.Marshal(Message{Dir: "out", Kind: "close", Text: out.Text, ID: out.ID, At: now})
			outJSON, line = string(b), string(l)
		}
	}
	a := closeArgs{Now: ms(now), Conv: convID, Manager: managerID, Out: outJSON, Line: line,
		Limit: d.cfg.TranscriptLimit, Retention: d.cfg.Retention.Milliseconds()}
	res, err := closeScript.Run(ctx, d.rdb, d.keys.closeKeys(convID, managerID), a.argv()...).Slice()
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	status, _ := res[0].(string)
	if err := statusErr(status); err != nil {
		return err
	}
	ch, _ := res[1].(string)
	d.m.Closed.WithLabelValues(ch).Inc()
	d.offers.after(ctx)
	return nil
}

// Erase deletes a conversation and its transcript at the customer's request, and every copy
// of its personal data in the streams (see sweeper): at once, or, if that part fails, on the
// next sweep. Only a supervisor may erase. The manager holding it is told (a closed event with
// reason erased).
func (d *desk) Erase(ctx context.Context, convID int64, managerID string) error {
	if d.Role(managerID) != RoleSupervisor {
		return fmt.Errorf("%w: only a supervisor can erase a conversation", ErrForbidden)
	}
	a := eraseArgs{Now: ms(d.clock.Now()), Conv: convID, Retention: d.cfg.Retention.Milliseconds()}
	status, err := eraseScript.Run(ctx, d.rdb, d.keys.eraseKeys(convID, d.sales.ids()), a.argv()...).Text()
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	if err := statusErr(status); err != nil {
		return err
	}
	d.log.Info("conversation erased on request", "conversation", convID, "by", managerID)
	if _, err := d.sweeper.forgetQueued(ctx); err != nil {
		d.log.Warn("copies of an erased conversation not removed yet; the next sweep retries", "conversation", convID, "err", err)
	}
	d.offers.after(ctx)
	return nil
}
