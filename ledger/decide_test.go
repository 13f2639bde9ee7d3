package ledger_test

import (
	"strings"
	"testing"

	"github.com/lidorub/lidorub/ledger"
)

// cands builds candidates from "id" (eligible) or "id:skip" specs.
func cands(specs ...string) []ledger.Candidate {
	out := make([]ledger.Candidate, 0, len(specs))
	for _, s := range specs {
		id, skip, _ := strings.Cut(s, ":")
		out = append(out, ledger.Candidate{ID: id, Cap: 5, Skip: skip})
	}
	return out
}

func TestDecideRoundRobin(t *testing.T) {
	for _, tc := range []struct {
		name, ptr string
		cands     []ledger.Candidate
		want      string
		wantPtr   string
	}{
		{"no pointer yet: the lowest id", "", cands("s1", "s2", "s3"), "s1", "s1"},
		{"the next id after the pointer", "s1", cands("s1", "s2", "s3"), "s2", "s2"},
		{"skips the ineligible", "s1", cands("s1", "s2:offline", "s3:at_capacity", "s4"), "s4", "s4"},
		{"wraps round after the last id", "s4", cands("s1", "s2", "s3", "s4"), "s1", "s1"},
		{"wraps to the lowest eligible", "s3", cands("s1:off_shift", "s2", "s3"), "s2", "s2"},
		{"the pointer may be chosen again when alone", "s2", cands("s1:lapsed", "s2", "s3:rejected"), "s2", "s2"},
		{"pointer no longer in the roster: the next id after it", "s2", cands("s1", "s3", "s4"), "s3", "s3"},
		{"pointer past every id, removed: wraps", "s9", cands("s1", "s3"), "s1", "s1"},
		{"order of the candidates does not matter", "s1", cands("s3", "s2", "s1"), "s2", "s2"},
		{"nobody eligible: nobody, pointer unchanged", "s2", cands("s1:offline", "s2:at_capacity"), "", "s2"},
		{"no candidates", "s2", nil, "", "s2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ledger.Apply(ledger.RoundRobin, tc.ptr, tc.cands)
			if d.Chosen != tc.want || d.Ptr != tc.wantPtr {
				t.Fatalf("Apply = chosen %q ptr %q, want %q %q", d.Chosen, d.Ptr, tc.want, tc.wantPtr)
			}
			if got := ledger.Decide(ledger.RoundRobin, tc.ptr, tc.cands); got != tc.want {
				t.Fatalf("Decide = %q, want %q", got, tc.want)
			}
			for _, c := range tc.cands {
				if d.CW[c.ID] != c.CW {
					t.Fatalf("round_robin changed the CW of %s", c.ID)
				}
			}
		})
	}
}

// An absent manager does not bank turns: after an absence they get their one turn per cycle,
// never a burst, under round_robin and weighted.
func TestDecideAbsentDoNotBankTurns(t *testing.T) {
	for _, strategy := range []string{ledger.RoundRobin, ledger.Weighted} {
		t.Run(strategy, func(t *testing.T) {
			ids := []string{"s1", "s2", "s3"}
			cw := map[string]int64{}
			ptr := ""
			var got []string
			for i := 0; i < 30; i++ {
				cs := make([]ledger.Candidate, len(ids))
				for j, id := range ids {
					cs[j] = ledger.Candidate{ID: id, W: 1, CW: cw[id]}
					if id == "s2" && i < 15 { // away for the first fifteen decisions
						cs[j].Skip = ledger.SkipOffline
					}
				}
				d := ledger.Apply(strategy, ptr, cs)
				ptr, cw = d.Ptr, d.CW
				got = append(got, d.Chosen)
			}
			// After the return, each window of three decisions gives each manager exactly one.
			for i := 15; i+3 <= 30; i += 3 {
				seen := map[string]int{}
				for _, c := range got[i : i+3] {
					seen[c]++
				}
				if len(seen) != 3 {
					t.Fatalf("decisions %d..%d after s2's return = %v (all: %v): a surge or a starved manager", i, i+2, got[i:i+3], got)
				}
			}
			for _, c := range got[:15] {
				if c == "s2" {
					t.Fatalf("s2 chosen while away: %v", got)
				}
			}
		})
	}
}

