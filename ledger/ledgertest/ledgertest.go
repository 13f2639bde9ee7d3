// Package ledgertest writes fairness ledgers for tests: an honest writer that follows the
// rules through ledger.Apply (the same stream fields and chain as router/lua/handoff.lua),
// a generator of random honest runs, and the tampering an attacker with write access to
// Redis could do (rewrite the stream with an entry changed, delete an entry, forge a
// decision and re-hash the chain, alter the head).
package ledgertest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/ledger"
)

// Writer appends entries to a ledger, keeping the strategy state as the gateway does: the
// round-robin pointer and each candidate's CW (one map per strategy).
type Writer struct {
	// AtIDs makes the stream id of an entry "<at>-<seq>" instead of the server's "*" (the
	// gateway's), so that retention tests control which ids trimming removes. at must then grow.
	AtIDs bool

	rdb  redis.Cmdable
	k    ledger.Keys
	seq  int64
	prev string
	ptr  string
	cw   map[string]map[string]int64
}

// NewWriter returns a writer of an empty ledger.
func NewWriter(rdb redis.Cmdable, k ledger.Keys) *Writer {
	return &Writer{rdb: rdb, k: k, cw: map[string]map[string]int64{}}
}

// Auto records an automatic decision of strategy among cands (sorted here; their CW is
// filled from the writer's state) and returns the entry written.
func (w *Writer) Auto(ctx context.Context, strategy string, at, lead int64, lm string, cands []ledger.Candidate) (ledger.Entry, error) {
	cands = sorted(cands)
	cw := w.cw[strategy]
	if cw == nil {
		cw = map[string]int64{}
		w.cw[strategy] = cw
	}
	uses := strategy == ledger.Weighted || strategy == ledger.BestConversion
	for i := range cands {
		if uses {
			cands[i].CW = cw[cands[i].ID]
		} else {
			cands[i].CW = 0
		}
	}
	d := ledger.Apply(strategy, w.ptr, cands)
	e := ledger.Entry{At: at, Lead: lead, LM: lm, Kind: ledger.KindAuto, Strategy: strategy, Ptr: w.ptr, Cands: cands, Chosen: d.Chosen}
	if err := w.append(ctx, &e); err != nil {
		return e, err
	}
	if strategy == ledger.RoundRobin {
		w.ptr = d.Ptr
	}
	if uses {
		for id, v := range d.CW {
			cw[id] = v
		}
	}
	return e, nil
}

// Manual records a supervisor's pick; no strategy state changes.
func (w *Writer) Manual(ctx context.Context, strategy string, at, lead int64, lm string, cands []ledger.Candidate, chosen, by string) (ledger.Entry, error) {
	e := ledger.Entry{At: at, Lead: lead, LM: lm, Kind: ledger.KindManual, Strategy: strategy, Ptr: w.ptr, Cands: sorted(cands),
		Chosen: chosen, By: by}
	return e, w.append(ctx, &e)
}

func (w *Writer) append(ctx context.Context, e *ledger.Entry) error {
	raw, err := json.Marshal(e.Cands)
	if err != nil {
		return err
	}
	e.Seq, e.Prev, e.CandsRaw = w.seq+1, w.prev, string(raw)
	e.Hash = ledger.Hash(*e)
	var add *redis.StringCmd
	_, err = w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		id := ""
		if w.AtIDs {
			id = strconv.FormatInt(e.At, 10) + "-" + strconv.FormatInt(e.Seq, 10)
		}
		add = p.XAdd(ctx, &redis.XAddArgs{Stream: w.k.Ledger, ID: id, Values: ledger.Fields(*e)})
		p.HSet(ctx, w.k.Head, "seq", e.Seq, "hash", e.Hash)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledgertest: append seq %d: %w", e.Seq, err)
	}
	e.ID = add.Val()
	w.seq, w.prev = e.Seq, e.Hash
	return nil
}

func sorted(cands []ledger.Candidate) []ledger.Candidate {
	c := append([]ledger.Candidate(nil), cands...)
	sort.Slice(c, func(i, j int) bool { return c[i].ID < c[j].ID })
	return c
}

// Run is the summary of an honest run.
type Run struct {
	Entries []ledger.Entry
	Chosen  map[string]map[string]int // strategy → manager → automatic decisions won
	Manual  []int64                   // seqs of the manual picks
}

// skips are the reasons a random candidate is ineligible.
var skips = [...]string{ledger.SkipOffline, ledger.SkipOffShift, ledger.SkipAtCapacity, ledger.SkipLapsed, ledger.SkipRejected}

