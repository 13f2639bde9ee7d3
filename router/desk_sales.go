package router

import (
	"context"
	"fmt"
	"strconv"
)

// The sales tier's desk methods (SalesDesk); the decisions are salesRouter's (sales.go).

// Handoff qualifies a lead and, for a handing-off level with sales managers configured, hands
// it to the sales tier: off the lead-manager's load, offered by sales.strategy (ledgered).
func (d *desk) Handoff(ctx context.Context, convID int64, managerID, level, note string) error {
	if !d.sales.enabled() || !d.sales.cfg.handsOff(level) {
		return d.qualify(ctx, convID, managerID, level)
	}
	if d.Role(managerID) != RoleLead {
		return fmt.Errorf("%w: only a lead-manager hands leads off", ErrForbidden)
	}
	if len([]rune(note)) > maxReplyChars {
		return withMsg(fmt.Errorf("%w: the note is longer than %d characters", ErrInvalid, maxReplyChars),
			"sales.error.note_too_long", "n", maxReplyChars)
	}
	status, _, _, err := d.sales.run(ctx, opHandoff, strconv.FormatInt(convID, 10), managerID, level, note)
	if err != nil {
		return err
	}
	if err := salesStatusErr(status); err != nil {
		return err
	}
	d.m.Qualified.WithLabelValues(managerID, level).Inc()
	d.offers.after(ctx) // the lead-manager has room again
	return nil
}

func (d *desk) salesManager(managerID string) error {
	if _, err := d.team.lead(managerID); err != nil {
		return err
	}
	if d.Role(managerID) != RoleSales {
		return fmt.Errorf("%w: only a sales manager can do this", ErrForbidden)
	}
	return nil
}

func (d *desk) salesAct(ctx context.Context, a salesActArgs) (string, string, error) {
	a.Now = ms(d.clock.Now())
	a.FirstContact = d.sales.cfg.FirstContact.Milliseconds()
	res, err := salesActScript.Run(ctx, d.rdb, d.keys.salesActKeys(a.Conv), a.argv()...).Slice()
	if err != nil {
		return "", "", fmt.Errorf("sales %s: %w", a.Op, err)
	}
	status, _ := res[0].(string)
	prev, _ := res[2].(string)
	return status, prev, nil
}

// SalesAccept: the sales manager offered the lead takes it; first_contact starts.
func (d *desk) SalesAccept(ctx context.Context, convID int64, managerID string) error {
	if err := d.salesManager(managerID); err != nil {
		return err
	}
	status, _, err := d.salesAct(ctx, salesActArgs{Op: "accept", Conv: convID, Actor: managerID})
	if err != nil {
		return err
	}
	return salesStatusErr(status)
}

// SalesReject rejects an offered or held lead with a configured reason.
func (d *desk) SalesReject(ctx context.Context, convID int64, managerID, reason string) error {
	if err := d.salesManager(managerID); err != nil {
		return err
	}
	r, ok := d.sales.cfg.rejection(reason)
	if !ok {
		return withMsg(fmt.Errorf("%w: unknown rejection reason %q", ErrInvalid, reason), "sales.error.unknown_reason", "reason", reason)
	}
	status, _, _, err := d.sales.run(ctx, opReject, strconv.FormatInt(convID, 10), managerID, reason, flag(r.NotALead))
	if err != nil {
		return err
	}
	if err := salesStatusErr(status); err != nil {
		return err
	}
	d.offers.after(ctx)
	return nil
}

// SalesContacted stops the first-contact SLA.
func (d *desk) SalesContacted(ctx context.Context, convID int64, managerID string) error {
	if err := d.salesManager(managerID); err != nil {
		return err
	}
	status, _, err := d.salesAct(ctx, salesActArgs{Op: "contacted", Conv: convID, Actor: managerID})
	if err != nil {
		return err
	}
	return salesStatusErr(status)
}

// RecordOutcome records won or lost: once by the sales manager holding the lead; a
// supervisor, or a CRM connector (managerID "" with o.Source set), may correct it.
func (d *desk) RecordOutcome(ctx context.Context, convID int64, managerID string, o Outcome) error {
	privileged := false
	switch {
	case managerID == "" && o.Source != "":
		privileged = true
	case managerID == "":
		return ErrUnknownManager
	default:
		if _, err := d.team.lead(managerID); err != nil {
			return err
		}
		switch d.Role(managerID) {
		case RoleSupervisor:
			privileged = true
		case RoleSales:
		default:
			return fmt.Errorf("%w: only the sales manager or a supervisor records an outcome", ErrForbidden)
		}
	}
	a := salesActArgs{Op: "outcome", Conv: convID, Actor: managerID, Privileged: privileged, Result: o.Result, Source: o.Source}
	switch o.Result {
	case OutcomeWon:
		if o.Amount < 0 {
			return withMsg(fmt.Errorf("%w: amount must not be negative", ErrInvalid), "sales.error.amount_negative")
		}
		a.Amount = strconv.FormatFloat(o.Amount, 'f', -1, 64)
		a.Currency = o.Currency
		if a.Currency == "" {
			a.Currency = d.sales.cfg.Currency
		}
		if len(a.Currency) != 3 {
			return withMsg(fmt.Errorf("%w: currency must be a 3-letter ISO 4217 code", ErrInvalid), "sales.error.currency")
		}
	case OutcomeLost:
		if !d.sales.cfg.loss(o.Reason) {
			return withMsg(fmt.Errorf("%w: unknown loss reason %q", ErrInvalid, o.Reason), "sales.error.unknown_reason", "reason", o.Reason)
		}
		a.Reason = o.Reason
	default:
		return withMsg(fmt.Errorf("%w: result must be won or lost", ErrInvalid), "sales.error.result")
	}
	status, _, err := d.salesAct(ctx, a)
	if err != nil {
		return err
	}
	if status == "already" {
		return fmt.Errorf("%w: the outcome is already recorded; a supervisor can correct it", ErrConflict)
	}
	if err := salesStatusErr(status); err != nil {
		return err
	}
	d.offers.after(ctx)
	return nil
}

// PickSales hands a queued or offered lead to a chosen sales manager (supervisors, when
// sales.allow_manual_pick); the ledger flags it manual.
func (d *desk) PickSales(ctx context.Context, convID int64, managerID, salesID string) error {
	if d.Role(managerID) != RoleSupervisor {
		return fmt.Errorf("%w: only a supervisor can pick a sales manager", ErrForbidden)
	}
	if !d.sales.cfg.AllowManualPick {
		return fmt.Errorf("%w: sales.allow_manual_pick is off", ErrForbidden)
	}
	if d.Role(salesID) != RoleSales {
		return fmt.Errorf("%w: %q is not a sales manager", ErrInvalid, salesID)
	}
	status, _, _, err := d.sales.run(ctx, opPick, strconv.FormatInt(convID, 10), managerID, salesID, "")
	if err != nil {
		return err
	}
	return salesStatusErr(status)
}
