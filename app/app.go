// Package app builds the whole gateway from a configuration: the Redis connection, the
// metrics, the router, every enabled channel (from one table), the staff bot and the HTTP
// routes. `lidorub serve`, `lidorub bench` and the in-process end-to-end tests all use it.
//
//	adapters (channels/*) ──▶ channels (the contract) ◀── router ◀── api, desk/staffbot
//	          ▲                                              ▲
//	          └──────────────────── app ─────────────────────┘
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lidorub/lidorub/api"
	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/console"
	"github.com/lidorub/lidorub/crm"
	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
	"github.com/lidorub/lidorub/webhooks"
)

// Gateway is everything Build wires together. Nothing runs until Run.
type Gateway struct {
	Config   *config.Config
	Log      *slog.Logger
	Conn     *store.Conn
	Registry *prometheus.Registry
	Metrics  *metrics.Metrics
	Router   *router.Router
	Locale   *locale.Catalogue
	Ingest   *store.Ingest
	Mux      *http.ServeMux
	Clock    clock.Clock
	// Channels are the enabled channels by name (a test reaches an adapter through them).
	Channels map[string]channels.Channel
	// Webhooks sends the leads' events to the webhooks.endpoints; nil when none is configured.
	Webhooks *webhooks.Service
	// CRM are the enabled CRM connectors' services (crm: section).
	CRM []*crm.Service

	runners []channels.Runner
	// hold, when set by HoldRunners, keeps the runners waiting until it is closed.
	hold chan struct{}
}

// HoldRunners makes Run serve HTTP at once but start the router and the channels'
// long-running work only when release is called (or never, if it is not): webhooks are
// accepted and stored in the inbound stream, and nothing consumes them yet. The bench uses
// it to measure the HTTP ingest path without the router's concurrent work; released, the
// router takes the stored backlog from the start of its streams. Call it before Run;
// release may be called any number of times, from any goroutine.
func (g *Gateway) HoldRunners() (release func()) {
	g.hold = make(chan struct{})
	return sync.OnceFunc(func() { close(g.hold) })
}

// runThenClose runs a component and closes it (its files, databases) once it has stopped.
type runThenClose struct {
	c interface {
		channels.Runner
		io.Closer
	}
}

func (r runThenClose) Run(ctx context.Context) error {
	err := r.c.Run(ctx)
	return errors.Join(err, r.c.Close())
}

