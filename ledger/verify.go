package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Checks a Problem can come from.
const (
	CheckField = "field" // a field is missing or malformed
	CheckSeq   = "seq"   // seq is not contiguous: an entry was deleted (or inserted, reordered)
	CheckChain = "chain" // prev is not the hash of the previous entry
	CheckHash  = "hash"  // the stored hash is not the hash of the entry: it was edited
	CheckHead  = "head"  // the head does not match the last entry
	CheckRule  = "rule"  // the recorded choice is not what the strategy chooses: forged
	CheckState = "state" // the strategy state does not continue from the previous decision
	CheckKind  = "kind"  // unknown kind, or a manual pick without a supervisor
)

// Problem is one thing wrong in the ledger.
type Problem struct {
	Seq    int64  `json:"seq"`    // the entry's seq (for a deleted entry: the missing seq)
	ID     string `json:"id"`     // the entry's stream id ("" for a deleted entry)
	Check  string `json:"check"`  // Check*
	Detail string `json:"detail"` // what is wrong, in English
}

func (p Problem) String() string {
	id := p.ID
	if id == "" {
		id = "-"
	}
	return fmt.Sprintf("seq %d (id %s): %s: %s", p.Seq, id, p.Check, p.Detail)
}

// ManualPick is a decision a supervisor made (flagged, not a failure).
type ManualPick struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id"`
	At     int64  `json:"at"`
	Lead   int64  `json:"lead"`
	Chosen string `json:"chosen"`
	By     string `json:"by"`
}

// Report is what Verify found.
type Report struct {
	Entries  int   `json:"entries"`
	FirstSeq int64 `json:"first_seq"` // the ledger starts here (> 1 after retention trimming)
	LastSeq  int64 `json:"last_seq"`
	FirstAt  int64 `json:"first_at"` // ms
	LastAt   int64 `json:"last_at"`  // ms
	// Anchor is the first entry's prev, accepted as given: "" for a ledger that starts at seq 1,
	// else the hash of the trimmed entry before it.
	Anchor      string         `json:"anchor"`
	Strategies  map[string]int `json:"strategies"` // automatic decisions per strategy
	Waited      int            `json:"waited"`     // automatic decisions with nobody eligible
	Manual      []ManualPick   `json:"manual"`
	Head        *Head          `json:"head"`         // the stored head (nil: not checked or none)
	HeadChecked bool           `json:"head_checked"` // the head was compared with the last entry
	Problems    []Problem      `json:"problems"`
	Notes       []string       `json:"notes,omitempty"`
}

