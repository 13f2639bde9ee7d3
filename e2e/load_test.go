//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// fleet is a set of gateways on one Redis, with the synthetic customers and lead-managers
// that drive them and the checks that read Redis behind them.
type fleet struct {
	t        *testing.T
	gws      []*gateway
	rdb      redis.UniversalClient
	keys     store.Keys
	p        string // "{prefix}:", the router's key prefix
	managers []manager
	client   *http.Client

	violations violationLog
	apiChecks  atomic.Int64 // manager views read through the API
	samples    atomic.Int64 // Redis snapshots checked
}

func newFleet(t *testing.T, rdb redis.UniversalClient, prefix string, managers []manager, gws ...*gateway) *fleet {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	k := store.NewKeys(prefix)
	return &fleet{t: t, gws: gws, rdb: rdb, keys: k, p: k.Core(""), managers: managers,
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// violationLog keeps the first violations of an invariant seen while the load runs.
type violationLog struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (v *violationLog) add(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.n++
	if len(v.first) < 20 {
		v.first = append(v.first, fmt.Sprintf(format, args...))
	}
}

func (v *violationLog) report(t *testing.T) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.n > 0 {
		t.Errorf("%d invariant violations while running; first ones:\n  %s", v.n, strings.Join(v.first, "\n  "))
	}
}

// audit creates a consumer group that never reads on every stream the checks inspect, so
// the gateways' periodic trimming (which keeps what any group has not consumed) keeps
// every entry for the final count.
func (f *fleet) audit(ctx context.Context) {
	f.t.Helper()
	for _, s := range []string{f.keys.Inbound(), f.p + "events", f.p + "fired"} {
		if err := store.EnsureGroup(ctx, f.rdb, s, "e2e-audit"); err != nil {
			f.t.Fatal(err)
		}
	}
}

// ---- customers ----

// leadResult is what one customer got from the web form in the end.
type leadResult struct {
	phone    string
	leadID   string // the inbound stream entry id of a 2xx answer
	ok       bool
	dup      bool      // the 2xx answer said duplicate (a retry after a lost answer)
	at       time.Time // when the 2xx answer came
	attempts int
	lastErr  string
}

func phone(i int) string { return fmt.Sprintf("+7916%07d", 1000000+i) }

// sendLeads posts n leads at about rate per second from workers goroutines, each lead with
// its own phone, consent and Idempotency-Key. A lead whose request fails (connection
// refused or reset by a dying process, 503 while Redis is down) is retried, on the next
// gateway, with the same key, up to a bounded number of attempts. progress counts leads
// answered 2xx.
func (f *fleet) sendLeads(ctx context.Context, n, rate, workers int, progress *atomic.Int64) []leadResult {
	res := make([]leadResult, n)
	idx := make(chan int)
	go func() {
		defer close(idx)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; i < n; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case <-ctx.Done():
				return
			case idx <- i:
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				res[i] = f.postLead(ctx, i)
				if res[i].ok {
					progress.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return res
}

func (f *fleet) postLead(ctx context.Context, i int) leadResult {
	r := leadResult{phone: phone(i)}
	body, _ := json.Marshal(map[string]any{
		"name": fmt.Sprintf("Customer %d", i), "phone": r.phone, "consent": true,
		"message": fmt.Sprintf("Please call me back about order %d", i),
	})
	key := fmt.Sprintf("e2e-%s-%d", f.keys.Prefix, i)
	for attempt := 0; attempt < 150 && ctx.Err() == nil; attempt++ {
		r.attempts++
		gw := f.gws[(i+attempt)%len(f.gws)]
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+gw.addr+"/webhooks/form", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := f.client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				var a struct {
					LeadID    string `json:"lead_id"`
					Duplicate bool   `json:"duplicate"`
				}
				if json.Unmarshal(b, &a) == nil && a.LeadID != "" {
					r.ok, r.leadID, r.dup, r.at = true, a.LeadID, a.Duplicate, time.Now()
					return r
				}
				r.lastErr = "202 without lead_id: " + string(b)
				return r
			}
			r.lastErr = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
			if resp.StatusCode < 500 {
				return r // a 4xx will not get better
			}
		} else {
			r.lastErr = err.Error()
		}
		backoff(ctx, attempt)
	}
	return r
}

// backoff waits a little before a retry against a process that is restarting (bounded).
func backoff(ctx context.Context, attempt int) {
	d := time.Duration(min(attempt+1, 8)) * 25 * time.Millisecond
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// ---- lead-managers ----

type apiConv struct {
	ID       int64  `json:"id"`
	State    string `json:"state"`
	OfferSeq int64  `json:"offer_seq"`
	Replied  bool   `json:"replied"`
}

// call makes one agent API call as m, trying the gateways in turn while they refuse
// connections or answer 503 (bounded). It returns the final status and body.
func (f *fleet) call(ctx context.Context, m manager, method, path string, body any) (int, []byte, error) {
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	start := rand.IntN(len(f.gws))
	var lastErr error
	for attempt := 0; attempt < 100 && ctx.Err() == nil; attempt++ {
		gw := f.gws[(start+attempt)%len(f.gws)]
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+gw.addr+path, bytes.NewReader(payload))
		req.Header.Set("Authorization", "Bearer "+m.Token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := f.client.Do(req)
		if err != nil {
			lastErr = err
			backoff(ctx, attempt)
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			lastErr = fmt.Errorf("503 %s", b)
			backoff(ctx, attempt)
			continue
		}
		return resp.StatusCode, b, nil
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return 0, nil, lastErr
}

// slowEvery: 1 in slowEvery accepted conversations is not contacted in time.
const slowEvery = 25

// ignores decides, the same way every time, which offers a manager lets lapse (1 in every).
func ignores(conv, seq int64, every int) bool {
	return every > 0 && (conv*7+seq*13)%int64(every) == 0
}

// runManager is a synthetic lead-manager: online, polling their offers and conversations
// through the API, accepting offers (except the ones they ignore, so offer timers fire),
// marking accepted leads contacted and closing them. Every view read is checked against
// the manager's capacity.
func (f *fleet) runManager(ctx context.Context, m manager, ignoreEvery int, handled *atomic.Int64) {
	if st, b, err := f.call(ctx, m, http.MethodPut, "/api/v1/managers/"+m.ID+"/status", map[string]bool{"online": true}); err != nil || st != http.StatusOK {
		f.violations.add("%s could not go online: %d %s %v", m.ID, st, b, err)
		return
	}
	for ctx.Err() == nil {
		st, b, err := f.call(ctx, m, http.MethodGet, "/api/v1/managers/"+m.ID+"/conversations", nil)
		if err != nil || st != http.StatusOK {
			if ctx.Err() == nil {
				f.violations.add("%s: list conversations: %d %s %v", m.ID, st, b, err)
			}
			return
		}
		var v struct {
			Offers        []apiConv `json:"offers"`
			Conversations []apiConv `json:"conversations"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			f.violations.add("%s: bad JSON: %v", m.ID, err)
			return
		}
		f.apiChecks.Add(1)
		if n := len(v.Offers) + len(v.Conversations); n > m.Capacity {
			f.violations.add("API: %s holds %d conversations, capacity %d", m.ID, n, m.Capacity)
		}
		work := append([]apiConv(nil), v.Conversations...)
		for _, o := range v.Offers {
			if ignores(o.ID, o.OfferSeq, ignoreEvery) {
				continue
			}
			st, b, err := f.call(ctx, m, http.MethodPost, fmt.Sprintf("/api/v1/conversations/%d/accept", o.ID), nil)
			switch {
			case err != nil:
			case st == http.StatusOK:
				work = append(work, o)
			case st == http.StatusNotFound: // lapsed meanwhile (answers like a missing conversation)
			default:
				f.violations.add("%s: accept %d: %d %s", m.ID, o.ID, st, b)
			}
		}
		for _, c := range work {
			if !c.Replied && ignores(c.ID, c.OfferSeq+1, slowEvery) {
				continue // this one is left without a first contact: the first-response timer takes it back
			}
			if !c.Replied {
				st, b, err := f.call(ctx, m, http.MethodPost, fmt.Sprintf("/api/v1/conversations/%d/contacted", c.ID), nil)
				if err != nil || (st != http.StatusOK && st != http.StatusNotFound && st != http.StatusConflict) {
					if ctx.Err() == nil {
						f.violations.add("%s: contacted %d: %d %s %v", m.ID, c.ID, st, b, err)
					}
					continue
				}
			}
			st, b, err := f.call(ctx, m, http.MethodPost, fmt.Sprintf("/api/v1/conversations/%d/close", c.ID), nil)
			switch {
			case err != nil:
			case st == http.StatusOK:
				handled.Add(1)
			case st == http.StatusNotFound || st == http.StatusConflict: // released meanwhile (no reply in time) or closed by a retry
			default:
				f.violations.add("%s: close %d: %d %s", m.ID, c.ID, st, b)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond): // a manager's polling pace
		}
	}
}

// ---- Redis snapshots ----

// snapshotScript checks, atomically, the invariants of assignment: every conversation a
// manager holds is offered or assigned to that manager and to nobody else, and no manager
// holds more than their capacity (load counter and held set agree).
//
//	KEYS[1] {P}:seq (slot anchor)   ARGV[1] "{P}:"   ARGV[2..] manager id, capacity pairs
var snapshotScript = redis.NewScript(`
local P = ARGV[1]
local bad = {}
local holder = {}
local held = 0
for i = 2, #ARGV, 2 do
  local m, cap = ARGV[i], tonumber(ARGV[i + 1])
  local convs = redis.call('ZRANGE', P .. 'mgr:' .. m .. ':convs', 0, -1)
  local load = tonumber(redis.call('HGET', P .. 'mgr:' .. m, 'load') or '0')
  if #convs > cap then bad[#bad + 1] = m .. ' holds ' .. #convs .. ' conversations, capacity ' .. cap end
  if load ~= #convs then bad[#bad + 1] = m .. ' load ' .. load .. ' but holds ' .. #convs end
  for _, c in ipairs(convs) do
    held = held + 1
    if holder[c] then bad[#bad + 1] = 'conversation ' .. c .. ' held by ' .. holder[c] .. ' and ' .. m end
    holder[c] = m
    local f = redis.call('HMGET', P .. 'conv:' .. c, 'state', 'offer_to', 'mgr')
    local ok = (f[1] == 'offered' and f[2] == m) or (f[1] == 'assigned' and f[3] == m)
    if not ok then bad[#bad + 1] = 'conversation ' .. c .. ' held by ' .. m .. ' is ' .. tostring(f[1]) .. ' offer_to=' .. tostring(f[2]) .. ' mgr=' .. tostring(f[3]) end
  end
end
return {held, bad}
`)

func (f *fleet) snapshot(ctx context.Context) (held int64, bad []string, err error) {
	args := []any{f.p}
	for _, m := range f.managers {
		args = append(args, m.ID, m.Capacity)
	}
	res, err := snapshotScript.Run(ctx, f.rdb, []string{f.p + "seq"}, args...).Slice()
	if err != nil {
		return 0, nil, err
	}
	held, _ = res[0].(int64)
	list, _ := res[1].([]any)
	for _, b := range list {
		bad = append(bad, fmt.Sprint(b))
	}
	return held, bad, nil
}

// sample checks a snapshot every interval until ctx ends. Redis being unreachable (a test
// that restarts it) is not a violation.
func (f *fleet) sample(ctx context.Context, every time.Duration, maxHeld *atomic.Int64) {
	for ctx.Err() == nil {
		held, bad, err := f.snapshot(ctx)
		if err == nil {
			f.samples.Add(1)
			for _, b := range bad {
				f.violations.add("snapshot: %s", b)
			}
			if held > maxHeld.Load() {
				maxHeld.Store(held)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

// pendingOf counts the entries pending on consumers whose name starts with prefix, on
// every stream a gateway consumes.
func (f *fleet) pendingOf(ctx context.Context, prefix string) int64 {
	var n int64
	for _, sg := range [][2]string{{f.keys.Inbound(), "router"}, {f.p + "fired", "router"}, {f.p + "events", "notify"}, {f.p + "outbound", "send"}} {
		p, err := f.rdb.XPending(ctx, sg[0], sg[1]).Result()
		if err != nil {
			continue
		}
		for name, c := range p.Consumers {
			if strings.HasPrefix(name, prefix) {
				n += c
			}
		}
	}
	return n
}

// ---- the end state ----

// convState reads every conversation's state (1..seq).
func (f *fleet) convStates(ctx context.Context) (map[int64]map[string]string, error) {
	n, err := f.rdb.Get(ctx, f.p+"seq").Int64()
	if err == redis.Nil {
		return map[int64]map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[int64]map[string]string, n)
	const batch = 500
	for lo := int64(1); lo <= n; lo += batch {
		pipe := f.rdb.Pipeline()
		cmds := map[int64]*redis.MapStringStringCmd{}
		for id := lo; id < lo+batch && id <= n; id++ {
			cmds[id] = pipe.HGetAll(ctx, f.p+"conv:"+strconv.FormatInt(id, 10))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		for id, c := range cmds {
			out[id] = c.Val()
		}
	}
	return out, nil
}

// waitAllClosed waits (bounded) until there are want conversations and all are closed.
func (f *fleet) waitAllClosed(ctx context.Context, want int, timeout time.Duration) map[int64]map[string]string {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	var convs map[int64]map[string]string
	open := -1
	for time.Now().Before(deadline) {
		var err error
		convs, err = f.convStates(ctx)
		if err == nil {
			open = 0
			for _, c := range convs {
				if c["state"] != "closed" {
					open++
				}
			}
			if len(convs) >= want && open == 0 {
				return convs
			}
		}
		time.Sleep(100 * time.Millisecond) // polling real processes' progress
	}
	f.violations.report(f.t)
	states := map[string]int{}
	var sample []string
	for id, c := range convs {
		states[c["state"]]++
		if c["state"] != "closed" && len(sample) < 5 {
			sample = append(sample, fmt.Sprintf("%d: %v", id, c))
		}
	}
	for _, m := range f.managers {
		h, _ := f.rdb.HGetAll(ctx, f.p+"mgr:"+m.ID).Result()
		held, _ := f.rdb.ZRange(ctx, f.p+"mgr:"+m.ID+":convs", 0, -1).Result()
		sample = append(sample, fmt.Sprintf("manager %s: %v holds %v", m.ID, h, held))
	}
	waiting, _ := f.rdb.ZCard(ctx, f.p+"waiting").Result()
	f.t.Fatalf("after %s: %d conversations (want %d), %d not closed; states %v; %d waiting\n  %s",
		timeout, len(convs), want, open, states, waiting, strings.Join(sample, "\n  "))
	return nil
}

// checkLeads is the core of every failure test: every lead answered 2xx is exactly one
// inbound stream entry, was applied by the router exactly once, and is exactly one
// conversation (counted by contact) holding exactly its one customer message; nothing is
// pending or dead-lettered.
func (f *fleet) checkLeads(ctx context.Context, leads []leadResult, convs map[int64]map[string]string) {
	t := f.t
	t.Helper()
	accepted := map[string]string{} // lead id -> phone
	byPhone := map[string]bool{}
	failed := 0
	for _, l := range leads {
		if !l.ok {
			failed++
			if failed <= 5 {
				t.Errorf("lead %s got no 2xx after %d attempts: %s", l.phone, l.attempts, l.lastErr)
			}
			continue
		}
		if p, dup := accepted[l.leadID]; dup {
			t.Errorf("lead id %s answered for %s and %s", l.leadID, p, l.phone)
		}
		accepted[l.leadID] = l.phone
		byPhone[l.phone] = true
	}
	if failed > 0 {
		t.Errorf("%d of %d leads never got a 2xx answer", failed, len(leads))
	}

	// Inbound stream (never trimmed here: the audit group has read nothing).
	entries, err := f.rdb.XRange(ctx, f.keys.Inbound(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	inStream := map[string]bool{}
	for _, e := range entries {
		inStream[e.ID] = true
	}
	missing := 0
	for id, ph := range accepted {
		if !inStream[id] {
			missing++
			if missing <= 5 {
				t.Errorf("lead %s (id %s) answered 2xx but is not in the inbound stream", ph, id)
			}
		}
	}
	if len(entries) != len(accepted) {
		t.Errorf("inbound stream has %d entries for %d accepted leads (duplicates or unanswered entries)", len(entries), len(accepted))
	}

	// Applied once by the router: its idempotency marker exists for every entry.
	pipe := f.rdb.Pipeline()
	done := map[string]*redis.IntCmd{}
	for id := range accepted {
		done[id] = pipe.Exists(ctx, f.p+"done:"+id)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	notApplied := 0
	for id, c := range done {
		if c.Val() != 1 {
			notApplied++
			if notApplied <= 5 {
				t.Errorf("inbound entry %s was never applied by the router", id)
			}
		}
	}

	// Exactly one conversation per contact, each with exactly one customer message.
	perContact := map[string][]int64{}
	for id, c := range convs {
		perContact[c["contact"]] = append(perContact[c["contact"]], id)
	}
	for ph := range byPhone {
		if n := len(perContact[ph]); n != 1 {
			t.Errorf("contact %s has %d conversations %v, want 1", ph, n, perContact[ph])
		}
	}
	if len(convs) != len(byPhone) {
		t.Errorf("%d conversations for %d accepted contacts", len(convs), len(byPhone))
	}
	pipe = f.rdb.Pipeline()
	logs := map[int64]*redis.StringSliceCmd{}
	for id := range convs {
		logs[id] = pipe.LRange(ctx, f.p+"conv:"+strconv.FormatInt(id, 10)+":log", 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	badLogs := 0
	for id, c := range logs {
		in := 0
		for _, l := range c.Val() {
			if strings.Contains(l, `"dir":"in"`) {
				in++
			}
		}
		if in != 1 {
			badLogs++
			if badLogs <= 5 {
				t.Errorf("conversation %d has %d customer messages in its transcript, want 1", id, in)
			}
		}
	}

	// Nothing left pending in any gateway group, nothing dead-lettered.
	for _, sg := range [][2]string{{f.keys.Inbound(), "router"}, {f.p + "fired", "router"}, {f.p + "events", "notify"}} {
		p, err := f.rdb.XPending(ctx, sg[0], sg[1]).Result()
		if err != nil {
			t.Errorf("XPENDING %s %s: %v", sg[0], sg[1], err)
		} else if p.Count != 0 {
			t.Errorf("%s: %d entries still pending in group %s", sg[0], p.Count, sg[1])
		}
		if n, _ := f.rdb.XLen(ctx, store.DeadLetter(sg[0])).Result(); n != 0 {
			t.Errorf("%s: %d dead-lettered entries", store.DeadLetter(sg[0]), n)
		}
	}
	// Every manager is empty again.
	for _, m := range f.managers {
		load, _ := f.rdb.HGet(ctx, f.p+"mgr:"+m.ID, "load").Int()
		held, _ := f.rdb.ZCard(ctx, f.p+"mgr:"+m.ID+":convs").Result()
		if load != 0 || held != 0 {
			t.Errorf("manager %s ends with load %d and %d held conversations", m.ID, load, held)
		}
	}
}

// timerStats checks from the events and fired streams that every timer fired at most once
// and every offer was made once: per (conversation, offer seq) at most one lapsed offer,
// at most one release for no reply, exactly one offer event, and at most one fired entry
// per timer.
type timerStats struct {
	offers, lapsed, released, fired int
}

func (f *fleet) checkTimers(ctx context.Context) timerStats {
	t := f.t
	t.Helper()
	var st timerStats
	events, err := f.rdb.XRange(ctx, f.p+"events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range events {
		typ, _ := e.Values["t"].(string)
		reason, _ := e.Values["r"].(string)
		key := fmt.Sprintf("%s|%v|%v", typ, e.Values["c"], e.Values["s"])
		switch {
		case typ == "offer":
			st.offers++
		case typ == "offer_withdrawn" && reason == "lapsed":
			st.lapsed++
		case typ == "released" && reason == "no_reply":
			st.released++
		default:
			continue
		}
		count[key]++
	}
	var dups []string
	for k, n := range count {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%s x%d", k, n))
		}
	}
	sort.Strings(dups)
	if len(dups) > 0 {
		t.Errorf("%d (event, conversation, offer seq) seen more than once: %v", len(dups), dups[:min(len(dups), 10)])
	}
	fired, err := f.rdb.XRange(ctx, f.p+"fired", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range fired {
		id, _ := e.Values["id"].(string)
		seen[id]++
		st.fired++
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("timer %s fired %d times", id, n)
		}
	}
	return st
}

// cleanup deletes the test's keys from a shared Redis.
func cleanupKeys(t testing.TB, rdb *redis.Client, prefix string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, pat := range []string{"{" + prefix + "}:*", "{" + prefix + ":*"} {
			iter := rdb.Scan(ctx, 0, pat, 1000).Iterator()
			var batch []string
			for iter.Next(ctx) {
				batch = append(batch, iter.Val())
				if len(batch) == 1000 {
					rdb.Unlink(ctx, batch...)
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				rdb.Unlink(ctx, batch...)
			}
		}
	})
}