// Build wires the gateway: the channels register their routes on Mux and their senders on
// Router; nothing runs yet. A caller that adds its own notifiers or senders (the bench)
// does so before Run. Close releases the Redis connection.
func Build(ctx context.Context, cfg *config.Config, log *slog.Logger, clk clock.Clock) (*Gateway, error) {
	conn, err := store.Open(ctx, RedisConfig(cfg), log)
	if err != nil {
		return nil, err
	}
	g, err := build(cfg, log, clk, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return g, nil
}

func build(cfg *config.Config, log *slog.Logger, clk clock.Clock, conn *store.Conn) (*Gateway, error) {
	g := &Gateway{Config: cfg, Log: log, Conn: conn, Registry: prometheus.NewRegistry(), Mux: http.NewServeMux(), Clock: clk,
		Channels: map[string]channels.Channel{}}
	g.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ids := make([]string, 0, len(cfg.Managers))
	for _, m := range cfg.Managers {
		ids = append(ids, m.ID)
	}
	g.Metrics = metrics.New(g.Registry, ids, ChannelNames()...)
	q, err := qualify.NewRules(cfg.Qualify)
	if err != nil {
		return nil, err
	}
	if g.Locale, err = cfg.Locale.Catalogue(); err != nil {
		return nil, fmt.Errorf("locale: %w", err)
	}
	accountLocales := cfg.Channels.Locales()
	// The funnel metrics' label values: managers by role, the channel table, and the sales
	// tier's configured rejection and loss reasons and currencies (sales and CRM).
	fl := funnelLabels(cfg)
	g.Router, err = router.New(cfg.Router, cfg.Managers, router.Templates{}, router.Deps{
		Funnel: router.NewFunnelMetrics(g.Registry, fl),
		Redis:  conn.Client, Keys: conn.Keys, Clock: clk, Log: log, Metrics: g.Metrics, Qualifier: q, Instance: cfg.InstanceID,
		Sales: &cfg.Sales, Locale: g.Locale, CustomerLocale: func(channel, account string) string { return accountLocales[channel+"/"+account] },
	})
	if err != nil {
		return nil, err
	}
	g.Registry.MustRegister(g.Router.Collector(), g.Router.AgeCollector())
	for _, key := range g.Router.StreamKeys() {
		g.Metrics.InitStreams(key)
	}
	g.Ingest = store.NewIngest(conn.Client, conn.Keys, clk, g.Metrics)
	g.runners = append(g.runners, g.Router)

	deps := channels.Deps{Ingester: g.Ingest, Redis: conn.Client, Keys: conn.Keys, Clock: clk, Log: log,
		Registerer: g.Registry, Alerter: g.Router, Instance: cfg.InstanceID}
	if err := g.buildChannels(deps); err != nil {
		return nil, err
	}
	if err := g.buildStaffBot(clk, log); err != nil {
		return nil, err
	}
	if len(cfg.Webhooks.Endpoints) > 0 {
		g.Webhooks, err = webhooks.New(cfg.Webhooks, webhooks.Deps{Redis: conn.Client, Keys: conn.Keys, Leads: g.Router,
			Clock: clk, Log: log, Registerer: g.Registry, Alerter: g.Router, Observer: g.Metrics, Instance: cfg.InstanceID})
		if err != nil {
			g.closeChannels()
			return nil, err
		}
		g.runners = append(g.runners, g.Webhooks)
	}
	if err := g.buildConsole(); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	g.buildCRM()
	g.routes()
	return g, nil
}

// buildConsole serves the supervisor console at /console/ (console.enabled).
func (g *Gateway) buildConsole() error {
	cfg := g.Config.Console
	if !cfg.IsEnabled() {
		return nil
	}
	c, err := console.New(cfg, console.Deps{Desk: g.Router, Ops: g.Router, Reports: g.Router, Managers: g.Config.Managers,
		Redis: g.Conn.Client, Keys: g.Conn.Keys, Clock: g.Clock, Log: g.Log.With("component", "console"), Locale: g.Locale,
		Secure: cfg.Secure(config.Loopback(g.Config.HTTP.Listen))})
	if err != nil {
		return err
	}
	g.Mux.Handle(console.Prefix, c.Handler())
	return nil
}

// buildChannels makes every enabled channel of the table: its routes on the mux, its sender
// and its erasure hook on the router, its long-running work among the runners.
func (g *Gateway) buildChannels(d channels.Deps) error {
	for _, e := range table {
		ch, err := e.build(&g.Config.Channels, d)
		if err != nil {
			g.closeChannels()
			return fmt.Errorf("channels.%s: %w", e.name, err)
		}
		if ch == nil {
			continue
		}
		g.Channels[e.name] = ch
		ch.Register(g.Mux)
		if s, ok := ch.(channels.Sender); ok {
			if o, ok := s.(channels.OptionalSender); !ok || o.Sends() {
				g.Router.RegisterSender(e.name, s)
			}
		}
		if f, ok := ch.(channels.Forgetter); ok {
			g.Router.RegisterForgetter(e.name, f)
		}
		if r, ok := ch.(channels.Runner); ok {
			if c, ok := ch.(interface {
				channels.Runner
				io.Closer
			}); ok {
				r = runThenClose{c}
			}
			g.runners = append(g.runners, r)
		}
	}
	return nil
}

// closeChannels closes the channels built so far that hold files (a failed Build).
func (g *Gateway) closeChannels() {
	for _, ch := range g.Channels {
		if c, ok := ch.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

func (g *Gateway) routes() {
	agent := api.New(g.Router, g.Log.With("component", "api")).WithReports(g.Router, g.Clock.Now)
	agent.Register(g.Mux)
	agent.RegisterAudit(g.Mux, ledger.NewReader(g.Conn.Client, ledger.KeysOf(g.Conn.Keys)))
	if g.Webhooks != nil {
		g.Webhooks.Register(g.Mux, g.Router)
	}
	g.Mux.Handle("GET /metrics", promhttp.HandlerFor(g.Registry, promhttp.HandlerOpts{Registry: g.Registry}))
	g.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	g.Mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := g.Conn.Client.Ping(ctx).Err(); err != nil {
			api.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "redis unreachable"})
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// RedisConfig is the redis: section with the connection pool sized for this process: every
// router worker runs four stream consumers that each hold a connection for up to a second in
// a blocking read (on Redis Cluster three of those streams share a node); with many workers
// the store's default pool would make every other command wait for one of them.
func RedisConfig(cfg *config.Config) store.Config {
	rc := cfg.Redis
	if need := 10*runtime.GOMAXPROCS(0) + 4*cfg.Router.Workers; rc.PoolSize == 0 && need > store.DefaultPoolSize {
		rc.PoolSize = need
	}
	return rc
}

// Close closes the Redis connection. Call it after Run has returned.
func (g *Gateway) Close() error { return g.Conn.Close() }

// Serve runs the gateway until ctx is cancelled, then shuts down: it stops taking requests,
// lets in-flight work finish within http.shutdown_timeout, and leaves unacknowledged stream
// entries for the next instance.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	g, err := Build(ctx, cfg, log, clock.Real{})
	if err != nil {
		return err
	}
	defer g.Close()
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	return g.Run(ctx, ln)
}

// Handler is the server's root handler: every request body, whatever the route, is cut at
// http.max_body_bytes (a route may set a lower limit of its own, e.g. the web form). A path no
// route knows answers 404, a known path with the wrong method 405 with Allow, both in JSON.
func (g *Gateway) Handler() http.Handler {
	return http.MaxBytesHandler(api.JSONErrors(g.Mux), g.Config.HTTP.MaxBodyBytes)
}

// Run serves HTTP on ln and runs the router and the channels' long-running work until ctx
// is cancelled, then shuts down gracefully.
func (g *Gateway) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g.Handler(),
		ReadTimeout:       g.Config.HTTP.ReadTimeout,
		ReadHeaderTimeout: g.Config.HTTP.ReadHeaderTimeout,
		WriteTimeout:      g.Config.HTTP.WriteTimeout,
		IdleTimeout:       g.Config.HTTP.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(g.Log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	for _, r := range g.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g.hold != nil {
				select {
				case <-g.hold:
				case <-workCtx.Done():
					return
				}
			}
			if err := r.Run(workCtx); err != nil {
				g.Log.Error("component stopped with an error", "err", err)
			}
		}()
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	g.Log.Info("listening", "addr", ln.Addr().String())
	g.Log.Info("active", g.Summary(g.Clock.Now())...)
	if addr := g.Conn.EmbeddedAddr(); addr != "" {
		g.Log.Info("embedded redis", "addr", addr)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-srvErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	g.Log.Info("shutting down: no new requests; finishing in-flight work", "timeout", g.Config.HTTP.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), g.Config.HTTP.ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		g.Log.Warn("http shutdown incomplete", "err", serr)
	}
	stopWork()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		g.Log.Info("stopped cleanly")
	case <-sctx.Done():
		g.Log.Warn("workers did not stop within the shutdown timeout; unacknowledged entries stay pending for the next instance")
	}
	return err
}