func TestDecideLeastLoaded(t *testing.T) {
	c := func(id string, load, last int64, skip string) ledger.Candidate {
		return ledger.Candidate{ID: id, Load: load, Cap: 5, Last: last, Skip: skip}
	}
	for _, tc := range []struct {
		name  string
		cands []ledger.Candidate
		want  string
	}{
		{"the lowest load", []ledger.Candidate{c("s1", 3, 0, ""), c("s2", 1, 500, ""), c("s3", 2, 0, "")}, "s2"},
		{"tie on load: longest since the last handoff", []ledger.Candidate{c("s1", 1, 900, ""), c("s2", 1, 500, ""), c("s3", 2, 0, "")}, "s2"},
		{"never handed a lead beats any time", []ledger.Candidate{c("s1", 1, 900, ""), c("s2", 1, 500, ""), c("s3", 1, 0, "")}, "s3"},
		{"tie on load and last: the lowest id", []ledger.Candidate{c("s3", 1, 500, ""), c("s2", 1, 500, ""), c("s4", 1, 500, "")}, "s2"},
		{"the ineligible are ignored even when idle", []ledger.Candidate{c("s1", 0, 0, ledger.SkipOffline), c("s2", 4, 10, "")}, "s2"},
		{"nobody eligible", []ledger.Candidate{c("s1", 0, 0, ledger.SkipOffShift), c("s2", 5, 0, ledger.SkipAtCapacity)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ledger.Apply(ledger.LeastLoaded, "s1", tc.cands)
			if d.Chosen != tc.want || d.Ptr != "s1" {
				t.Fatalf("Apply = %q (ptr %q), want %q (ptr unchanged)", d.Chosen, d.Ptr, tc.want)
			}
		})
	}
}

func TestDecideWeighted(t *testing.T) {
	w := func(id string, weight, cw int64, skip string) ledger.Candidate {
		return ledger.Candidate{ID: id, W: weight, CW: cw, Skip: skip}
	}
	for _, strategy := range []string{ledger.Weighted, ledger.BestConversion} {
		for _, tc := range []struct {
			name   string
			cands  []ledger.Candidate
			want   string
			wantCW map[string]int64
		}{
			{"the highest CW+W wins and pays the eligible sum",
				[]ledger.Candidate{w("a", 5, 0, ""), w("b", 1, 0, ""), w("c", 1, 0, "")}, "a", map[string]int64{"a": -2, "b": 1, "c": 1}},
			{"tie: the lowest id",
				[]ledger.Candidate{w("c", 1, 2, ""), w("b", 1, 2, ""), w("a", 5, -4, "")}, "b", map[string]int64{"a": 1, "b": -4, "c": 3}},
			{"the ineligible keep their CW and do not count in the sum",
				[]ledger.Candidate{w("a", 5, 0, ""), w("b", 1, 7, ledger.SkipOffline), w("c", 1, 0, "")}, "a", map[string]int64{"a": -1, "b": 7, "c": 1}},
			{"nobody eligible: every CW unchanged",
				[]ledger.Candidate{w("a", 5, 3, ledger.SkipLapsed), w("b", 1, -3, ledger.SkipRejected)}, "", map[string]int64{"a": 3, "b": -3}},
		} {
			t.Run(strategy+"/"+tc.name, func(t *testing.T) {
				d := ledger.Apply(strategy, "p", tc.cands)
				if d.Chosen != tc.want || d.Ptr != "p" {
					t.Fatalf("chosen %q ptr %q, want %q and the pointer unchanged", d.Chosen, d.Ptr, tc.want)
				}
				for id, v := range tc.wantCW {
					if d.CW[id] != v {
						t.Fatalf("CW = %v, want %v", d.CW, tc.wantCW)
					}
				}
			})
		}
	}
	// The classic smooth sequence for weights 5, 1, 1: a a b a c a a, and back to zero.
	cw := map[string]int64{}
	var seq []string
	for i := 0; i < 7; i++ {
		d := ledger.Apply(ledger.Weighted, "", []ledger.Candidate{w("a", 5, cw["a"], ""), w("b", 1, cw["b"], ""), w("c", 1, cw["c"], "")})
		cw = d.CW
		seq = append(seq, d.Chosen)
	}
	if got := strings.Join(seq, " "); got != "a a b a c a a" || cw["a"] != 0 || cw["b"] != 0 || cw["c"] != 0 {
		t.Fatalf("sequence %q with final CW %v, want \"a a b a c a a\" and zeros", got, cw)
	}
}

func TestDecideUnknownStrategy(t *testing.T) {
	if got := ledger.Decide("random", "", cands("s1", "s2")); got != "" {
		t.Fatalf("Decide(random) = %q, want nobody", got)
	}
	if ledger.KnownStrategy("random") || !ledger.KnownStrategy(ledger.BestConversion) {
		t.Fatal("KnownStrategy is wrong")
	}
}

func TestConversionScore(t *testing.T) {
	for _, tc := range []struct {
		won, got, priorWon, priorLeads, floor, want int64
	}{
		{0, 0, 1, 10, 50, 100},   // a newcomer gets the prior: 1000*1/10
		{1, 1, 1, 10, 50, 181},   // one lucky win: 2000/11 = 181, not 1000
		{0, 20, 1, 10, 50, 50},   // 1000/30 = 33, floored at 50: never starved
		{10, 20, 1, 10, 50, 366}, // 11000/30 = 366 (integer division)
		{0, 0, 0, 0, 50, 50},     // no prior at all: the floor
	} {
		if got := ledger.ConversionScore(tc.won, tc.got, tc.priorWon, tc.priorLeads, tc.floor); got != tc.want {
			t.Errorf("ConversionScore(%d, %d, %d, %d, %d) = %d, want %d", tc.won, tc.got, tc.priorWon, tc.priorLeads, tc.floor, got, tc.want)
		}
	}
}
