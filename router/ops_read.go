package router

import (
	"context"
	"sort"
	"strconv"
)

// Queue is every waiting or offered first-tier lead, oldest first (by first inbound message).
// Waiting leads come from {P}:waiting, offered ones from the lead-managers' {P}:mgr:<id>:convs.
// Handed-off leads queued or offered to sales join once the sales tier keeps a queue of them.
func (r *Router) Queue(ctx context.Context) ([]Conversation, error) {
	ids, err := r.b.rdb.ZRange(ctx, r.b.keys.waiting(), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	pipe := r.b.rdb.Pipeline()
	cmds := map[string]interface{ Val() []string }{}
	for i := range r.team.managers {
		m := &r.team.managers[i]
		if m.Role != RoleLead {
			continue
		}
		cmds[m.ID] = pipe.ZRange(ctx, r.b.keys.mgrConvs(m.ID), 0, -1)
	}
	if len(cmds) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
			return nil, err
		}
	}
	convs := map[int64]*Conversation{}
	order := []int64{}
	add := func(s string) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return
		}
		if _, ok := convs[id]; !ok {
			convs[id] = nil
			order = append(order, id)
		}
	}
	for _, s := range ids {
		add(s)
	}
	for _, c := range cmds {
		for _, s := range c.Val() {
			add(s)
		}
	}
	if len(convs) == 0 {
		return []Conversation{}, nil
	}
	if err := r.b.conversations(ctx, convs); err != nil {
		return nil, err
	}
	out := make([]Conversation, 0, len(order))
	for _, id := range order {
		c := convs[id]
		if c == nil || (c.State != StateWaiting && c.State != StateOffered) {
			continue
		}
		out = append(out, *c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FirstInboundAt.Before(out[j].FirstInboundAt) })
	return out, nil
}

// Team is every configured manager (lead, sales, supervisor), in config order, with presence,
// shift, load, capacity, offers and open conversations.
func (r *Router) Team(ctx context.Context) ([]ManagerView, error) {
	out := make([]ManagerView, 0, len(r.team.managers))
	for i := range r.team.managers {
		v, err := r.desk.Manager(ctx, r.team.managers[i].ID)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}
