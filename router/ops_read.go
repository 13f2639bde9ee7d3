package router

import (
	"context"
	"sort"
	"strconv"
)

// Queue is every waiting or offered first-tier lead and every handed-off lead queued for or
// offered to a sales manager, oldest first (by first inbound message). Waiting leads come
// from {P}:waiting, handed-off ones nobody could be offered from {P}:sales:waiting, offered
// ones (of either tier) from the managers' {P}:mgr:<id>:convs. A handed-off lead is told
// apart by its SalesState (SalesQueued or SalesOffered); its first-tier State is whatever the
// lead-manager left it in.
func (r *Router) Queue(ctx context.Context) ([]Conversation, error) {
	pipe := r.b.rdb.Pipeline()
	waiting := pipe.ZRange(ctx, r.b.keys.waiting(), 0, -1)
	salesWaiting := pipe.ZRange(ctx, r.b.keys.salesWaiting(), 0, -1)
	cmds := map[string]interface{ Val() []string }{}
	for i := range r.team.managers {
		m := &r.team.managers[i]
		if m.Role != RoleLead && m.Role != RoleSales {
			continue
		}
		cmds[m.ID] = pipe.ZRange(ctx, r.b.keys.mgrConvs(m.ID), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return nil, err
	}
	ids := append(waiting.Val(), salesWaiting.Val()...)
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
		if c == nil || !queued(c) {
			continue
		}
		out = append(out, *c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FirstInboundAt.Before(out[j].FirstInboundAt) })
	return out, nil
}

// queued: waiting for or offered to a lead-manager (first tier), or handed off and waiting
// for or offered to a sales manager.
func queued(c *Conversation) bool {
	return c.State == StateWaiting || c.State == StateOffered || c.SalesState == SalesQueued || c.SalesState == SalesOffered
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
