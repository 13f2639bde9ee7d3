package ledger_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/ledger/ledgertest"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// t0 is when the test ledgers start.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// perStrategy is how many decisions of each strategy an honest test ledger holds.
const perStrategy = 300

// honest writes an honest ledger (perStrategy decisions of each strategy) under a fresh prefix.
func honest(t *testing.T, atIDs bool) (*redis.Client, ledger.Keys, ledgertest.Run) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	k := ledger.KeysOf(store.NewKeys(prefix))
	w := ledgertest.NewWriter(rdb, k)
	w.AtIDs = atIDs
	run, err := ledgertest.Honest(context.Background(), w, 7, t0.UnixMilli(), perStrategy)
	if err != nil {
		t.Fatal(err)
	}
	return rdb, k, run
}

func TestVerifyHonestLedger(t *testing.T) {
	ctx := context.Background()
	rdb, k, run := honest(t, false)
	r, err := ledger.VerifyRedis(ctx, rdb, k)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("an honest ledger has problems:\n%s", problems(r))
	}
	n := len(run.Entries)
	if r.Entries != n || r.FirstSeq != 1 || r.LastSeq != int64(n) || r.Anchor != "" || !r.HeadChecked || r.Head == nil || r.Head.Seq != int64(n) {
		t.Fatalf("report = %+v, want %d entries from seq 1 with the head checked", r, n)
	}
	auto := 0
	for _, s := range ledger.Strategies() {
		auto += r.Strategies[s]
		if r.Strategies[s] < perStrategy*9/10 {
			t.Errorf("%s: %d automatic decisions, want most of %d", s, r.Strategies[s], perStrategy)
		}
		if len(run.Chosen[s]) < 4 {
			t.Errorf("%s chose only %v: the random eligibility should spread it", s, run.Chosen[s])
		}
	}
	if auto+len(r.Manual) != n || len(r.Manual) != len(run.Manual) || len(run.Manual) == 0 {
		t.Fatalf("%d automatic + %d manual, want %d entries and the %d manual picks %v", auto, len(r.Manual), n, len(run.Manual), run.Manual)
	}
	for i, m := range r.Manual {
		if m.Seq != run.Manual[i] || m.By != "boss" || m.ID == "" {
			t.Fatalf("manual pick %+v, want seq %d by boss", m, run.Manual[i])
		}
	}
	if r.Waited == 0 {
		t.Error("no decision found nobody eligible: the random eligibility should make some")
	}
}

// problems prints the problems of a report, one a line.
func problems(r ledger.Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	return b.String()
}

// want is an expected problem: seq, whether it names a stream id (else the entry is gone), check.
type want struct {
	seq   int64
	id    string
	check string
}

func (w want) String() string { return fmt.Sprintf("seq %d id %q %s", w.seq, w.id, w.check) }

// pick returns the first entry from seq `from` on that satisfies ok.
func pick(t *testing.T, run ledgertest.Run, from int64, ok func(e, next ledger.Entry) bool) ledger.Entry {
	t.Helper()
	for i := int(from) - 1; i+1 < len(run.Entries); i++ {
		if ok(run.Entries[i], run.Entries[i+1]) {
			return run.Entries[i]
		}
	}
	t.Fatal("no entry fits the tampering")
	return ledger.Entry{}
}

// otherEligible is an eligible candidate of e that was not chosen ("" if none).
func otherEligible(e ledger.Entry) string {
	for _, c := range e.Cands {
		if c.Skip == "" && c.ID != e.Chosen {
			return c.ID
		}
	}
	return ""
}

