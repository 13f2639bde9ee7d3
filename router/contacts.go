package router

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/phone"
)

// Contact indexes: every conversation (except those closed as not a lead) is listed under its
// channel contact ({P}:hist:c:<ch>:<acct>:<ps>) and under its phone number and e-mail address
// ({P}:hist:p:<ps>, {P}:hist:e:<ps>), each named by a pseudonym (store.Keys.Pseudonym: a
// keyed hash with the deployment's salt) of the contact id, the E.164 number or the
// lower-cased address, so no personal data is in a key name. The conversation keeps the three
// pseudonyms (fields hc, ph, eh), so the scripts that close, erase and retire it find its
// indexes. An index keeps the newest 20 conversations; retirement (retire.lua) and erasure
// (erase.lua) take a conversation out of its indexes, and an index whose conversations are
// all closed gets the same backstop TTL as they do.

// previousMax bounds Conversation.Previous.
const previousMax = 10

// histScan is how many entries of each index are read for Previous (HIST_MAX in lib.lua).
const histScan = 20

// contactPseudonym names a channel contact in its index.
func (k keys) contactPseudonym(contactID string) string { return k.Pseudonym("contact:" + contactID) }

// phonePseudonym names a phone number in its index ("" when it is not a valid number).
func (k keys) phonePseudonym(p string) string {
	e164, ok := normPhone(p)
	if !ok {
		return ""
	}
	return k.Pseudonym("phone:" + e164)
}

// emailPseudonym names an e-mail address in its index ("" when empty).
func (k keys) emailPseudonym(e string) string {
	e = normEmail(e)
	if e == "" {
		return ""
	}
	return k.Pseudonym("email:" + e)
}

// normPhone is a phone number in E.164; channels give E.164 already, so no default region.
func normPhone(p string) (string, bool) {
	p = strings.TrimSpace(p)
	if p == "" {
		return "", false
	}
	if !strings.HasPrefix(p, "+") {
		p = "+" + p // a bare international number (WhatsApp ids)
	}
	return phone.E164(p, "")
}

// normEmail is an e-mail address trimmed and lower-cased.
func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// histKeys are the contact indexes conversation c is in.
func (k keys) histKeys(c *Conversation) []string {
	var ks []string
	if c.contactHash != "" {
		ks = append(ks, k.histContact(c.Channel, c.Account, c.contactHash))
	}
	if c.phoneHash != "" {
		ks = append(ks, k.histPhone(c.phoneHash))
	}
	if c.emailHash != "" {
		ks = append(ks, k.histEmail(c.emailHash))
	}
	return ks
}

// fillPrevious sets Previous of every conversation of cs: the earlier conversations of the
// same contact (channel contact, phone or e-mail), newest first, at most previousMax. Two
// pipelined round trips for the whole set.
func (b *base) fillPrevious(ctx context.Context, cs []*Conversation) error {
	if len(cs) == 0 {
		return nil
	}
	pipe := b.rdb.Pipeline()
	idx := make([][]*redis.StringSliceCmd, len(cs))
	for i, c := range cs {
		for _, k := range b.keys.histKeys(c) {
			idx[i] = append(idx[i], pipe.ZRevRange(ctx, k, 0, histScan-1))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return err
	}
	ids := make([][]int64, len(cs))
	want := map[int64]bool{}
	for i, c := range cs {
		seen := map[int64]bool{}
		for _, cmd := range idx[i] {
			for _, s := range cmd.Val() {
				id, err := strconv.ParseInt(s, 10, 64)
				if err != nil || id >= c.ID || seen[id] { // earlier conversations only
					continue
				}
				seen[id] = true
				ids[i] = append(ids[i], id)
			}
		}
		sort.Slice(ids[i], func(a, b int) bool { return ids[i][a] > ids[i][b] }) // ids grow with creation
		if len(ids[i]) > previousMax {
			ids[i] = ids[i][:previousMax]
		}
		for _, id := range ids[i] {
			want[id] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	pipe = b.rdb.Pipeline()
	cmds := make(map[int64]*redis.SliceCmd, len(want))
	for id := range want {
		cmds[id] = pipe.HMGet(ctx, b.keys.conv(id), "ch", "state", "qual", "mgr", "created", "closed", "outcome")
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return err
	}
	leads := make(map[int64]PreviousLead, len(want))
	for id, cmd := range cmds {
		v := cmd.Val()
		str := func(i int) string { s, _ := v[i].(string); return s }
		if len(v) < 7 || str(1) == "" {
			continue // expired or erased meanwhile
		}
		i64 := func(i int) int64 { n, _ := strconv.ParseInt(str(i), 10, 64); return n }
		leads[id] = PreviousLead{ID: id, Channel: str(0), State: str(1), Qualification: str(2), ManagerID: str(3),
			CreatedAt: fromMS(i64(4)), ClosedAt: fromMS(i64(5)), Outcome: str(6)}
	}
	for i, c := range cs {
		c.Previous = nil
		for _, id := range ids[i] {
			if l, ok := leads[id]; ok {
				c.Previous = append(c.Previous, l)
			}
		}
	}
	return nil
}
