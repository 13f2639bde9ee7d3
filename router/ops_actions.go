package router

import "context"

// Supervisor actions: stubs until they land (see ops_types.go).

func (r *Router) ForceOffline(ctx context.Context, supervisorID, managerID string) error {
	return ErrNotImplemented
}
func (r *Router) Reassign(ctx context.Context, supervisorID string, convID int64, toManager string) error {
	return ErrNotImplemented
}
func (r *Router) MoveToFront(ctx context.Context, supervisorID string, convID int64) error {
	return ErrNotImplemented
}
func (r *Router) CloseLead(ctx context.Context, supervisorID string, convID int64) error {
	return ErrNotImplemented
}
func (r *Router) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	return nil, ErrNotImplemented
}
func (r *Router) ReplayDeadLetter(ctx context.Context, supervisorID, stream, id string) error {
	return ErrNotImplemented
}
func (r *Router) DiscardDeadLetter(ctx context.Context, supervisorID, stream, id string) error {
	return ErrNotImplemented
}
func (r *Router) Resend(ctx context.Context, supervisorID string, convID int64, outboundID string) error {
	return ErrNotImplemented
}
func (r *Router) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	return nil, ErrNotImplemented
}
