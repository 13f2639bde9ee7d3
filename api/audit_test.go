package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/api"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/ledger/ledgertest"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// newAuditEnv is an API with the audit route over an honest ledger of 40 decisions per
// strategy starting at t0 (lead-managers l1..l3, sales managers s1..s5, supervisor "boss").
func newAuditEnv(t *testing.T) (*env, ledgertest.Run) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	e := &env{t: t, ctx: context.Background(), clock: clock.NewFake(t0)}
	ms := []router.Manager{
		{ID: "anna", Name: "Anna", Token: annaTok, Capacity: 3},
		{ID: "vera", Name: "Vera", Role: router.RoleSupervisor, Token: veraTok},
	}
	log := testlog.Logger()
	r, err := router.New(router.Config{}, ms, router.Templates{}, router.Deps{Redis: rdb, Keys: keys, Clock: e.clock, Log: log,
		Metrics: metrics.New(prometheus.NewRegistry(), []string{"anna", "vera"}), Instance: "audittest"})
	if err != nil {
		t.Fatal(err)
	}
	k := ledger.KeysOf(keys)
	run, err := ledgertest.Honest(e.ctx, ledgertest.NewWriter(rdb, k), 11, t0.UnixMilli(), 40)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a := api.New(r, log)
	a.Register(mux)
	a.RegisterAudit(mux, ledger.NewReader(rdb, k))
	e.srv = httptest.NewServer(api.JSONErrors(mux))
	t.Cleanup(e.srv.Close)
	return e, run
}

func TestAuditHandoffs(t *testing.T) {
	e, run := newAuditEnv(t)
	mid := time.UnixMilli(run.Entries[60].At).UTC()
	end := time.UnixMilli(run.Entries[100].At).UTC()
	for _, tc := range []struct {
		name, query string
		keep        func(ledger.Entry) bool
	}{
		{"everything", "", func(ledger.Entry) bool { return true }},
		{"a window in RFC 3339", "?from=" + url.QueryEscape(mid.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(end.Format(time.RFC3339Nano)),
			func(en ledger.Entry) bool { return en.At >= mid.UnixMilli() && en.At < end.UnixMilli() }},
		{"from a date", "?from=" + mid.Format(time.DateOnly),
			func(en ledger.Entry) bool {
				return en.At >= time.Date(mid.Year(), mid.Month(), mid.Day(), 0, 0, 0, 0, time.UTC).UnixMilli()
			}},
		{"a sales manager", "?manager=s3", func(en ledger.Entry) bool { return en.Chosen == "s3" }},
		{"a lead-manager", "?manager=l1", func(en ledger.Entry) bool { return en.LM == "l1" }},
		{"the supervisor who picked", "?manager=boss", func(en ledger.Entry) bool { return en.By == "boss" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			var got []api.AuditEntry
			e.ok(veraTok, "GET", "/api/v1/audit/handoffs"+tc.query, "", http.StatusOK, &got)
			var want []ledger.Entry
			for _, en := range run.Entries {
				if tc.keep(en) {
					want = append(want, en)
				}
			}
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%d entries, want %d (> 0)", len(got), len(want))
			}
			entries := make([]ledger.Entry, len(got))
			for i, g := range got {
				w := want[i]
				if g.Seq != w.Seq || g.ID != w.ID || g.CandsRaw != w.CandsRaw || len(g.Cands) != len(w.Cands) || g.Chosen != w.Chosen || g.Kind != w.Kind {
					t.Fatalf("entry %d = %+v, want %+v", i, g, w)
				}
				g.Entry.CandsRaw = g.CandsRaw
				if ledger.Hash(g.Entry) != g.Hash {
					t.Fatalf("the hash of seq %d cannot be recomputed from the answer", g.Seq)
				}
				entries[i] = g.Entry
			}
			if tc.query == "" {
				if r := ledger.Verify(entries, nil); !r.OK() {
					t.Fatalf("the ledger read through the API does not verify: %v", r.Problems)
				}
			}
		})
	}
}

func TestAuditHandoffsErrors(t *testing.T) {
	e, _ := newAuditEnv(t)
	if r := e.do("GET", "/api/v1/audit/handoffs", "", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("no token: %s", r)
	}
	if r := e.as(annaTok, "GET", "/api/v1/audit/handoffs", ""); r.status != http.StatusForbidden {
		t.Fatalf("a lead-manager: %s, want 403", r)
	}
	for _, tc := range []struct{ query, field string }{
		{"?from=yesterday", "from"},
		{"?to=2026-13-01", "to"},
		{"?from=2026-11-29&to=2026-11-28", "to"},
		{"?from=2026-11-29&to=2026-11-29", "to"},
		{"?manager=", "manager"},
		{"?manager=" + url.QueryEscape("s1 OR 1"), "manager"},
		{"?manager=s1&manager=s2", "manager"},
		{"?form=2026-11-01", "form"},
	} {
		r := e.as(veraTok, "GET", "/api/v1/audit/handoffs"+tc.query, "")
		var v struct{ Error, Field string }
		if err := json.Unmarshal(r.body, &v); err != nil || r.status != http.StatusUnprocessableEntity || v.Field != tc.field || v.Error == "" {
			t.Errorf("%s: %s, want 422 naming %s", tc.query, r, tc.field)
		}
	}
}
