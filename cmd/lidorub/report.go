package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

const reportUsage = `usage:
  lidorub report funnel [-c FILE] [--redis URL] [--from T] [--to T] [--by GROUP] [--format table|csv|json]
      the funnel report of the leads created in [from, to) (RFC 3339 or YYYY-MM-DD, UTC; a date
      --to includes its day; default the last 7 days), grouped by lead_manager, sales_manager,
      channel (default) or source
flags:
`

// runReport runs `lidorub report funnel ...` against the configured Redis.
func runReport(cfgPath string, args []string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("lidorub report funnel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, reportUsage)
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "funnel" {
		fs.Usage()
		return 2
	}
	fs.StringVar(&cfgPath, "c", cfgPath, "configuration file (default $LIDORUB_CONFIG, else ./config.yaml, else the embedded example)")
	redisURL := fs.String("redis", "", "Redis URL (default redis.url of the configuration, or $REDIS_URL)")
	from := fs.String("from", "", "start of the period, RFC 3339 or YYYY-MM-DD (default: 7 days before --to)")
	to := fs.String("to", "", "end of the period, RFC 3339 or YYYY-MM-DD (default: now)")
	by := fs.String("by", router.ByChannel, "lead_manager | sales_manager | channel | source")
	format := fs.String("format", "table", "table | csv | json")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	q := router.FunnelQuery{To: now(), By: *by}
	if *to != "" {
		t, ok := parseReportDate(*to, true)
		if !ok {
			fmt.Fprintln(stderr, "--to must be RFC 3339 or YYYY-MM-DD")
			return 2
		}
		q.To = t
	}
	q.From = q.To.Add(-7 * 24 * time.Hour)
	if *from != "" {
		t, ok := parseReportDate(*from, false)
		if !ok {
			fmt.Fprintln(stderr, "--from must be RFC 3339 or YYYY-MM-DD")
			return 2
		}
		q.From = t
	}
	if *format != "table" && *format != "csv" && *format != "json" {
		fmt.Fprintln(stderr, "--format must be table, csv or json")
		return 2
	}
	cfg, src, err := loadConfig(cfgPath)
	if err != nil {
		printConfigErrors(stderr, src, err)
		return 1
	}
	if *redisURL != "" {
		cfg.Redis.URL = *redisURL
		if err := cfg.Redis.Validate(); err != nil {
			var errs conf.Errors
			errs.Merge("redis (from --redis)", err)
			printConfigErrors(stderr, src, errs.Err())
			return 1
		}
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	conn, err := store.Open(ctx, app.RedisConfig(cfg), log)
	if err != nil {
		fmt.Fprintf(stderr, "lidorub: redis: %v\n", err)
		return 1
	}
	defer conn.Close()
	ids := make([]string, 0, len(cfg.Managers))
	for _, m := range cfg.Managers {
		ids = append(ids, m.ID)
	}
	r, err := router.New(cfg.Router, cfg.Managers, router.Templates{}, router.Deps{Redis: conn.Client, Keys: conn.Keys,
		Clock: clock.Real{}, Log: log, Metrics: metrics.New(prometheus.NewRegistry(), ids), Instance: cfg.InstanceID})
	if err != nil {
		fmt.Fprintf(stderr, "lidorub: %v\n", err)
		return 1
	}
	f, err := r.Funnel(ctx, q)
	if err != nil {
		fmt.Fprintf(stderr, "lidorub: %v\n", err)
		return 1
	}
	switch *format {
	case "csv":
		err = f.WriteCSV(stdout)
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(f)
	default:
		err = f.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lidorub: %v\n", err)
		return 1
	}
	return 0
}

// parseReportDate reads RFC 3339 or YYYY-MM-DD (UTC; as an end, the day is included).
func parseReportDate(s string, end bool) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	return time.Time{}, false
}
