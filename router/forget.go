package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/store"
)

// sweepInterval is how often each instance re-queues due deferred sends, retires
// conversations whose retention ran out, trims the fairness ledger by the same retention
// (ledger_retention.go) and runs queued forget jobs.
const sweepInterval = time.Second

// sweepBatch bounds one retire.lua / undefer.lua call and one round of forget jobs.
const sweepBatch = 100

// sweeper does the router's slow housekeeping on the router's clock: rate-limited sends
// whose retry_after has passed go back on the outbound stream (undefer.lua), closed
// conversations are erased when the retention ends (retire.lua), and the forget jobs of
// erased conversations remove the copies of their personal data that live outside the
// conversation's keys.
//
// A forget job ({P}:forget, queued by erase.lua and retire.lua in the same step as the
// erasure) names the conversation and its contact. Running it:
//   - removes the conversation's deferred sends;
//   - trims the inbound, outbound and events streams (store.Trim);
//   - deletes (store.Forget) the contact's inbound entries that every group has acknowledged
//     or that were applied (their done marker is set); the others still pending are kept:
//     they are new messages, which make a new conversation;
//   - deletes the conversation's outbound entries and customer_message events, pending or not
//     (a reply to an erased conversation is not sent);
//   - deletes the matching entries of the three dead-letter streams;
//   - leaves the {P}:timeline stream alone: its entries hold ids only (trimmed by retention
//     and size in trim, workers.go); erase.lua and retire.lua delete the lead's timeline list;
//   - calls the Forget of the contact's channel when it keeps its own copy of the
//     conversation (channels.Forgetter: the website chat's session history).
//
// The job is removed once all of that succeeded, so a crash or a Redis error retries it on
// the next sweep of any instance (every step is idempotent).
type sweeper struct {
	*base
	team       *team
	forgetters forgetters

	lastAbandon atomic.Int64 // router clock, ms: when abandoned conversations were last looked for
}

// forgetters are the channels' erasure hooks, registered before Run.
type forgetters struct {
	mu sync.RWMutex
	m  map[string]channels.Forgetter
}

func (f *forgetters) set(channel string, fg channels.Forgetter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]channels.Forgetter{}
	}
	f.m[channel] = fg
}

func (f *forgetters) get(channel string) channels.Forgetter {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.m[channel]
}

// RegisterForgetter sets the erasure hook of a channel that keeps its own copy of
// conversations: the forget job of an erased conversation calls it. Call before Run.
func (r *Router) RegisterForgetter(channel string, f channels.Forgetter) {
	r.sweeper.forgetters.set(channel, f)
}

func (w *sweeper) start(ctx context.Context, wg *sync.WaitGroup) {
	goWG(wg, func() {
		every(ctx, w.log, sweepInterval, func(ctx context.Context) error { _, err := w.sweep(ctx); return err })
	})
}

// sweep runs one round and returns how many items it handled.
func (w *sweeper) sweep(ctx context.Context) (int, error) {
	total := 0
	for _, s := range []struct {
		script *store.Script
		keys   []string
		args   []any
	}{
		{undeferScript, w.keys.undeferKeys(), undeferArgs{Now: ms(w.clock.Now()), Batch: sweepBatch}.argv()},
		{retireScript, w.keys.retireKeys(), retireArgs{Now: ms(w.clock.Now()), Batch: sweepBatch}.argv()},
	} {
		for {
			n, err := s.script.Run(ctx, w.rdb, s.keys, s.args...).Int()
			if err != nil {
				return total, fmt.Errorf("sweep: %w", err)
			}
			total += n
			if n < sweepBatch {
				break
			}
		}
	}
	if err := w.trimLedger(ctx); err != nil {
		return total, fmt.Errorf("sweep: %w", err)
	}
	if now := w.clock.Now(); ms(now)-w.lastAbandon.Load() >= abandonInterval.Milliseconds() {
		n, err := w.eraseAbandoned(ctx, now)
		if err != nil {
			return total, err
		}
		w.lastAbandon.Store(ms(now))
		total += n
	}
	n, err := w.forgetQueued(ctx)
	return total + n, err
}

// abandonInterval is how often each instance looks for abandoned open conversations.
const abandonInterval = time.Hour

// eraseAbandoned erases the open conversations without a customer message, accept or first
// reply for router.abandoned_retention (erase.lua with the cutoff, so one that came alive
// meanwhile is kept). Open conversations are in the queue or in a manager's index.
func (w *sweeper) eraseAbandoned(ctx context.Context, now time.Time) (int, error) {
	cutoff := ms(now.Add(-w.cfg.AbandonedRetention))
	lists := []string{w.keys.waiting()}
	for _, m := range w.team.managers {
		lists = append(lists, w.keys.mgrConvs(m.ID))
	}
	seen := map[string]bool{}
	n := 0
	for _, l := range lists {
		ids, err := w.rdb.ZRange(ctx, l, 0, -1).Result()
		if err != nil {
			return n, fmt.Errorf("abandoned: %w", err)
		}
		for _, s := range ids {
			if seen[s] {
				continue
			}
			seen[s] = true
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				continue
			}
			f, err := w.rdb.HMGet(ctx, w.keys.conv(id), "last_in", "accepted", "first_reply", "created").Result()
			if err != nil {
				return n, fmt.Errorf("abandoned: %w", err)
			}
			last := int64(0)
			for _, v := range f {
				if t, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64); t > last {
					last = t
				}
			}
			if last == 0 || last >= cutoff {
				continue
			}
			a := eraseArgs{Now: ms(now), Conv: id, Retention: w.cfg.Retention.Milliseconds(), AbandonedBefore: cutoff}
			status, err := eraseScript.Run(ctx, w.rdb, w.keys.eraseKeys(id, w.team.salesIDs()), a.argv()...).Text()
			if err != nil {
				return n, fmt.Errorf("abandoned: %w", err)
			}
			if status == "ok" {
				w.log.Info("abandoned open conversation erased", "conversation", id)
				n++
			}
		}
	}
	return n, nil
}

