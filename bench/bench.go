// Package bench is `lidorub bench`: it starts a gateway in this process (or targets a
// running one on a loopback address) and drives it with synthetic customers (web-form POSTs
// over real HTTP) and synthetic lead-managers (the agent API), then reports ingest
// throughput, the software's own share of speed-to-lead, timer accuracy, Redis memory per
// conversation and per transcript message, and a raw go-redis XADD baseline measured in the
// same run against the same Redis.
//
// Everything is bounded: lead counts, rates and durations have hard caps, only loopback
// addresses are loaded, and every Redis key the run creates lives under a fresh random prefix
// that is deleted at the end.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// Phases, in the order they run.
const (
	PhaseRaw    = "raw"    // go-redis XADD baseline
	PhaseIngest = "ingest" // closed-loop form POSTs: ingest rate, HTTP latency, pipeline rate to offer
	PhaseSpeed  = "speed"  // open loop at Rate: inbound -> offer, reply -> sender
	PhaseTimers = "timers" // re-offer lateness with a short offer timeout
	PhaseMemory = "memory" // Redis memory per open conversation and per transcript message
)

// AllPhases is the default.
var AllPhases = []string{PhaseRaw, PhaseIngest, PhaseSpeed, PhaseTimers, PhaseMemory}

// Gateway is a gateway running in this process, built and run exactly like `lidorub serve`.
type Gateway struct {
	URL    string // http://127.0.0.1:port
	Router *router.Router
	Ingest channels.Ingester
	Redis  redis.UniversalClient
	Keys   store.Keys
	Gather prometheus.Gatherer
	// Release starts the router and the channels' runners of a gateway started held (they
	// wait while webhooks are accepted and stored); a no-op otherwise.
	Release func()
	Stop    func() // stops the gateway (graceful shutdown) and closes its Redis client
}

// ManagerToken is a lead-manager of a targeted gateway.
type ManagerToken struct{ ID, Token string }

// Options configure a run. Zero values take the defaults of Defaults.
type Options struct {
	RedisURL    string         // Redis of the in-process gateway, the raw baseline and memory figures
	Target      string         // base URL of a running gateway (loopback only); "" starts one in-process
	Managers    []ManagerToken // target mode: lead-managers to drive
	NumManagers int            // in-process: synthetic lead-managers (capacity 1000 each)
	Concurrency int            // concurrent HTTP clients (and raw XADD goroutines)
	Count       int            // ingest phase: leads posted (closed loop)
	Rate        float64        // speed phase: new conversations per second
	ReplyRate   float64        // speed phase: extra conversations/s on the "bench" messaging channel, answered with a reply
	Duration    time.Duration  // speed phase length
	// LeaveForms: in the speed phase managers leave form leads offered (capacity 1000
	// each) and answer only the "bench" channel's: inbound -> offer without the load of
	// managers' accept/contacted/close calls.
	LeaveForms bool
	// Timers phase: offer timeout, leads, and how long offers are left to lapse.
	OfferTimeout time.Duration
	TimerLeads   int
	TimerWindow  time.Duration
	MemoryConvs  int      // memory phase: open conversations created
	Phases       []string // subset of AllPhases
	CPUProfile   string   // write a CPU profile of the whole run here
	Log          *slog.Logger
	Progress     func(format string, args ...any) // progress lines (stderr); nil = silent
}

// Hard caps: the bench must stay a bounded, loopback-only load.
const (
	maxCount       = 1_000_000
	maxRate        = 100_000
	maxDuration    = 10 * time.Minute
	maxConcurrency = 4096
	maxManagers    = 500
	phaseTimeout   = 2 * time.Minute // waiting for the pipeline to finish a phase
)