func TestVerifyTamperedLedger(t *testing.T) {
	ctx := context.Background()
	auto := func(strategy string) func(e, next ledger.Entry) bool {
		return func(e, next ledger.Entry) bool {
			return e.Kind == ledger.KindAuto && e.Strategy == strategy && e.Chosen != "" && otherEligible(e) != "" &&
				next.Kind == ledger.KindAuto && next.Strategy == strategy
		}
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want
	}{
		{"an edited entry", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := run.Entries[136]
			id, err := ledgertest.Edit(ctx, rdb, k, e.Seq, "lead", strconv.FormatInt(e.Lead+1, 10))
			must(t, err)
			return []want{{e.Seq, id, ledger.CheckHash}}
		}},
		{"an edited candidate set", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := run.Entries[700]
			id, err := ledgertest.Edit(ctx, rdb, k, e.Seq, "cands", strings.Replace(e.CandsRaw, `"load":`, `"load":1`, 1))
			must(t, err)
			return []want{{e.Seq, id, ledger.CheckHash}}
		}},
		{"an edited entry re-hashed without the rest of the chain", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := run.Entries[250]
			e.LM = "l9"
			_, err := ledgertest.Edit(ctx, rdb, k, e.Seq, "lm", e.LM)
			must(t, err)
			_, err = ledgertest.Edit(ctx, rdb, k, e.Seq, "hash", ledger.Hash(e))
			must(t, err)
			return []want{{e.Seq + 1, run.Entries[251].ID, ledger.CheckChain}}
		}},
		{"a deleted entry", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			_, err := ledgertest.Delete(ctx, rdb, k, 421)
			must(t, err)
			return []want{{421, "", ledger.CheckSeq}}
		}},
		{"the last entry deleted", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			last := int64(len(run.Entries))
			_, err := ledgertest.Delete(ctx, rdb, k, last)
			must(t, err)
			return []want{{last, "", ledger.CheckHead}}
		}},
		{"a forged least_loaded decision with the chain re-hashed", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := pick(t, run, 1, auto(ledger.LeastLoaded))
			id, err := ledgertest.Forge(ctx, rdb, k, e.Seq, otherEligible(e))
			must(t, err)
			return []want{{e.Seq, id, ledger.CheckRule}}
		}},
		{"a forged round_robin decision: the rule and the next pointer", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := pick(t, run, 40, auto(ledger.RoundRobin))
			id, err := ledgertest.Forge(ctx, rdb, k, e.Seq, otherEligible(e))
			must(t, err)
			return []want{{e.Seq, id, ledger.CheckRule}, {e.Seq + 1, run.Entries[e.Seq].ID, ledger.CheckState}}
		}},
		{"a forged weighted decision: the rule and the next weights", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := pick(t, run, 2*perStrategy+10, auto(ledger.Weighted))
			id, err := ledgertest.Forge(ctx, rdb, k, e.Seq, otherEligible(e))
			must(t, err)
			return []want{{e.Seq, id, ledger.CheckRule}, {e.Seq + 1, run.Entries[e.Seq].ID, ledger.CheckState}}
		}},
		{"a forged nobody-eligible wait", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := pick(t, run, 3*perStrategy, auto(ledger.BestConversion))
			id, err := ledgertest.Forge(ctx, rdb, k, e.Seq, "")
			must(t, err)
			return []want{{e.Seq, id, ledger.CheckRule}, {e.Seq + 1, run.Entries[e.Seq].ID, ledger.CheckState}}
		}},
		{"the head altered", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			last := run.Entries[len(run.Entries)-1]
			must(t, ledgertest.SetHead(ctx, rdb, k, ledger.Head{Seq: last.Seq, Hash: strings.Repeat("0", 40)}))
			return []want{{last.Seq, last.ID, ledger.CheckHead}}
		}},
		{"a malformed field", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := run.Entries[333]
			id, err := ledgertest.Edit(ctx, rdb, k, e.Seq, "at", "soon")
			must(t, err)
			return []want{{e.Seq, id, ledger.CheckHash}, {e.Seq, id, ledger.CheckField}}
		}},
		{"an unknown kind", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := run.Entries[334]
			id, err := ledgertest.Edit(ctx, rdb, k, e.Seq, "kind", "favour")
			must(t, err)
			return []want{{e.Seq, id, ledger.CheckHash}, {e.Seq, id, ledger.CheckKind}}
		}},
		{"an unknown strategy, re-hashed", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			e := pick(t, run, 10, func(e, _ ledger.Entry) bool { return e.Kind == ledger.KindAuto })
			e.Strategy = "friends_first"
			_, err := ledgertest.Edit(ctx, rdb, k, e.Seq, "strategy", e.Strategy)
			must(t, err)
			id, err := ledgertest.Edit(ctx, rdb, k, e.Seq, "hash", ledger.Hash(e))
			must(t, err)
			return []want{{e.Seq, id, ledger.CheckRule}, {e.Seq + 1, run.Entries[e.Seq].ID, ledger.CheckChain}}
		}},
		{"the head deleted", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			must(t, rdb.Del(ctx, k.Head).Err())
			last := run.Entries[len(run.Entries)-1]
			return []want{{last.Seq, last.ID, ledger.CheckHead}}
		}},
		{"a manual pick without its supervisor", func(t *testing.T, rdb *redis.Client, k ledger.Keys, run ledgertest.Run) []want {
			seq := run.Manual[0]
			id, err := ledgertest.Edit(ctx, rdb, k, seq, "by", "")
			must(t, err)
			return []want{{seq, id, ledger.CheckHash}, {seq, id, ledger.CheckKind}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb, k, run := honest(t, false)
			wants := tc.tamper(t, rdb, k, run)
			r, err := ledger.VerifyRedis(ctx, rdb, k)
			if err != nil {
				t.Fatal(err)
			}
			assertProblems(t, r, wants)
		})
	}
}

// assertProblems checks that r reports exactly wants (seq, id, check), in order.
func assertProblems(t *testing.T, r ledger.Report, wants []want) {
	t.Helper()
	ok := len(r.Problems) == len(wants)
	for i := 0; ok && i < len(wants); i++ {
		p := r.Problems[i]
		ok = p.Seq == wants[i].seq && p.ID == wants[i].id && p.Check == wants[i].check && p.Detail != ""
	}
	if !ok {
		t.Fatalf("problems:\n%swant %v", problems(r), wants)
	}
}

