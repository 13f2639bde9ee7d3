package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/ledger/ledgertest"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// routerLedger runs the real router's sales tier (handoffs, lapses, rejections, manual picks,
// presence changes) under a fresh prefix and returns a configuration naming that prefix.
func routerLedger(t *testing.T) (cfg, url string, k ledger.Keys, rdb redis.UniversalClient) {
	t.Helper()
	url = redistest.URL(t)
	cleanEnv(t)
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	ms := []router.Manager{{ID: "lena", Capacity: 100}, {ID: "sue", Role: router.RoleSupervisor}}
	ids := []string{"lena"}
	for _, s := range []string{"s1", "s2", "s3"} {
		ms = append(ms, router.Manager{ID: s, Role: router.RoleSales, Capacity: 4, Weight: 1})
		ids = append(ids, s)
	}
	m := metrics.New(nil, ids)
	r, err := router.New(router.Config{OfferTimeout: time.Hour, FirstResponse: 24 * time.Hour}, ms, router.Templates{},
		router.Deps{Redis: rdb, Keys: keys, Clock: clk, Log: slog.New(slog.DiscardHandler), Metrics: m, Instance: "audit",
			Sleep: func(context.Context, time.Duration) error { return nil },
			Sales: &router.SalesConfig{Strategy: router.SalesLeastLoaded, AcceptTimeout: time.Minute, AllowManualPick: true}})
	if err != nil {
		t.Fatal(err)
	}
	settle := func() {
		t.Helper()
		if err := r.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		if err := r.SetOnline(ctx, id, true); err != nil {
			t.Fatal(err)
		}
	}
	in := store.NewIngest(rdb, keys, clk, m)
	for i := 1; i <= 60; i++ {
		if _, err := in.Ingest(ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m" + strconv.Itoa(i),
			ContactID: "c" + strconv.Itoa(i), Text: "hello"}); err != nil {
			t.Fatal(err)
		}
		settle()
		id := int64(i)
		if err := r.Accept(ctx, id, "lena"); err != nil {
			t.Fatal(err)
		}
		if err := r.Handoff(ctx, id, "lena", router.QualHot, ""); err != nil {
			t.Fatal(err)
		}
		settle()
		c, err := r.Conversation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i%7 == 0 && c.SalesOfferTo != "":
			if err := r.SalesReject(ctx, id, c.SalesOfferTo, "duplicate"); err != nil {
				t.Fatal(err)
			}
		case i%5 == 0:
			if err := r.PickSales(ctx, id, "sue", fmt.Sprintf("s%d", i%3+1)); err != nil {
				t.Fatal(err)
			}
		case i%4 == 0:
			clk.Advance(time.Minute + time.Second) // the offer lapses
		case i%3 == 0 && c.SalesOfferTo != "":
			if err := r.SalesAccept(ctx, id, c.SalesOfferTo); err != nil {
				t.Fatal(err)
			}
			if err := r.RecordOutcome(ctx, id, c.SalesOfferTo, router.Outcome{Result: router.OutcomeWon, Amount: 100}); err != nil {
				t.Fatal(err)
			}
		case i%11 == 0:
			if err := r.SetOnline(ctx, "s2", i%2 == 0); err != nil {
				t.Fatal(err)
			}
		}
		settle()
		clk.Advance(time.Second)
	}
	cfg = filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("log:\n  level: warn\nredis:\n  url: embedded\n  prefix: "+prefix+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, url, ledger.KeysOf(keys), rdb
}

// TestAuditVerifyRouterLedger: `lidorub audit verify` on a ledger written by the real router
// (handoff.lua) exits 0; after one entry is edited in Redis it exits 1 and names its seq.
func TestAuditVerifyRouterLedger(t *testing.T) {
	cfg, url, k, rdb := routerLedger(t)
	ctx := context.Background()
	r, err := ledger.VerifyRedis(ctx, rdb, k)
	if err != nil || r.Entries < 60 || len(r.Manual) == 0 {
		t.Fatalf("the run wrote %d entries, %d manual (%v)", r.Entries, len(r.Manual), err)
	}
	code, out, errOut := runCmd(t, "audit", "verify", "-c", cfg, "--redis", url)
	if code != 0 || errOut != "" || !strings.Contains(out, "problems: 0\n") ||
		!strings.Contains(out, fmt.Sprintf("OK: the chain is intact from seq 1 to seq %d", r.Entries)) {
		t.Fatalf("honest: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	t.Logf("honest router ledger:\n%s", out)
	const seq = 17
	id, err := ledgertest.Edit(ctx, rdb, k, seq, "chosen", "s9")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, "audit", "verify", "-c", cfg, "--redis", url)
	if code != 1 || errOut != "" || !strings.Contains(out, fmt.Sprintf("  seq %d (id %s): hash: stored hash ", seq, id)) ||
		!strings.Contains(out, "FAILED: ") {
		t.Fatalf("tampered: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}
