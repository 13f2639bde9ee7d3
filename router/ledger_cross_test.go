package router_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/router"
)

// crossTeam: ids whose byte order differs from a locale's collation ('-' and '_' sort
// before and after the digits as bytes), small capacities so at_capacity skips happen, and
// unequal weights.
func crossTeam() []router.Manager {
	return []router.Manager{{ID: "s-1", Capacity: 3, Weight: 1}, {ID: "s10", Capacity: 2, Weight: 3},
		{ID: "s3", Capacity: 4, Weight: 2}, {ID: "s_2", Capacity: 3, Weight: 1}}
}

// randomRun drives n random steps through the real router: handoffs (and re-handoffs of
// returned leads), presence changes, accepts, lapses (the clock moves past accept_timeout),
// rejections (some "not a lead"), contacts, outcomes, first-contact breaches and manual picks.
// It returns how many of each action succeeded.
func randomRun(t *testing.T, e *salesEnv, seed uint64, n int) map[string]int {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	team := crossTeam()
	did := map[string]int{}
	var leads []int64
	// find: a lead in one of the sales states, looked for from a random place
	find := func(states ...string) (*router.Conversation, bool) {
		if len(leads) == 0 {
			return nil, false
		}
		at := rnd.IntN(len(leads))
		for i := range leads {
			c := e.conv(leads[(at+i)%len(leads)])
			for _, s := range states {
				if c.SalesState == s {
					return c, true
				}
			}
		}
		return nil, false
	}
	// ok counts a successful action; a refused one (a conflict, not yours) is fine in a random
	// run, anything else fails the test.
	ok := func(what string, err error) {
		t.Helper()
		switch {
		case err == nil:
			did[what]++
		case errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrForbidden), errors.Is(err, router.ErrNotFound),
			errors.Is(err, router.ErrNotYours):
		default:
			t.Fatalf("%s: %v", what, err)
		}
	}
	for step := 0; step < n; step++ {
		switch x := rnd.IntN(100); {
		case x < 30:
			c := e.handoff()
			leads = append(leads, c.ID)
			did["handoff"]++
		case x < 38:
			s := team[rnd.IntN(len(team))].ID
			online := rnd.IntN(3) > 0
			ok("presence", e.r.SetOnline(e.ctx, s, online))
			e.settle()
		case x < 50:
			if c, found := find(router.SalesOffered); found {
				ok("accept", e.r.SalesAccept(e.ctx, c.ID, c.SalesOfferTo))
			}
		case x < 58:
			e.advance(time.Duration(30+rnd.IntN(60)) * time.Second) // some offers lapse
			did["advance"]++
		case x < 66:
			if c, found := find(router.SalesOffered, router.SalesAccepted, router.SalesContacted); found {
				reason := "not_our_region"
				if rnd.IntN(3) == 0 {
					reason = "not_a_real_lead"
				}
				ok("reject:"+reason, e.r.SalesReject(e.ctx, c.ID, c.SalesManagerID, reason))
			}
		case x < 72:
			if c, found := find(router.SalesReturned); found {
				ok("rehandoff", e.r.Handoff(e.ctx, c.ID, "lena", router.QualHot, ""))
			}
		case x < 78:
			if c, found := find(router.SalesAccepted); found {
				ok("contacted", e.r.SalesContacted(e.ctx, c.ID, c.SalesManagerID))
			}
		case x < 88:
			if c, found := find(router.SalesAccepted, router.SalesContacted); found {
				o := router.Outcome{Result: router.OutcomeLost, Reason: "price"}
				if rnd.IntN(2) == 0 {
					o = router.Outcome{Result: router.OutcomeWon, Amount: float64(1000 + rnd.IntN(9000))}
				}
				ok("outcome:"+o.Result, e.r.RecordOutcome(e.ctx, c.ID, c.SalesManagerID, o))
			}
		case x < 92:
			if c, found := find(router.SalesQueued, router.SalesOffered); found {
				ok("pick", e.r.PickSales(e.ctx, c.ID, "sue", team[rnd.IntN(len(team))].ID))
			}
		default:
			e.advance(time.Duration(20+rnd.IntN(40)) * time.Minute) // first-contact breaches, lapses
			did["advance"]++
		}
		e.settle()
	}
	return did
}

// TestLedgerCrossCheckRealRouter: the ledger that handoff.lua writes through the real router,
// under each strategy and hundreds of random decisions, verifies with package ledger's
// VerifyRedis (chain, head, and every decision re-applied by Go's Decide) without a problem.
func TestLedgerCrossCheckRealRouter(t *testing.T) {
	for i, strategy := range ledger.Strategies() {
		t.Run(strategy, func(t *testing.T) {
			e := newSalesEnv(t, router.SalesConfig{Strategy: strategy, AcceptTimeout: time.Minute, FirstContact: time.Hour,
				AllowManualPick: true, ConversionFloor: 150}, crossTeam())
			did := randomRun(t, e, uint64(100+i), 600)
			r, err := ledger.VerifyRedis(e.ctx, e.rdb, ledger.KeysOf(e.keys))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Problems {
				t.Errorf("%s", p)
			}
			if r.Entries < 200 || len(r.Manual) == 0 || r.Strategies[strategy] == 0 || r.Waited == 0 || !r.HeadChecked {
				t.Errorf("the run did not exercise the ledger: %d entries, %d manual, %v, %d waited", r.Entries, len(r.Manual), r.Strategies, r.Waited)
			}
			en := e.entries() // the sales tests' own replay agrees too
			t.Logf("VerifyRedis %s: %d entries verified (%d auto, %d waited, %d manual), problems %d; actions %v; chosen %v",
				strategy, r.Entries, r.Strategies[strategy], r.Waited, len(r.Manual), len(r.Problems), did, counts(en))
		})
	}
}

