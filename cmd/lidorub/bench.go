package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lidorub/lidorub/bench"
)

// runBench is `lidorub bench [flags]`.
func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lidorub bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bench.Options
	var phases, managers string
	var jsonOut, quiet bool
	fs.StringVar(&o.RedisURL, "redis", "", "Redis of the in-process gateway, the raw XADD baseline and the memory figures (default $REDIS_URL, else redis://127.0.0.1:6379); loopback only")
	fs.StringVar(&o.Target, "target", "", "base URL of a running gateway on a loopback address (default: start one in this process)")
	fs.StringVar(&managers, "managers-tokens", "", "with --target: lead-managers to drive, id=token,id=token")
	fs.IntVar(&o.NumManagers, "managers", 20, "in-process: synthetic lead-managers (capacity 1000 each)")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "concurrent HTTP clients (and raw XADD goroutines)")
	fs.IntVar(&o.Count, "count", 20000, "ingest phase: leads posted as fast as --concurrency clients go (also the raw XADD count)")
	fs.Float64Var(&o.Rate, "rate", 1000, "speed phase: new conversations per second (web form)")
	fs.Float64Var(&o.ReplyRate, "reply-rate", 0, "speed phase: extra conversations per second on the in-process \"bench\" messaging channel, answered with a reply (default rate/10)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "speed phase length")
	fs.BoolVar(&o.LeaveForms, "leave-forms", false, "speed phase: managers leave form leads offered and answer only the bench channel's (inbound -> offer without the managers' API load)")
	fs.DurationVar(&o.OfferTimeout, "offer-timeout", time.Second, "timers phase: router.offer_timeout")
	fs.IntVar(&o.TimerLeads, "timer-leads", 1000, "timers phase: leads left to lapse")
	fs.DurationVar(&o.TimerWindow, "timer-window", 5*time.Second, "timers phase: how long offers keep lapsing")
	fs.IntVar(&o.MemoryConvs, "memory-convs", 10000, "memory phase: open conversations created")
	fs.StringVar(&phases, "phases", strings.Join(bench.AllPhases, ","), "phases to run")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run (gateway and load) to this file")
	fs.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&quiet, "q", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lidorub bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	o.Phases = strings.Split(phases, ",")
	for _, kv := range strings.Split(managers, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		id, tok, ok := strings.Cut(kv, "=")
		if !ok {
			fmt.Fprintf(stderr, "lidorub bench: --managers-tokens wants id=token pairs\n")
			return 2
		}
		o.Managers = append(o.Managers, bench.ManagerToken{ID: id, Token: tok})
	}
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})) // the timers phase escalates by design
	if !quiet {
		o.Progress = func(f string, a ...any) { fmt.Fprintf(stderr, "bench: "+f+"\n", a...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "lidorub bench: %v\n", err)
		if rep == nil {
			return 1
		}
	}
	if jsonOut {
		_ = rep.WriteJSON(stdout)
	} else {
		_ = rep.WriteTable(stdout)
	}
	if err != nil {
		return 1
	}
	return 0
}