// forgetJob is one queued forget job (see lib.lua forget_job).
type forgetJob struct {
	Conv    string `json:"c"`
	Channel string `json:"ch"`
	Account string `json:"a"`
	Contact string `json:"k"`
}

func contactKey(ch, acct, contact string) string { return ch + "\x00" + acct + "\x00" + contact }

// forgetQueued runs up to sweepBatch queued forget jobs together (one pass over each
// stream) and returns how many it finished.
func (w *sweeper) forgetQueued(ctx context.Context) (int, error) {
	raw, err := w.rdb.ZRange(ctx, w.keys.forget(), 0, sweepBatch-1).Result()
	if err != nil || len(raw) == 0 {
		return 0, err
	}
	convs := map[string]bool{}
	contacts := map[string]bool{}
	var needles []string
	for _, r := range raw {
		var j forgetJob
		if json.Unmarshal([]byte(r), &j) != nil || (j.Conv == "" && j.Contact == "") {
			continue
		}
		if j.Conv != "" { // a correction (correct.lua) queues a job for the contact only
			convs[j.Conv] = true
		}
		if j.Contact != "" {
			contacts[contactKey(j.Channel, j.Account, j.Contact)] = true
			needles = append(needles, j.Contact)
		}
	}
	inbound := func(_ string, v map[string]any) bool {
		s, _ := v["m"].(string)
		if !containsAny(s, needles) { // cheap filter before decoding
			return false
		}
		var in channels.Inbound
		return json.Unmarshal([]byte(s), &in) == nil && contacts[contactKey(in.Channel, in.Account, in.ContactID)]
	}
	outbound := func(_ string, v map[string]any) bool {
		s, _ := v["o"].(string)
		return convs[outboundConv(s)]
	}
	events := func(_ string, v map[string]any) bool {
		c, _ := v["c"].(string)
		t, _ := v["t"].(string)
		return convs[c] && t == "customer_message" // the only event that carries a message
	}
	// Deferred sends first: one re-queued meanwhile (undefer.lua) is on the outbound stream,
	// which is scanned next.
	deferred, err := w.rdb.ZRange(ctx, w.keys.deferred(), 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("forget: %w", err)
	}
	for _, m := range deferred {
		if _, o, ok := strings.Cut(m, "|"); ok && convs[outboundConv(o)] {
			if err := w.rdb.ZRem(ctx, w.keys.deferred(), m).Err(); err != nil {
				return 0, fmt.Errorf("forget: %w", err)
			}
		}
	}
	for _, s := range []struct {
		stream  string
		pending bool
		match   func(string, map[string]any) bool
	}{
		{w.keys.Inbound(), false, inbound},
		{w.keys.outbound(), true, outbound},
		{w.keys.events(), true, events},
	} {
		if _, err := store.Trim(ctx, w.rdb, s.stream); err != nil {
			return 0, fmt.Errorf("forget: %w", err)
		}
		for _, stream := range []string{s.stream, store.DeadLetter(s.stream)} {
			if _, err := store.Forget(ctx, w.rdb, stream, s.pending, s.match); err != nil {
				return 0, err
			}
		}
	}
	// An inbound entry of the contact still pending but already applied (process.lua set its
	// done marker: the router crashed or is about to acknowledge it) holds nothing the
	// router still needs: delete it too. One EXISTS per such entry.
	var doneErr error
	applied := func(id string, v map[string]any) bool {
		if !inbound(id, v) {
			return false
		}
		n, err := w.rdb.Exists(ctx, w.keys.done(entryIdentity(store.Entry{ID: id, Values: v}))).Result()
		if err != nil {
			doneErr = err
			return false
		}
		return n == 1
	}
	if _, err := store.Forget(ctx, w.rdb, w.keys.Inbound(), true, applied); err != nil {
		return 0, err
	}
	if doneErr != nil {
		return 0, fmt.Errorf("forget: %w", doneErr)
	}
	// The channels' own copies last: a job whose channel hook fails stays queued (and runs
	// again, idempotently, on the next sweep); the others are done.
	var members []any
	var hookErr error
	failed := map[string]bool{}
	for _, r := range raw {
		var j forgetJob
		if json.Unmarshal([]byte(r), &j) == nil && j.Contact != "" {
			ck := contactKey(j.Channel, j.Account, j.Contact)
			if fg := w.forgetters.get(j.Channel); fg != nil && !failed[ck] {
				if err := fg.Forget(ctx, j.Account, j.Contact); err != nil {
					failed[ck] = true
					hookErr = fmt.Errorf("forget: channel %s: %w", j.Channel, err)
				}
			}
			if failed[ck] {
				continue
			}
		}
		members = append(members, r)
	}
	if len(members) > 0 {
		if err := w.rdb.ZRem(ctx, w.keys.forget(), members...).Err(); err != nil {
			return 0, fmt.Errorf("forget: %w", err)
		}
	}
	return len(members), hookErr
}

// outboundConv is the conversation id of an outbound entry's JSON ("" if unreadable).
func outboundConv(s string) string {
	var o struct {
		Conv string `json:"conversation_id"`
	}
	if json.Unmarshal([]byte(s), &o) != nil {
		return ""
	}
	return o.Conv
}

func containsAny(s string, needles []string) bool {
	for _, n := range needles {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}
