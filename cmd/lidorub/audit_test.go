package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/ledger/ledgertest"
	"github.com/lidorub/lidorub/store"
)

// auditLedger writes an honest ledger (100 decisions per strategy) under a fresh prefix and a
// configuration naming that prefix (with the embedded Redis: the command needs --redis).
func auditLedger(t *testing.T) (cfg, url string, k ledger.Keys, run ledgertest.Run) {
	t.Helper()
	url = redistest.URL(t) // before cleanEnv unsets REDIS_URL
	cleanEnv(t)
	rdb, prefix := redistest.New(t)
	cfg = filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("log:\n  level: warn\nredis:\n  url: embedded\n  prefix: "+prefix+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k = ledger.KeysOf(store.NewKeys(prefix))
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixMilli()
	run, err := ledgertest.Honest(context.Background(), ledgertest.NewWriter(rdb, k), 5, start, 100)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, url, k, run
}

func TestAuditVerifyHonest(t *testing.T) {
	cfg, url, k, run := auditLedger(t)
	n := len(run.Entries)

	code, out, errOut := runCmd(t, "audit", "verify", "-c", cfg, "--redis", url)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	first := time.UnixMilli(run.Entries[0].At).UTC().Format("2006-01-02 15:04:05Z")
	for _, want := range []string{
		fmt.Sprintf("ledger %s: %d entries, seq 1..%d, %s .. ", k.Ledger, n, n, first),
		fmt.Sprintf("head: seq %d hash %s\n", n, run.Entries[n-1].Hash),
		"automatic decisions: round_robin ",
		fmt.Sprintf("manual picks: %d\n", len(run.Manual)),
		fmt.Sprintf("  seq %d (id %s) ", run.Manual[0], run.Entries[run.Manual[0]-1].ID),
		"problems: 0\n",
		fmt.Sprintf("OK: the chain is intact from seq 1 to seq %d (anchor none: the first entry ever)", n),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// -c before the subcommand and REDIS_URL instead of --redis; JSON.
	t.Setenv("REDIS_URL", url)
	code, out, _ = runCmd(t, "-c", cfg, "audit", "verify", "--json")
	var v struct {
		Ledger   string
		OK       bool
		Entries  int
		Problems []ledger.Problem
		Manual   []ledger.ManualPick
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 || !v.OK || v.Entries != n || v.Ledger != k.Ledger ||
		len(v.Problems) != 0 || len(v.Manual) != len(run.Manual) {
		t.Fatalf("--json: exit %d, %+v (%v):\n%s", code, v, err, out)
	}

	// A window: the head is not checked, the window's first entry is the anchor.
	from := time.UnixMilli(run.Entries[99].At).UTC().Format(time.RFC3339Nano)
	to := time.UnixMilli(run.Entries[200].At).UTC().Format(time.RFC3339Nano)
	code, out, _ = runCmd(t, "audit", "verify", "-c", cfg, "--from", from, "--to", to)
	if code != 0 || !strings.Contains(out, ": 101 entries, seq 100..200, ") || !strings.Contains(out, "head: not checked") ||
		!strings.Contains(out, "note: starts at seq 100") {
		t.Fatalf("window: exit %d:\n%s", code, out)
	}
}

func TestAuditVerifyTampered(t *testing.T) {
	cfg, url, k, run := auditLedger(t)
	ctx := context.Background()
	rdb, _ := redistest.New(t) // the same server; keys of k
	edited := run.Entries[36]
	editedID, err := ledgertest.Edit(ctx, rdb, k, edited.Seq, "chosen", "s9")
	if err != nil {
		t.Fatal(err)
	}
	deletedID, err := ledgertest.Delete(ctx, rdb, k, 120)
	if err != nil {
		t.Fatal(err)
	}
	last := run.Entries[len(run.Entries)-1]
	if err := ledgertest.SetHead(ctx, rdb, k, ledger.Head{Seq: last.Seq, Hash: strings.Repeat("f", 40)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "audit", "verify", "-c", cfg, "--redis", url)
	t.Log(out)
	if code != 1 || errOut != "" {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	wantLines := []string{
		fmt.Sprintf("  seq %d (id %s): hash: stored hash ", edited.Seq, editedID),
		fmt.Sprintf("  seq 120 (id -): seq: seq 120 missing between seq 119 (id %s) and seq 121 (id %s): deleted", run.Entries[118].ID, run.Entries[120].ID),
		fmt.Sprintf("  seq %d (id %s): head: the head (seq %d, hash ffffffffffff) does not match the last entry", last.Seq, last.ID, last.Seq),
		"FAILED: ",
	}
	if edited.Kind == ledger.KindAuto {
		// an edited auto decision is also a forged one (and moves the next state)
		wantLines = append(wantLines, fmt.Sprintf("  seq %d (id %s): rule: ", edited.Seq, editedID))
	}
	for _, want := range wantLines {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if deletedID != run.Entries[119].ID {
		t.Fatalf("deleted %s, want the id of seq 120", deletedID)
	}
}

func TestAuditVerifyUsage(t *testing.T) {
	cleanEnv(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("redis:\n  url: embedded\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit"}, "usage: lidorub audit verify"},
		{[]string{"audit", "check"}, "usage: lidorub audit verify"},
		{[]string{"audit", "verify", "-c", cfg}, "uses the embedded in-memory Redis"},
		{[]string{"audit", "verify", "-c", cfg, "--redis", "redis://127.0.0.1:6379", "--from", "yesterday"}, `--from: "yesterday" is not a time`},
		{[]string{"audit", "verify", "-c", cfg, "--redis", "redis://127.0.0.1:6379", "--from", "2026-11-02", "--to", "2026-11-01"}, "--to must be after --from"},
		{[]string{"audit", "verify", "-c", cfg, "extra"}, "usage: lidorub audit verify"},
	} {
		code, out, errOut := runCmd(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}