// OK reports whether no problem was found.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks entries (the whole ledger or a contiguous part of it, oldest first):
//   - seq contiguity: a gap is a deleted entry (reported with the missing seq);
//   - prev is the stored hash of the previous entry (the first entry's prev is the anchor:
//     it must be "" at seq 1, and is accepted as given after retention trimming);
//   - the stored hash is Hash of the entry (else it was edited);
//   - every automatic decision, re-applied with Decide to its recorded candidates (decoded
//     from CandsRaw, the hashed bytes), chooses what is recorded (else it was forged);
//   - the strategy state continues between consecutive automatic entries of one strategy:
//     round_robin's ptr is the previous entry's pointer after its recorded choice (the chosen
//     id, or its own ptr when nobody was chosen), and each candidate's CW (weighted,
//     best_conversion) the previous entry's CW after its recorded choice (Transition) —
//     compared only for candidates present in both, not across a gap nor a change of
//     strategy (manual picks in between change no state and are skipped);
//   - manual picks are listed; one without a supervisor (By) is a problem;
//   - head, when not nil, is the seq and hash of the last entry.
//
// Verify trusts the recorded inputs (online, load, weights): it proves that each choice
// follows the rule from what was recorded and that nothing was edited, deleted or forged
// without rewriting the chain from that entry on.
func Verify(entries []Entry, head *Head) Report {
	r := Report{Entries: len(entries), Strategies: map[string]int{}, Head: head, Manual: []ManualPick{}, Problems: []Problem{}}
	add := func(e Entry, check, format string, a ...any) {
		r.Problems = append(r.Problems, Problem{Seq: e.Seq, ID: e.ID, Check: check, Detail: fmt.Sprintf(format, a...)})
	}
	var last *Decision // the state after the previous automatic entry
	lastStrategy := ""
	for i, e := range entries {
		if i == 0 {
			r.FirstSeq, r.FirstAt, r.Anchor = e.Seq, e.At, e.Prev
			if e.Seq == 1 && e.Prev != "" {
				add(e, CheckChain, "the first entry has prev %q instead of none", e.Prev)
			}
		} else {
			p := entries[i-1]
			switch {
			case e.Seq == p.Seq+1:
				if e.Prev != p.Hash {
					add(e, CheckChain, "prev %s is not the hash %s of seq %d (id %s): an entry before it was edited and re-hashed, or this one was",
						short(e.Prev), short(p.Hash), p.Seq, p.ID)
				}
			case e.Seq > p.Seq+1:
				missing := fmt.Sprintf("seq %d", p.Seq+1)
				if e.Seq > p.Seq+2 {
					missing = fmt.Sprintf("seqs %d..%d", p.Seq+1, e.Seq-1)
				}
				r.Problems = append(r.Problems, Problem{Seq: p.Seq + 1, Check: CheckSeq,
					Detail: fmt.Sprintf("%s missing between seq %d (id %s) and seq %d (id %s): deleted", missing, p.Seq, p.ID, e.Seq, e.ID)})
				last = nil // the state of the deleted decisions is unknown
			default:
				add(e, CheckSeq, "seq %d follows seq %d (id %s): not increasing (inserted or reordered)", e.Seq, p.Seq, p.ID)
				if e.Prev != p.Hash {
					add(e, CheckChain, "prev %s is not the hash %s of seq %d (id %s)", short(e.Prev), short(p.Hash), p.Seq, p.ID)
				}
			}
		}
		if h := Hash(e); h != e.Hash {
			add(e, CheckHash, "stored hash %s, computed %s: the entry was edited", short(e.Hash), short(h))
		}
		switch e.Kind {
		case KindManual:
			r.Manual = append(r.Manual, ManualPick{Seq: e.Seq, ID: e.ID, At: e.At, Lead: e.Lead, Chosen: e.Chosen, By: e.By})
			if e.By == "" {
				add(e, CheckKind, "manual pick of %q without the supervisor who made it (by is empty)", e.Chosen)
			}
		case KindAuto:
			r.Strategies[e.Strategy]++
			if e.Chosen == "" {
				r.Waited++
			}
			d, cands, ok := checkAuto(e, add)
			if !ok {
				last = nil
				break
			}
			if last != nil && lastStrategy == e.Strategy {
				checkState(e, cands, last, add)
			}
			last, lastStrategy = &d, e.Strategy
		default:
			add(e, CheckKind, "unknown kind %q", e.Kind)
		}
	}
	if n := len(entries); n > 0 {
		r.LastSeq, r.LastAt = entries[n-1].Seq, entries[n-1].At
		if r.FirstSeq > 1 {
			r.Notes = append(r.Notes, fmt.Sprintf("starts at seq %d: the entries before it are outside the window or were trimmed by retention "+
				"(a deletion of the oldest entries looks the same: compare with a head recorded earlier); its prev %s is the anchor",
				r.FirstSeq, short(r.Anchor)))
		}
	}
	if head != nil {
		r.HeadChecked = true
		checkHead(entries, *head, &r)
	}
	return r
}

// checkAuto checks an automatic entry's candidates and its choice and returns the state after
// the recorded choice; ok is false when the entry could not be re-applied.
func checkAuto(e Entry, add func(Entry, string, string, ...any)) (Decision, []Candidate, bool) {
	if !KnownStrategy(e.Strategy) {
		add(e, CheckRule, "unknown strategy %q", e.Strategy)
		return Decision{}, nil, false
	}
	var cands []Candidate
	if err := json.Unmarshal([]byte(e.CandsRaw), &cands); err != nil {
		add(e, CheckField, "cands is not a JSON array of candidates: %v", err)
		return Decision{}, nil, false
	}
	for i := 1; i < len(cands); i++ {
		if cands[i].ID <= cands[i-1].ID {
			add(e, CheckRule, "candidates are not sorted by id without repeats (%q after %q)", cands[i].ID, cands[i-1].ID)
			return Decision{}, nil, false
		}
	}
	if want := Decide(e.Strategy, e.Ptr, cands); want != e.Chosen {
		if want == "" {
			want = "nobody (no eligible candidate)"
		}
		got := e.Chosen
		if got == "" {
			got = "nobody"
		}
		add(e, CheckRule, "%s chooses %s from the recorded candidates, the entry records %s: forged decision", e.Strategy, want, got)
	}
	// The next decision must continue from the recorded choice, forged or not.
	return Transition(e.Strategy, e.Ptr, cands, e.Chosen), cands, true
}

