package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/simulate"
)

// runSimulate is `lidorub simulate [flags]`: days of leads through the real router on a
// simulated clock. cfgPath is the global -c (the command's own -c wins).
func runSimulate(cfgPath string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lidorub simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := fs.String("c", cfgPath, "configuration file whose router: and sales: sections are simulated, and whose sales managers are the scenario's sales roster when it has none (default: the defaults)")
	scenario := fs.String("scenario", "", "scenario file (required; see examples/simulate/scenario.yaml)")
	runs := fs.Int("runs", 1, "independent runs (different arrivals) pooled into the report")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same report")
	out := fs.String("out", "", "also write a self-contained HTML report to this file")
	jsonOut := fs.Bool("json", false, "print the report as JSON instead of tables")
	redisURL := fs.String("redis", "", "redis:// URL of a Redis 7 to run on (each run under its own key prefix, deleted afterwards); default: an embedded in-memory server per run")
	compare := fs.String("compare", "", "also run alternatives on the same arrivals: default | scenario | assign-once | key=value[+key=value] (strategy, offer_timeout, first_response, max_offers, sales.strategy, sales.accept_timeout, sales.first_contact, sales.max_offers), comma-separated; a bare value repeats the previous key: sales.strategy=round_robin,weighted")
	staffFor := fs.String("staff-for", "", "search hour by hour for the smallest roster meeting a target, like 'p95<60s'")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: lidorub simulate [-c config.yaml] --scenario scenario.yaml [--runs N] [--seed S] [--out report.html] [--json] [--compare ...] [--staff-for 'p95<60s']\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *scenario == "" || *runs < 1 || (*compare != "" && *staffFor != "") {
		if *compare != "" && *staffFor != "" {
			fmt.Fprintln(stderr, "lidorub simulate: --compare and --staff-for cannot be combined")
		}
		fs.Usage()
		return 2
	}
	sc, err := simulate.LoadScenario(*scenario)
	if err != nil {
		printConfigErrors(stderr, *scenario, err)
		return 1
	}
	var rc router.Config
	var sales router.SalesConfig
	var managers []router.Manager
	if *c != "" {
		cfg, err := config.Load(*c)
		if err != nil {
			printConfigErrors(stderr, *c, err)
			return 1
		}
		rc, sales, managers = cfg.Router, cfg.Sales, cfg.Managers
	}
	be, err := simulate.NewBackend(*redisURL)
	if err != nil {
		fmt.Fprintf(stderr, "lidorub simulate: %v\n", err)
		return 2
	}
	defer be.Close()
	o := simulate.Options{Scenario: sc, Router: rc, Sales: sales, Managers: managers, Runs: *runs, Seed: *seed, Backend: be}
	if !*quiet {
		o.Progress = func(f string, a ...any) { fmt.Fprintf(stderr, "simulate: "+f+"\n", a...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var result any
	var reports []*simulate.Report
	var plan *simulate.StaffPlan
	var text func(io.Writer)
	switch {
	case *compare != "":
		alts, err := simulate.ParseAlternatives(*compare, sc)
		if err != nil {
			fmt.Fprintf(stderr, "lidorub simulate: %v\n", err)
			return 2
		}
		cmp, err := simulate.Compare(ctx, o, alts)
		if err != nil {
			fmt.Fprintf(stderr, "lidorub simulate: %v\n", err)
			return 1
		}
		result, reports, text = cmp, cmp.Variants, cmp.WriteText
	case *staffFor != "":
		t, err := simulate.ParseTarget(*staffFor)
		if err != nil {
			fmt.Fprintf(stderr, "lidorub simulate: %v\n", err)
			return 2
		}
		plan, err = simulate.StaffFor(ctx, o, t)
		if err != nil {
			fmt.Fprintf(stderr, "lidorub simulate: %v\n", err)
			return 1
		}
		result, reports, text = plan, []*simulate.Report{plan.Report}, plan.WriteText
	default:
		rep, err := simulate.Simulate(ctx, o)
		if err != nil {
			fmt.Fprintf(stderr, "lidorub simulate: %v\n", err)
			return 1
		}
		result, reports, text = rep, []*simulate.Report{rep}, rep.WriteText
	}
	if *out != "" {
		f, err := os.Create(*out)
		if err == nil {
			err = simulate.WriteHTML(f, reports, plan)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "lidorub simulate: write %s: %v\n", *out, err)
			return 1
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(result); err != nil {
			return 1
		}
	} else {
		text(stdout)
	}
	if *out != "" && !*quiet {
		fmt.Fprintf(stderr, "simulate: HTML report written to %s\n", *out)
	}
	return 0
}