// Defaults fills unset options.
func (o *Options) Defaults() {
	if o.RedisURL == "" {
		o.RedisURL = os.Getenv("REDIS_URL")
	}
	if o.RedisURL == "" {
		o.RedisURL = "redis://127.0.0.1:6379"
	}
	if o.NumManagers == 0 {
		o.NumManagers = 20
	}
	if o.Concurrency == 0 {
		o.Concurrency = 64
	}
	if o.Count == 0 {
		o.Count = 20000
	}
	if o.Rate == 0 {
		o.Rate = 1000
	}
	if o.ReplyRate == 0 {
		o.ReplyRate = o.Rate / 10
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.OfferTimeout == 0 {
		o.OfferTimeout = time.Second
	}
	if o.TimerLeads == 0 {
		o.TimerLeads = 1000
	}
	if o.TimerWindow == 0 {
		o.TimerWindow = 5 * time.Second
	}
	if o.MemoryConvs == 0 {
		o.MemoryConvs = 10000
	}
	if len(o.Phases) == 0 {
		o.Phases = AllPhases
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
}

// Validate checks the bounds.
func (o *Options) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if o.Count < 1 || o.Count > maxCount {
		bad("--count must be between 1 and %d", maxCount)
	}
	if o.MemoryConvs < 1 || o.MemoryConvs > maxCount {
		bad("--memory-convs must be between 1 and %d", maxCount)
	}
	if o.TimerLeads < 1 || o.TimerLeads > maxCount {
		bad("--timer-leads must be between 1 and %d", maxCount)
	}
	if o.Rate <= 0 || o.Rate > maxRate || o.ReplyRate < 0 || o.ReplyRate > maxRate {
		bad("--rate and --reply-rate must be between 0 and %d", maxRate)
	}
	if o.Duration <= 0 || o.Duration > maxDuration || o.TimerWindow <= 0 || o.TimerWindow > maxDuration {
		bad("--duration and --timer-window must be positive and at most %s", maxDuration)
	}
	if o.OfferTimeout < 100*time.Millisecond || o.OfferTimeout > time.Minute {
		bad("--offer-timeout must be between 100ms and 1m")
	}
	if o.Concurrency < 1 || o.Concurrency > maxConcurrency {
		bad("--concurrency must be between 1 and %d", maxConcurrency)
	}
	if o.NumManagers < 1 || o.NumManagers > maxManagers {
		bad("--managers must be between 1 and %d", maxManagers)
	}
	for _, p := range o.Phases {
		if !contains(AllPhases, p) {
			bad("unknown phase %q (phases: %s)", p, strings.Join(AllPhases, ","))
		}
	}
	if o.Target != "" {
		if err := checkLoopback(o.Target); err != nil {
			bad("--target: %v", err)
		}
		if len(o.Managers) == 0 {
			bad("--target needs at least one --managers-tokens id=token")
		}
	}
	if err := checkLoopbackRedis(o.RedisURL); err != nil {
		bad("--redis: %v", err)
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkLoopback accepts only http URLs whose host is a loopback address.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http URL like http://127.0.0.1:8080")
	}
	return loopbackHost(u.Hostname())
}

func checkLoopbackRedis(raw string) error {
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return fmt.Errorf("not a redis:// URL")
	}
	host, _, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		return err
	}
	return loopbackHost(host)
}

func loopbackHost(host string) error {
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: the bench only loads this machine", host)
	}
	return nil
}

// Run runs the selected phases and returns the report. start builds in-process gateways
// (ignored in target mode).
func Run(ctx context.Context, o Options) (*Report, error) {
	o.Defaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	rep := &Report{Mode: "in-process", Concurrency: o.Concurrency, Rate: o.Rate, StartedAt: time.Now().UTC()}
	if o.Target != "" {
		rep.Mode = "target " + o.Target
	}
	b := &runner{o: o, rep: rep, http: newHTTPClient(o.Concurrency), tag: randomID()}
	defer b.http.CloseIdleConnections()

	// The raw baseline and the memory figures need Redis; in target mode it is optional.
	rdb, err := openRedis(ctx, o.RedisURL, o.Concurrency)
	if err != nil {
		if o.Target == "" {
			return nil, err
		}
		o.Progress("no Redis at --redis (%v): raw baseline and memory figures are skipped", err)
	} else {
		defer rdb.Close()
		b.rdb = rdb
	}
	rep.Machine = machineInfo(ctx, b.rdb)

	for _, p := range AllPhases {
		if !contains(o.Phases, p) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		o.Progress("phase %s ...", p)
		var err error
		switch p {
		case PhaseRaw:
			err = b.raw(ctx)
		case PhaseIngest:
			err = b.ingest(ctx)
		case PhaseSpeed:
			err = b.speed(ctx)
		case PhaseTimers:
			err = b.timers(ctx)
		case PhaseMemory:
			err = b.memory(ctx)
		}
		if err != nil {
			return rep, fmt.Errorf("phase %s: %w", p, err)
		}
	}
	rep.Machine.LoadAvgEnd = loadAvg()
	rep.Targets = targets(rep)
	return rep, nil
}

// runner carries one run's state.
type runner struct {
	o    Options
	rep  *Report
	rdb  *redis.Client
	http *httpClient
	tag  string // unique per run, in every synthetic message
}

func openRedis(ctx context.Context, u string, concurrency int) (*redis.Client, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("--redis: %v", err)
	}
	if opt.PoolSize < concurrency {
		opt.PoolSize = concurrency
	}
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w", opt.Addr, err)
	}
	return c, nil
}