// checkState compares the state recorded in e (its decoded cands) with the state after the
// previous decision.
func checkState(e Entry, cands []Candidate, prev *Decision, add func(Entry, string, string, ...any)) {
	switch e.Strategy {
	case RoundRobin:
		if e.Ptr != prev.Ptr {
			add(e, CheckState, "round_robin pointer %q, but the previous decision left it at %q", e.Ptr, prev.Ptr)
		}
	case Weighted, BestConversion:
		var wrong []string
		for _, c := range cands {
			if want, ok := prev.CW[c.ID]; ok && c.CW != want {
				wrong = append(wrong, fmt.Sprintf("%s cw %d (expected %d)", c.ID, c.CW, want))
			}
		}
		if len(wrong) > 0 {
			add(e, CheckState, "current weights do not continue from the previous decision: %s", strings.Join(wrong, ", "))
		}
	}
}

func checkHead(entries []Entry, h Head, r *Report) {
	if len(entries) == 0 {
		if h.Seq > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("no entries; the head is at seq %d: every entry was trimmed by retention (or deleted)", h.Seq))
		}
		return
	}
	l := entries[len(entries)-1]
	switch {
	case h.Seq > l.Seq:
		missing := fmt.Sprintf("seq %d", l.Seq+1)
		if h.Seq > l.Seq+1 {
			missing = fmt.Sprintf("seqs %d..%d", l.Seq+1, h.Seq)
		}
		r.Problems = append(r.Problems, Problem{Seq: l.Seq + 1, Check: CheckHead,
			Detail: fmt.Sprintf("the head is at seq %d but the last entry is seq %d (id %s): %s deleted", h.Seq, l.Seq, l.ID, missing)})
	case h.Seq != l.Seq || h.Hash != l.Hash:
		r.Problems = append(r.Problems, Problem{Seq: l.Seq, ID: l.ID, Check: CheckHead,
			Detail: fmt.Sprintf("the head (seq %d, hash %s) does not match the last entry (seq %d, hash %s)", h.Seq, short(h.Hash), l.Seq, short(l.Hash))})
	}
}

// short abbreviates a hash for messages.
func short(h string) string {
	if h == "" {
		return `""`
	}
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// VerifyRedis reads the whole ledger and its head from Redis and verifies them; fields that
// are missing or malformed are reported too (CheckField).
func VerifyRedis(ctx context.Context, rdb redis.Cmdable, k Keys) (Report, error) {
	return VerifyWindow(ctx, rdb, k, time.Time{}, time.Time{})
}

// VerifyWindow is VerifyRedis for the entries whose time is in [from, to) (a zero bound is
// open). The first entry of the window is its anchor; the head is checked only when to is
// zero (the window reaches the end of the ledger).
func VerifyWindow(ctx context.Context, rdb redis.Cmdable, k Keys, from, to time.Time) (Report, error) {
	var entries []Entry
	var bad []Problem
	err := scan(ctx, rdb, k.Ledger, false, func(e Entry, fields []string) {
		if !inWindow(e, from, to) {
			return
		}
		entries = append(entries, e)
		if len(fields) > 0 {
			bad = append(bad, Problem{Seq: e.Seq, ID: e.ID, Check: CheckField,
				Detail: "missing or malformed field(s): " + strings.Join(fields, ", ")})
		}
	})
	if err != nil {
		return Report{}, err
	}
	if !to.IsZero() {
		r := Verify(entries, nil)
		r.Problems = mergeProblems(r.Problems, bad)
		r.Notes = append(r.Notes, "the head was not checked: the window ends before the end of the ledger")
		return r, nil
	}
	h, ok, err := ReadHead(ctx, rdb, k.Head)
	if err != nil {
		return Report{}, err
	}
	var head *Head
	if ok {
		head = &h
	} else if len(entries) > 0 {
		bad = append(bad, Problem{Seq: entries[len(entries)-1].Seq, ID: entries[len(entries)-1].ID, Check: CheckHead,
			Detail: "the head " + k.Head + " is missing"})
	}
	r := Verify(entries, head)
	r.HeadChecked = true // a missing head is checked too (a problem when there are entries)
	r.Problems = mergeProblems(r.Problems, bad)
	return r, nil
}

// mergeProblems adds more to ps, ordered by seq.
func mergeProblems(ps, more []Problem) []Problem {
	if len(more) == 0 {
		return ps
	}
	ps = append(ps, more...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Seq < ps[j].Seq })
	return ps
}
