package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/store"
)

const auditUsage = `usage: lidorub audit verify [-c FILE] [--redis URL] [--from T] [--to T] [--json]
    replay the fairness ledger of the configured Redis: check the hash chain and the head,
    and re-apply each recorded decision's strategy to its recorded candidates; print a
    summary and every problem with its seq; exit 1 when there is any problem
flags:
`

// runAudit is `lidorub audit verify`. cfgPath is the global -c.
func runAudit(cfgPath string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lidorub audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, auditUsage)
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "verify" {
		fs.Usage()
		return 2
	}
	fs.StringVar(&cfgPath, "c", cfgPath, "configuration file whose redis: section holds the ledger (default $LIDORUB_CONFIG, else ./config.yaml)")
	redisURL := fs.String("redis", "", "redis:// URL to read instead of redis.url (the key prefix stays redis.prefix)")
	fromS := fs.String("from", "", "verify only the entries from this time (RFC 3339 or YYYY-MM-DD); the first is the anchor")
	toS := fs.String("to", "", "verify only the entries before this time (the head is then not checked)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	var from, to time.Time
	for _, b := range []struct {
		name, s string
		t       *time.Time
	}{{"--from", *fromS, &from}, {"--to", *toS, &to}} {
		if b.s == "" {
			continue
		}
		t, err := ledger.ParseBound(b.s)
		if err != nil {
			fmt.Fprintf(stderr, "lidorub audit verify: %s: %v\n", b.name, err)
			return 2
		}
		*b.t = t
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		fmt.Fprintln(stderr, "lidorub audit verify: --to must be after --from")
		return 2
	}
	cfg, src, err := loadConfig(cfgPath)
	if err != nil {
		printConfigErrors(stderr, src, err)
		return 1
	}
	rc := cfg.Redis
	if *redisURL != "" {
		rc.URL = *redisURL
		if err := rc.Validate(); err != nil {
			fmt.Fprintf(stderr, "lidorub audit verify: --redis: %v\n", err)
			return 2
		}
	}
	if rc.URL == store.Embedded {
		fmt.Fprintf(stderr, "lidorub audit verify: %s uses the embedded in-memory Redis: its ledger lives only inside the running gateway; give --redis URL or REDIS_URL\n", src)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	conn, err := store.Open(ctx, rc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintf(stderr, "lidorub audit verify: %v\n", err)
		return 1
	}
	defer conn.Close()
	k := ledger.KeysOf(conn.Keys)
	r, err := ledger.VerifyWindow(ctx, conn.Client, k, from, to)
	if err != nil {
		fmt.Fprintf(stderr, "lidorub audit verify: %v\n", err)
		return 1
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Ledger string `json:"ledger"`
			OK     bool   `json:"ok"`
			ledger.Report
		}{k.Ledger, r.OK(), r})
	} else {
		writeAuditReport(stdout, k.Ledger, r)
	}
	if !r.OK() {
		return 1
	}
	return 0
}

func msTime(v int64) string { return time.UnixMilli(v).UTC().Format("2006-01-02 15:04:05Z") }

// writeAuditReport prints the report for a person.
func writeAuditReport(w io.Writer, key string, r ledger.Report) {
	if r.Entries == 0 {
		fmt.Fprintf(w, "ledger %s: no entries\n", key)
	} else {
		fmt.Fprintf(w, "ledger %s: %d entries, seq %d..%d, %s .. %s\n", key, r.Entries, r.FirstSeq, r.LastSeq, msTime(r.FirstAt), msTime(r.LastAt))
	}
	switch {
	case !r.HeadChecked:
		fmt.Fprintln(w, "head: not checked")
	case r.Head == nil:
		fmt.Fprintln(w, "head: none")
	default:
		fmt.Fprintf(w, "head: seq %d hash %s\n", r.Head.Seq, r.Head.Hash)
	}
	var parts []string
	seen := map[string]bool{}
	for _, s := range ledger.Strategies() {
		if n := r.Strategies[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
		seen[s] = true
	}
	var other []string
	for s := range r.Strategies {
		if !seen[s] {
			other = append(other, s)
		}
	}
	sort.Strings(other)
	for _, s := range other {
		parts = append(parts, fmt.Sprintf("%q %d", s, r.Strategies[s]))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "automatic decisions: %s; nobody eligible (the lead waited): %d\n", strings.Join(parts, ", "), r.Waited)
	fmt.Fprintf(w, "manual picks: %d\n", len(r.Manual))
	for _, m := range r.Manual {
		by := m.By
		if by == "" {
			by = "(nobody recorded)"
		}
		fmt.Fprintf(w, "  seq %d (id %s) %s: lead %d to %s by %s\n", m.Seq, m.ID, msTime(m.At), m.Lead, m.Chosen, by)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "problems: %d\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	if r.OK() {
		if r.Entries > 0 {
			fmt.Fprintf(w, "OK: the chain is intact from seq %d to seq %d (anchor %s) and every automatic decision follows its rule\n",
				r.FirstSeq, r.LastSeq, anchor(r.Anchor))
		} else {
			fmt.Fprintln(w, "OK: nothing to verify")
		}
		return
	}
	fmt.Fprintf(w, "FAILED: %d problem(s)\n", len(r.Problems))
}

func anchor(h string) string {
	if h == "" {
		return "none: the first entry ever"
	}
	return h
}
