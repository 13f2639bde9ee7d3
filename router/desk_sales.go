package router

import "context"

// Sales-tier desk methods: stubs until the sales tier lands (see sales_types.go).

func (d *desk) Handoff(ctx context.Context, convID int64, managerID, level, note string) error {
	return d.Qualify(ctx, convID, managerID, level)
}
func (d *desk) SalesAccept(ctx context.Context, convID int64, managerID string) error {
	return ErrNotImplemented
}
func (d *desk) SalesReject(ctx context.Context, convID int64, managerID, reason string) error {
	return ErrNotImplemented
}
func (d *desk) SalesContacted(ctx context.Context, convID int64, managerID string) error {
	return ErrNotImplemented
}
func (d *desk) RecordOutcome(ctx context.Context, convID int64, managerID string, o Outcome) error {
	return ErrNotImplemented
}
func (d *desk) PickSales(ctx context.Context, convID int64, managerID, salesID string) error {
	return ErrNotImplemented
}
