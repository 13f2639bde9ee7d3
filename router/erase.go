package router

import (
	"context"
	"fmt"
)

// Erase deletes a conversation and its transcript at the customer's request. Only a
// supervisor may erase. The manager holding it is told (a closed event with reason erased).
func (r *Router) Erase(ctx context.Context, convID int64, managerID string) error {
	if r.Role(managerID) != RoleSupervisor {
		return fmt.Errorf("%w: only a supervisor can erase a conversation", ErrForbidden)
	}
	a := eraseArgs{Now: ms(r.clock.Now()), Conv: convID}
	status, err := eraseScript.Run(ctx, r.rdb, r.keys.eraseKeys(convID), a.argv()...).Text()
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	if err := statusErr(status); err != nil {
		return err
	}
	r.log.Info("conversation erased on request", "conversation", convID, "by", managerID)
	r.drainAfter(ctx)
	return nil
}
