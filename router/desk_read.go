package router

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"strconv"
)

// Conversation reads one conversation with its lead card context: the qualification's
// explanation, the pre-chat answers and the earlier conversations of the same contact.
func (d *desk) Conversation(ctx context.Context, convID int64) (*Conversation, error) {
	c, err := d.conversation(ctx, convID)
	if err != nil {
		return nil, err
	}
	if err := d.fillPrevious(ctx, []*Conversation{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// Transcript returns the last limit messages (all kept ones if limit <= 0).
func (d *desk) Transcript(ctx context.Context, convID int64, limit int) ([]Message, error) {
	start := int64(0)
	if limit > 0 {
		start = -int64(limit)
	}
	lines, err := d.rdb.LRange(ctx, d.keys.log(convID), start, -1).Result()
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		if n, err := d.rdb.Exists(ctx, d.keys.conv(convID)).Result(); err == nil && n == 0 {
			return nil, ErrNotFound
		}
	}
	out := make([]Message, 0, len(lines))
	for _, l := range lines {
		var m Message
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// Manager returns a manager's presence, load, offers and conversations.
func (d *desk) Manager(ctx context.Context, managerID string) (*ManagerView, error) {
	m, err := d.team.lead(managerID)
	if err != nil {
		return nil, err
	}
	h, err := d.rdb.HGetAll(ctx, d.keys.mgr(managerID)).Result()
	if err != nil {
		return nil, err
	}
	ids, err := d.rdb.ZRange(ctx, d.keys.mgrConvs(managerID), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	queue := d.keys.waiting()
	if m.Role == RoleSales {
		queue = d.keys.salesWaiting() // a sales manager's queue: handed-off leads waiting
	}
	qlen, err := d.rdb.ZCard(ctx, queue).Result()
	if err != nil {
		return nil, err
	}
	load, _ := strconv.Atoi(h["load"])
	v := &ManagerView{ID: m.ID, Name: m.Name, Online: h["online"] == "1", OnShift: m.OnShift(d.clock.Now()),
		Load: load, Capacity: m.Capacity, QueueLength: qlen, Offers: []Conversation{}, Conversations: []Conversation{}}
	for _, s := range ids {
		id, _ := strconv.ParseInt(s, 10, 64)
		c, err := d.conversation(ctx, id)
		if err != nil {
			continue
		}
		switch {
		case c.State == StateOffered && c.OfferTo == managerID,
			c.SalesState == SalesOffered && c.SalesOfferTo == managerID:
			v.Offers = append(v.Offers, *c)
		case c.State == StateAssigned && c.ManagerID == managerID:
			v.Conversations = append(v.Conversations, *c)
		}
	}
	return v, nil
}

// ManagerByTelegramID finds a configured manager by Telegram user id.
func (d *desk) ManagerByTelegramID(tgUserID int64) string { return d.team.byTG[tgUserID] }

// ManagerByToken finds a configured manager by API token (constant-time compare per manager).
func (d *desk) ManagerByToken(token string) string {
	found := ""
	for i := range d.team.managers {
		if d.team.managers[i].Token != "" && subtleEq(d.team.managers[i].Token, token) {
			found = d.team.managers[i].ID
		}
	}
	return found
}

// Role returns a configured manager's role ("" if unknown).
func (d *desk) Role(managerID string) string {
	if m, ok := d.team.byID[managerID]; ok {
		return m.Role
	}
	return ""
}

func subtleEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
