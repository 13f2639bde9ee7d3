package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

type redisRange = redis.ZRangeBy

// Event types of the sales tier (see Event).
const (
	EventSalesOffer          = "sales_offer"           // ManagerID (a sales manager) is offered a handed-off lead; OfferSeq = sales offer seq
	EventSalesOfferWithdrawn = "sales_offer_withdrawn" // the sales offer or lead of ManagerID ended: Reason lapsed | no_contact | manual | closed (the lead-manager closed the waiting lead)
	EventSalesAccepted       = "sales_accepted"        // ManagerID accepted a handed-off lead
	EventSalesReturned       = "sales_returned"        // back with the lead-manager ManagerID: Reason = the rejection reason
)

// salesRouter runs the second tier's decisions (handoff.lua) and actions (salesact.lua).
type salesRouter struct {
	*base
	team *team
	cfg  SalesConfig
}

// enabled: at least one sales manager is configured. Without one a handing-off level only
// marks the lead handed off, as before the sales tier (New logs a warning).
func (s *salesRouter) enabled() bool {
	for _, m := range s.team.managers {
		if m.Role == RoleSales {
			return true
		}
	}
	return false
}

// ids are the sales managers' ids.
func (s *salesRouter) ids() []string { return s.team.salesIDs() }

// candidates are every configured sales manager sorted by id, with shift eligibility at now.
func (s *salesRouter) candidates(now time.Time) []salesCand {
	var cs []salesCand
	for i := range s.team.managers {
		m := &s.team.managers[i]
		if m.Role == RoleSales {
			cs = append(cs, salesCand{ID: m.ID, Cap: m.Capacity, Weight: m.Weight, OnShift: m.OnShift(now)})
		}
	}
	slices.SortFunc(cs, func(a, b salesCand) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return cs
}

// run runs handoff.lua and returns its status, the chosen sales manager and its third value.
func (s *salesRouter) run(ctx context.Context, op, conv, actor, a5, a6 string) (string, string, string, error) {
	now := s.clock.Now()
	cands := s.candidates(now)
	a := handoffArgs{Now: ms(now), Op: op, Conv: conv, Actor: actor, A5: a5, A6: a6, Cfg: &s.cfg, Candidates: cands}
	res, err := handoffScript.Run(ctx, s.rdb, s.keys.handoffKeys(cands), a.argv()...).Slice()
	if err != nil {
		return "", "", "", fmt.Errorf("sales %s: %w", op, err)
	}
	status, _ := res[0].(string)
	chosen, _ := res[1].(string)
	return status, chosen, fmt.Sprint(res[2]), nil
}

// Drain offers queued handed-off leads to free sales managers and returns how many it offered.
func (s *salesRouter) Drain(ctx context.Context) (int, error) {
	if !s.enabled() {
		return 0, nil
	}
	_, _, made, err := s.run(ctx, opDrain, strconv.Itoa(queueScan), "", "", "")
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(made)
	return n, nil
}

// fire applies a sales timer: "sa" (accept timeout) or "sc" (first contact).
func (s *salesRouter) fire(ctx context.Context, kind string, conv int64, seq string) (string, error) {
	op := opLapse
	if kind == "sc" {
		op = opBreach
	}
	status, chosen, _, err := s.run(ctx, op, strconv.FormatInt(conv, 10), "", seq, "")
	if err != nil {
		return "", err
	}
	if status != "stale" {
		s.log.Info("sales timer fired", "conversation", conv, "kind", op, "next", chosen)
	}
	return status, nil
}

// offline withdraws the open offers of sales manager id, who just went offline, and decides
// each lead again at once (ledgered, id skipped as offline) instead of waiting for
// accept_timeout. The leads they accepted stay theirs.
func (s *salesRouter) offline(ctx context.Context, id string) error {
	if !s.enabled() {
		return nil
	}
	_, _, made, err := s.run(ctx, opOffline, "0", id, "", "")
	if err != nil {
		return err
	}
	s.log.Info("sales manager offline: open offers decided again", "manager", id, "offered", made)
	return nil
}

func salesStatusErr(status string) error {
	switch status {
	case "queued", "returned":
		return nil
	case "conflict":
		return fmt.Errorf("%w: the lead is not in a sales state that allows this", ErrConflict)
	}
	return statusErr(status)
}

// StaleLeads returns the handed-off leads without an outcome for longer than
// sales.stale_after (oldest first): the stale report the funnel reads ({P}:sales:open).
func (r *Router) StaleLeads(ctx context.Context) ([]int64, error) {
	max := ms(r.b.clock.Now().Add(-r.desk.sales.cfg.StaleAfter))
	ids, err := r.b.rdb.ZRangeByScore(ctx, r.b.keys.salesOpen(), &redisRange{Min: "-inf", Max: strconv.FormatInt(max, 10)}).Result()
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if v, err := strconv.ParseInt(id, 10, 64); err == nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// StaleLead is one line of the stale report: a handed-off lead without an outcome for longer
// than sales.stale_after.
type StaleLead struct {
	ID         int64     `json:"lead_id"`
	SalesState string    `json:"sales_state"`             // queued | offered | accepted | contacted
	Holder     string    `json:"holder,omitempty"`        // who holds the customer conversation (Conversation.Holder)
	Sales      string    `json:"sales_manager,omitempty"` // the sales manager offered or holding it
	Since      time.Time `json:"since"`                   // handed off
}

// StaleReport is the stale report (StaleLeads with each lead's sales state, holder and
// handoff time), oldest first; a lead erased meanwhile is left out.
func (r *Router) StaleReport(ctx context.Context) ([]StaleLead, error) {
	max := ms(r.b.clock.Now().Add(-r.desk.sales.cfg.StaleAfter))
	zs, err := r.b.rdb.ZRangeByScoreWithScores(ctx, r.b.keys.salesOpen(), &redisRange{Min: "-inf", Max: strconv.FormatInt(max, 10)}).Result()
	if err != nil {
		return nil, err
	}
	out := make([]StaleLead, 0, len(zs))
	for _, z := range zs {
		id, err := strconv.ParseInt(fmt.Sprint(z.Member), 10, 64)
		if err != nil {
			continue
		}
		c, err := r.desk.conversation(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, StaleLead{ID: id, SalesState: c.SalesState, Holder: c.Holder(), Sales: c.SalesManagerID,
			Since: time.UnixMilli(int64(z.Score)).UTC()})
	}
	return out, nil
}

// SalesConfig returns the sales: section in use (defaults filled).
func (r *Router) SalesConfig() SalesConfig { return r.desk.sales.cfg }