// ledgerStream reads the ledger stream as stored.
func ledgerStream(t *testing.T, e *salesEnv) []redis.XMessage {
	t.Helper()
	xs, err := e.rdb.XRange(e.ctx, ledger.KeysOf(e.keys).Ledger, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	return xs
}

// rewrite replaces the whole ledger stream by xs (same stream ids), as somebody with write
// access to Redis would to edit an entry in place.
func rewrite(t *testing.T, e *salesEnv, xs []redis.XMessage) {
	t.Helper()
	k := ledger.KeysOf(e.keys)
	if err := e.rdb.Del(e.ctx, k.Ledger).Err(); err != nil {
		t.Fatal(err)
	}
	for _, x := range xs {
		if err := e.rdb.XAdd(e.ctx, &redis.XAddArgs{Stream: k.Ledger, ID: x.ID, Values: x.Values}).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// rechain recomputes prev and hash of every entry from index from on with ledger.Hash and
// moves the head: a forger who knows the format.
func rechain(t *testing.T, e *salesEnv, xs []redis.XMessage, from int) {
	t.Helper()
	prev := ""
	if from > 0 {
		prev = xs[from-1].Values["hash"].(string)
	}
	for i := from; i < len(xs); i++ {
		xs[i].Values["prev"] = prev
		en, err := ledger.ParseMessage(xs[i])
		if err != nil {
			t.Fatal(err)
		}
		prev = ledger.Hash(en)
		xs[i].Values["hash"] = prev
	}
	rewrite(t, e, xs)
	last := xs[len(xs)-1].Values
	if err := e.rdb.HSet(e.ctx, ledger.KeysOf(e.keys).Head, "seq", last["seq"], "hash", prev).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestLedgerTamperRealRouter: a ledger written by the real router, tampered in Redis, is
// reported at the exact seq.
func TestLedgerTamperRealRouter(t *testing.T) {
	const at = 10 // the tampered entry (seq 10, index 9)
	cases := []struct {
		name   string
		tamper func(t *testing.T, e *salesEnv, xs []redis.XMessage) (seq int64, check string)
	}{
		{"edit a field", func(t *testing.T, e *salesEnv, xs []redis.XMessage) (int64, string) {
			xs[at-1].Values["lm"] = "boris"
			rewrite(t, e, xs)
			return at, ledger.CheckHash
		}},
		{"edit the candidates", func(t *testing.T, e *salesEnv, xs []redis.XMessage) (int64, string) {
			raw := xs[at-1].Values["cands"].(string)
			edited := strings.Replace(raw, `"load":`, `"load":9`, 1) // the first candidate looks busier
			if edited == raw {
				t.Fatalf("cands %s", raw)
			}
			xs[at-1].Values["cands"] = edited
			rewrite(t, e, xs)
			return at, ledger.CheckHash
		}},
		{"XDEL an entry", func(t *testing.T, e *salesEnv, xs []redis.XMessage) (int64, string) {
			if err := e.rdb.XDel(e.ctx, ledger.KeysOf(e.keys).Ledger, xs[at-1].ID).Err(); err != nil {
				t.Fatal(err)
			}
			return at, ledger.CheckSeq
		}},
		{"XDEL the newest entry", func(t *testing.T, e *salesEnv, xs []redis.XMessage) (int64, string) {
			if err := e.rdb.XDel(e.ctx, ledger.KeysOf(e.keys).Ledger, xs[len(xs)-1].ID).Err(); err != nil {
				t.Fatal(err)
			}
			return int64(len(xs)), ledger.CheckHead
		}},
		{"forge a decision, chain re-hashed", func(t *testing.T, e *salesEnv, xs []redis.XMessage) (int64, string) {
			en, _ := ledger.ParseMessage(xs[at-1])
			for _, c := range en.Cands {
				if c.ID != en.Chosen {
					xs[at-1].Values["chosen"] = c.ID // a favourite
					break
				}
			}
			rechain(t, e, xs, at-1)
			return at, ledger.CheckRule
		}},
		{"alter the head", func(t *testing.T, e *salesEnv, xs []redis.XMessage) (int64, string) {
			if err := e.rdb.HSet(e.ctx, ledger.KeysOf(e.keys).Head, "hash", ledger.Hash(ledger.Entry{Seq: 1})).Err(); err != nil {
				t.Fatal(err)
			}
			return int64(len(xs)), ledger.CheckHead
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSalesEnv(t, router.SalesConfig{AcceptTimeout: time.Minute, AllowManualPick: true}, crossTeam())
			randomRun(t, e, 7, 80)
			if r, err := ledger.VerifyRedis(e.ctx, e.rdb, ledger.KeysOf(e.keys)); err != nil || !r.OK() || r.Entries < at+2 {
				t.Fatalf("before tampering: %v %d entries %v", err, r.Entries, r.Problems)
			}
			seq, check := tc.tamper(t, e, ledgerStream(t, e))
			r, err := ledger.VerifyRedis(e.ctx, e.rdb, ledger.KeysOf(e.keys))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Problems) == 0 || r.Problems[0].Seq != seq || r.Problems[0].Check != check {
				t.Fatalf("problems %v, want the first at seq %d (%s)", r.Problems, seq, check)
			}
			// besides the tampered entry, a forged choice also breaks the state continuity at
			// the next automatic decision (which continued from the real choice), once
			states := 0
			for _, p := range r.Problems[1:] {
				switch {
				case p.Check == ledger.CheckState && p.Seq > seq && states == 0:
					states++
				case p.Seq != seq:
					t.Errorf("a problem away from the tampered seq %d: %s", seq, p)
				}
			}
			t.Logf("%s: %s", tc.name, r.Problems[0])
		})
	}
}
