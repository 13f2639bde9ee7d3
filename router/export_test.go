package router

import (
	"context"

	"github.com/lidorub/lidorub/store"
)

// HandleInbound exposes the inbound handler so tests can simulate an instance that applied
// an entry and died before acknowledging it.
func (r *Router) HandleInbound(ctx context.Context, e store.Entry) error {
	return r.inbound.handleInbound(ctx, e)
}
