package router

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/phone"
)

// Contact indexes: every conversation (except those closed as not a lead) is listed under its
// channel contact ({P}:hist:c:<ch>:<acct>:<id>, the same personal data in the key name as the
// open-conversation pointer {P}:contact:...) and under its phone number and e-mail address,
// keyed by a salted hash of the normalised value ({P}:hist:p:<hash>, {P}:hist:e:<hash>), so
// no number or address appears in a key name. The salt is made once per installation and
// kept in {P}:salt. An index keeps the newest histMax conversations; it lives as long as one
// of them is open and expires router.retention after the last one closed. Erasing a
// conversation removes it from its indexes (erase.lua).

// previousMax bounds Conversation.Previous.
const previousMax = 10

// histScan is how many entries of each index are read for Previous (HIST_MAX in lib.lua).
const histScan = 20

// hasher makes the salted hashes of the contact indexes.
type hasher struct {
	rdb  redis.UniversalClient
	key  string
	mu   sync.Mutex
	salt []byte
}

// load returns the installation's salt, making it on first use (SET NX, so every process
// ends up with the same one).
func (h *hasher) load(ctx context.Context) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.salt != nil {
		return h.salt, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := h.rdb.SetNX(ctx, h.key, hex.EncodeToString(b), 0).Err(); err != nil {
		return nil, fmt.Errorf("contact index salt: %w", err)
	}
	s, err := h.rdb.Get(ctx, h.key).Result()
	if err != nil {
		return nil, fmt.Errorf("contact index salt: %w", err)
	}
	h.salt = []byte(s)
	return h.salt, nil
}

// phone returns the hash of a phone number ("" when it is not a valid number).
func (h *hasher) phone(ctx context.Context, p string) (string, error) {
	e164, ok := normPhone(p)
	if !ok {
		return "", nil
	}
	return h.sum(ctx, "phone:"+e164)
}

// email returns the hash of an e-mail address ("" when empty).
func (h *hasher) email(ctx context.Context, e string) (string, error) {
	e = normEmail(e)
	if e == "" {
		return "", nil
	}
	return h.sum(ctx, "email:"+e)
}

func (h *hasher) sum(ctx context.Context, v string) (string, error) {
	salt, err := h.load(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil)[:16]), nil
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
	ks := []string{k.histContact(c.Channel, c.Account, c.ContactID)}
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
