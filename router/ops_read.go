package router

import "context"

// Queue: stub until the console's read model lands (see ops_types.go).
func (r *Router) Queue(ctx context.Context) ([]Conversation, error) { return nil, ErrNotImplemented }

// Team: stub until the console's read model lands.
func (r *Router) Team(ctx context.Context) ([]ManagerView, error) { return nil, ErrNotImplemented }