func randomID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// gatewayConfig is the configuration of an in-process gateway: a fresh key prefix, the
// bench's lead-managers (capacity 1000, always on shift), the example qualify rules, and the
// web form without its per-IP limit (every synthetic customer comes from 127.0.0.1).
func (b *runner) gatewayConfig(offerTimeout time.Duration) (*config.Config, []ManagerToken) {
	id := randomID()
	cfg := &config.Config{InstanceID: "bench-" + id}
	cfg.Log.Level = "warn"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Redis.URL = b.o.RedisURL
	cfg.Redis.Prefix = "bench-" + id
	cfg.Router.OfferTimeout = offerTimeout
	var ms []ManagerToken
	for i := 0; i < b.o.NumManagers; i++ {
		m := ManagerToken{ID: fmt.Sprintf("m%03d", i+1), Token: fmt.Sprintf("bench-token-%s-%03d", id, i+1)}
		ms = append(ms, m)
		cfg.Managers = append(cfg.Managers, router.Manager{ID: m.ID, Token: m.Token, Capacity: 1000})
	}
	five := 5
	cfg.Qualify.Rules = []qualify.Rule{
		{Name: "price", Keywords: []string{"price", "цена"}, Priority: &five, Tags: []string{"price"}},
		{Name: "spam", Keywords: []string{"casino"}, Tags: []string{"spam"}, Spam: true},
	}
	cfg.Channels.Form.RatePerMinute = -1
	cfg.Defaults()
	return cfg, ms
}

// startGateway starts an in-process gateway with the bench's notifier (and a sender for the
// "bench" messaging channel). The returned stop function stops it and deletes its keys.
// startWithManagers starts an in-process gateway and brings its synthetic managers online.
// hold: the router does not run until gw.Release. stop is always safe to call once err is nil.
func (b *runner) startWithManagers(ctx context.Context, offerTimeout time.Duration, rec *recorder, hold bool) (*Gateway, func(), error) {
	gw, ms, stop, err := b.startGateway(ctx, offerTimeout, rec, hold)
	if err != nil {
		return nil, nil, err
	}
	if err := b.newManagers(gw.URL, ms, rec).setOnline(ctx, true); err != nil {
		stop()
		return nil, nil, err
	}
	return gw, stop, nil
}

func (b *runner) startGateway(ctx context.Context, offerTimeout time.Duration, rec *recorder, hold bool) (*Gateway, []ManagerToken, func(), error) {
	cfg, ms := b.gatewayConfig(offerTimeout)
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("bench gateway config: %w", err)
	}
	b.rep.Prefixes = append(b.rep.Prefixes, cfg.Redis.Prefix)
	g, err := startGateway(ctx, cfg, b.o.Log, func(r *router.Router) {
		r.AddNotifier(rec)
		r.RegisterSender(BenchChannel, rec)
	}, hold)
	if err != nil {
		return nil, nil, nil, err
	}
	stop := func() {
		g.Stop()
		if b.rdb != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if n, err := deletePrefix(dctx, b.rdb, cfg.Redis.Prefix); err != nil {
				b.o.Progress("cleanup of prefix %s failed after %d keys: %v", cfg.Redis.Prefix, n, err)
			}
		}
	}
	return g, ms, stop, nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func machineInfo(ctx context.Context, rdb *redis.Client) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAvgStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				m.Memory = strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:"))
			}
		}
	}
	if rdb != nil {
		if s, err := rdb.Info(ctx, "server").Result(); err == nil {
			m.RedisVersion = infoField(s, "redis_version")
		}
	}
	return m
}

func infoField(info, name string) string {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			return v
		}
	}
	return ""
}

// startGateway builds and runs a gateway exactly as serve does (app.Build + Run), on a
// loopback listener, with the bench's notifier and sender registered before it runs. hold:
// HTTP is served at once, the router and the channels' runners start on Gateway.Release.
func startGateway(ctx context.Context, cfg *config.Config, log *slog.Logger, setup func(*router.Router), hold bool) (*Gateway, error) {
	g, err := app.Build(ctx, cfg, log, clock.Real{})
	if err != nil {
		return nil, err
	}
	setup(g.Router)
	release := func() {}
	if hold {
		release = g.HoldRunners()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		g.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- g.Run(runCtx, ln) }()
	stopped := false
	return &Gateway{
		URL: "http://" + ln.Addr().String(), Router: g.Router, Ingest: g.Ingest,
		Redis: g.Conn.Client, Keys: g.Conn.Keys, Gather: g.Registry, Release: release,
		Stop: func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("bench gateway stopped with an error", "err", err)
			}
			g.Close()
		},
	}, nil
}