// Every tampering at once, each reported at its own seq.
func TestVerifyEveryTamperingAtOnce(t *testing.T) {
	ctx := context.Background()
	rdb, k, run := honest(t, false)
	edited, deleted := run.Entries[99], run.Entries[499]
	forged := pick(t, run, perStrategy+50, func(e, _ ledger.Entry) bool {
		return e.Kind == ledger.KindAuto && e.Strategy == ledger.LeastLoaded && otherEligible(e) != ""
	})
	// Forge first: it rewrites the stream from the forged entry on, re-hashing the rest.
	forgedID, err := ledgertest.Forge(ctx, rdb, k, forged.Seq, otherEligible(forged))
	must(t, err)
	editedID, err := ledgertest.Edit(ctx, rdb, k, edited.Seq, "at", strconv.FormatInt(edited.At-60_000, 10))
	must(t, err)
	_, err = ledgertest.Delete(ctx, rdb, k, deleted.Seq)
	must(t, err)
	h, _, err := ledger.ReadHead(ctx, rdb, k.Head)
	must(t, err)
	must(t, ledgertest.SetHead(ctx, rdb, k, ledger.Head{Seq: h.Seq + 1, Hash: h.Hash}))
	r, err := ledger.VerifyRedis(ctx, rdb, k)
	must(t, err)
	last := int64(len(run.Entries))
	assertProblems(t, r, []want{
		{edited.Seq, editedID, ledger.CheckHash},
		{forged.Seq, forgedID, ledger.CheckRule},
		{deleted.Seq, "", ledger.CheckSeq},
		{last + 1, "", ledger.CheckHead},
	})
}

// Retention trims by time only; what is left verifies, anchored at its first entry.
func TestTrimRetention(t *testing.T) {
	ctx := context.Background()
	rdb, k, run := honest(t, true)
	cut := run.Entries[200]
	n, err := ledger.Trim(ctx, rdb, k.Ledger, time.UnixMilli(cut.At))
	must(t, err)
	if n != 200 {
		t.Fatalf("Trim removed %d entries, want the 200 older than seq %d", n, cut.Seq)
	}
	r, err := ledger.VerifyRedis(ctx, rdb, k)
	must(t, err)
	if !r.OK() || r.FirstSeq != cut.Seq || r.Anchor != cut.Prev || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "starts at seq 201") {
		t.Fatalf("after trimming: first seq %d anchor %s notes %q problems:\n%s", r.FirstSeq, r.Anchor, r.Notes, problems(r))
	}
	// A deletion right after the anchor is still caught.
	_, err = ledgertest.Delete(ctx, rdb, k, cut.Seq+1)
	must(t, err)
	r, err = ledger.VerifyRedis(ctx, rdb, k)
	must(t, err)
	assertProblems(t, r, []want{{cut.Seq + 1, "", ledger.CheckSeq}})

	// Trimmed empty: the head remains, noted, not a failure.
	_, err = ledger.Trim(ctx, rdb, k.Ledger, time.UnixMilli(run.Entries[len(run.Entries)-1].At+1))
	must(t, err)
	r, err = ledger.VerifyRedis(ctx, rdb, k)
	must(t, err)
	if !r.OK() || r.Entries != 0 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "no entries") {
		t.Fatalf("trimmed empty: %+v", r)
	}
	if n, err := ledger.Trim(ctx, rdb, k.Ledger, time.Time{}); err != nil || n != 0 {
		t.Fatalf("Trim with a zero time = %d, %v; want nothing", n, err)
	}
}

func TestRead(t *testing.T) {
	ctx := context.Background()
	rdb, k, run := honest(t, false)
	from, to := time.UnixMilli(run.Entries[100].At), time.UnixMilli(run.Entries[400].At)
	for _, tc := range []struct {
		name     string
		from, to time.Time
		manager  string
	}{
		{"everything", time.Time{}, time.Time{}, ""},
		{"a window", from, to, ""},
		{"from only", from, time.Time{}, ""},
		{"a sales manager", time.Time{}, time.Time{}, "s3"},
		{"a lead-manager in a window", from, to, "l2"},
		{"the supervisor", time.Time{}, time.Time{}, "boss"},
		{"nobody", time.Time{}, time.Time{}, "nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ledger.Read(ctx, rdb, k.Ledger, tc.from, tc.to, tc.manager)
			must(t, err)
			var want []ledger.Entry
			for _, e := range run.Entries {
				if (tc.from.IsZero() || e.At >= tc.from.UnixMilli()) && (tc.to.IsZero() || e.At < tc.to.UnixMilli()) &&
					(tc.manager == "" || tc.manager == e.Chosen || tc.manager == e.LM || tc.manager == e.By) {
					want = append(want, e)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d entries, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.ID != w.ID || g.Seq != w.Seq || g.CandsRaw != w.CandsRaw || len(g.Cands) != len(w.Cands) || g.Hash != w.Hash || g.Chosen != w.Chosen {
					t.Fatalf("entry %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