// Honest writes perStrategy automatic decisions of each strategy in turn (in the order of
// ledger.Strategies) with random eligibility, load, conversion and a roster that changes
// midway (a manager leaves, a new one joins), with a manual pick now and then. Times start at
// start (ms) and grow. The same seed writes the same ledger.
func Honest(ctx context.Context, w *Writer, seed uint64, start int64, perStrategy int) (Run, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	run := Run{Chosen: map[string]map[string]int{}}
	weights := map[string]int64{"s1": 3, "s2": 1, "s3": 2, "s4": 1, "s5": 4}
	at, lead := start, int64(1000)
	for _, strategy := range ledger.Strategies() {
		run.Chosen[strategy] = map[string]int{}
		for i := 0; i < perStrategy; i++ {
			roster := []string{"s1", "s2", "s3", "s4"}
			switch {
			case i > perStrategy/3 && i < 2*perStrategy/3:
				roster = []string{"s1", "s3", "s4"} // s2 left (it may be the pointer)
			case i >= 2*perStrategy/3:
				roster = []string{"s1", "s3", "s4", "s5"} // s5 joined
			}
			cands := make([]ledger.Candidate, 0, len(roster))
			for _, id := range roster {
				c := ledger.Candidate{ID: id, Cap: 5, Load: int64(rng.IntN(5))}
				if rng.IntN(3) > 0 {
					c.Last = at - int64(rng.IntN(3))*60_000 // ties on purpose
				}
				if rng.IntN(10) < 3 {
					c.Skip = skips[rng.IntN(len(skips))]
				}
				switch strategy {
				case ledger.Weighted:
					c.W = weights[id]
				case ledger.BestConversion:
					c.Got = int64(rng.IntN(20))
					c.Won = int64(rng.IntN(int(c.Got) + 1))
					c.W = ledger.ConversionScore(c.Won, c.Got, 1, 10, 50)
				}
				cands = append(cands, c)
			}
			at += int64(1+rng.IntN(600)) * 1000
			lead++
			lm := "l" + strconv.Itoa(1+rng.IntN(3))
			var e ledger.Entry
			var err error
			if rng.IntN(40) == 0 {
				e, err = w.Manual(ctx, strategy, at, lead, lm, cands, roster[rng.IntN(len(roster))], "boss")
				run.Manual = append(run.Manual, e.Seq)
			} else {
				e, err = w.Auto(ctx, strategy, at, lead, lm, cands)
				if e.Chosen != "" {
					run.Chosen[strategy][e.Chosen]++
				}
			}
			if err != nil {
				return run, err
			}
			run.Entries = append(run.Entries, e)
		}
	}
	return run, nil
}

// raw is one stream entry with its fields in order.
type raw struct {
	id     string
	fields []string // name, value, ...
}

func readRaw(ctx context.Context, rdb redis.Cmdable, key string) ([]raw, error) {
	msgs, err := rdb.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		return nil, err
	}
	out := make([]raw, len(msgs))
	for i, m := range msgs {
		out[i].id = m.ID
		for _, name := range ledger.FieldNames() {
			if v, ok := m.Values[name].(string); ok {
				out[i].fields = append(out[i].fields, name, v)
			}
		}
	}
	return out, nil
}

func (r raw) get(name string) string {
	for i := 0; i+1 < len(r.fields); i += 2 {
		if r.fields[i] == name {
			return r.fields[i+1]
		}
	}
	return ""
}

func (r *raw) set(name, v string) {
	for i := 0; i+1 < len(r.fields); i += 2 {
		if r.fields[i] == name {
			r.fields[i+1] = v
			return
		}
	}
	r.fields = append(r.fields, name, v)
}

// rewrite replaces the stream with entries, keeping their ids (DEL, then XADD with the ids,
// in one transaction): the only way to "edit" a stream entry.
func rewrite(ctx context.Context, rdb redis.Cmdable, key string, entries []raw) error {
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		for _, e := range entries {
			vals := make([]any, len(e.fields))
			for i, f := range e.fields {
				vals[i] = f
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: e.id, Values: vals})
		}
		return nil
	})
	return err
}

func find(entries []raw, seq int64) (int, error) {
	for i, e := range entries {
		if e.get("seq") == strconv.FormatInt(seq, 10) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("ledgertest: no entry with seq %d", seq)
}

// Edit changes one field of the entry with seq (keeping its stored hash) and returns its id.
func Edit(ctx context.Context, rdb redis.Cmdable, k ledger.Keys, seq int64, field, value string) (string, error) {
	entries, err := readRaw(ctx, rdb, k.Ledger)
	if err != nil {
		return "", err
	}
	i, err := find(entries, seq)
	if err != nil {
		return "", err
	}
	entries[i].set(field, value)
	return entries[i].id, rewrite(ctx, rdb, k.Ledger, entries)
}

// Delete removes the entry with seq (XDEL) and returns its id.
func Delete(ctx context.Context, rdb redis.Cmdable, k ledger.Keys, seq int64) (string, error) {
	entries, err := readRaw(ctx, rdb, k.Ledger)
	if err != nil {
		return "", err
	}
	i, err := find(entries, seq)
	if err != nil {
		return "", err
	}
	return entries[i].id, rdb.XDel(ctx, k.Ledger, entries[i].id).Err()
}

// Forge sets chosen of the entry with seq and re-hashes the chain from it on, head included,
// so that only the rule check (and the state check of the next decision) can notice. It
// returns the entry's id.
func Forge(ctx context.Context, rdb redis.Cmdable, k ledger.Keys, seq int64, chosen string) (string, error) {
	entries, err := readRaw(ctx, rdb, k.Ledger)
	if err != nil {
		return "", err
	}
	i, err := find(entries, seq)
	if err != nil {
		return "", err
	}
	entries[i].set("chosen", chosen)
	prev := entries[i].get("prev")
	var last ledger.Entry
	for j := i; j < len(entries); j++ {
		entries[j].set("prev", prev)
		vals := map[string]any{}
		for n := 0; n+1 < len(entries[j].fields); n += 2 {
			vals[entries[j].fields[n]] = entries[j].fields[n+1]
		}
		e, err := ledger.ParseMessage(redis.XMessage{ID: entries[j].id, Values: vals})
		if err != nil {
			return "", err
		}
		e.Hash = ledger.Hash(e)
		entries[j].set("hash", e.Hash)
		prev, last = e.Hash, e
	}
	if err := rewrite(ctx, rdb, k.Ledger, entries); err != nil {
		return "", err
	}
	return entries[i].id, rdb.HSet(ctx, k.Head, "seq", last.Seq, "hash", last.Hash).Err()
}

// SetHead overwrites the head.
func SetHead(ctx context.Context, rdb redis.Cmdable, k ledger.Keys, h ledger.Head) error {
	return rdb.HSet(ctx, k.Head, "seq", h.Seq, "hash", h.Hash).Err()
}
