package main

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/lidorub/lidorub/channels/instagram"
	"github.com/lidorub/lidorub/channels/webform"
	"github.com/lidorub/lidorub/channels/whatsapp"
	"github.com/lidorub/lidorub/channels/whatsappcloud"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// runner is a background component (a router, a polling channel) that stops when ctx ends.
type runner interface {
	Run(ctx context.Context) error
}

// runThenClose runs a component and closes it (its files, databases) once it has stopped.
type runThenClose struct {
	c interface {
		runner
		Close() error
	}
}

func (r runThenClose) Run(ctx context.Context) error {
	err := r.c.Run(ctx)
	return errors.Join(err, r.c.Close())
}

// gateway is everything serve wires together; tests build it with build and drive it.
type gateway struct {
	cfg     *config.Config
	log     *slog.Logger
	conn    *store.Conn
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	router  *router.Router
	ingest  *store.Ingest
	mux     *http.ServeMux
	runners []runner
}

// build wires the gateway. Nothing runs yet.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, clk clock.Clock) (*gateway, error) {
	conn, err := store.Open(ctx, redisConfig(cfg), log)
	if err != nil {
		return nil, err
	}
	g := &gateway{cfg: cfg, log: log, conn: conn, reg: prometheus.NewRegistry(), mux: http.NewServeMux()}
	g.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ids := make([]string, 0, len(cfg.Managers))
	for _, m := range cfg.Managers {
		ids = append(ids, m.ID)
	}
	g.metrics = metrics.New(g.reg, ids)
	q, err := qualify.NewRules(cfg.Qualify)
	if err != nil {
		conn.Close()
		return nil, err
	}
	g.router, err = router.New(cfg.Router, cfg.Managers, cfg.Templates, router.Deps{
		Redis: conn.Client, Keys: conn.Keys, Clock: clk, Log: log, Metrics: g.metrics, Qualifier: q, Instance: cfg.InstanceID,
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	g.reg.MustRegister(g.router.Collector())
	g.ingest = store.NewIngest(conn.Client, conn.Keys, clk, g.metrics)
	g.runners = append(g.runners, g.router)

	// Channels. Each one registers its webhooks, its sender and its background loops.
	form, err := webform.New(cfg.Channels.Form, g.ingest, clk, log)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("channels.form: %w", err)
	}
	if err := form.Instrument(g.reg); err != nil {
		conn.Close()
		return nil, fmt.Errorf("channels.form: %w", err)
	}
	form.Register(g.mux)
	if c := cfg.Channels.Instagram; c.Enabled {
		ig, err := instagram.New(c, g.ingest, conn.Client, conn.Keys, clk, log, g.reg, g.router)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("channels.instagram: %w", err)
		}
		ig.Register(g.mux)
		g.router.RegisterSender(channels.Instagram, ig)
	}
	if c := cfg.Channels.WhatsAppCloud; c.Enabled {
		wa, err := whatsappcloud.New(c, g.ingest, conn.Client, conn.Keys, clk, log, g.reg, g.router)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("channels.whatsappcloud: %w", err)
		}
		wa.Register(g.mux)
		g.router.RegisterSender(channels.WhatsAppCloud, wa)
	}
	if err := g.buildTelegram(clk, log); err != nil {
		conn.Close()
		return nil, err
	}

	if cfg.Channels.WhatsApp.Enabled {
		wa, err := whatsapp.New(ctx, cfg.Channels.WhatsApp, whatsapp.Deps{
			Ingester: g.ingest, Redis: conn.Client, Keys: conn.Keys, Clock: clk, Log: log,
			Metrics: g.reg, Alerter: g.router, Instance: cfg.InstanceID,
		})
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("channels.whatsapp: %w", err)
		}
		g.router.RegisterSender(channels.WhatsApp, wa)
		g.runners = append(g.runners, runThenClose{wa})
	}

	api.New(g.router, log.With("component", "api")).Register(g.mux)
	g.mux.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{Registry: g.reg}))
	g.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	g.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := conn.Client.Ping(ctx).Err(); err != nil {
			api.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "redis unreachable"})
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return g, nil
}

// redisConfig is the redis: section with the connection pool sized for this process: every
// router worker runs four stream consumers that each hold a connection for up to a second in
// a blocking read (on Redis Cluster three of those streams share a node); with many workers
// the store's default pool would make every other command wait for one of them.
func redisConfig(cfg *config.Config) store.Config {
	rc := cfg.Redis
	if need := 10*runtime.GOMAXPROCS(0) + 4*cfg.Router.Workers; rc.PoolSize == 0 && need > store.DefaultPoolSize {
		rc.PoolSize = need
	}
	return rc
}

// serve runs the gateway until ctx is cancelled, then shuts down: it stops taking requests,
// lets in-flight work finish within http.shutdown_timeout, and leaves unacknowledged stream
// entries for the next instance.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	g, err := build(ctx, cfg, log, clock.Real{})
	if err != nil {
		return err
	}
	defer g.conn.Close()
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	return g.run(ctx, ln)
}

// handler is the server's root handler: every request body, whatever the route, is cut at
// http.max_body_bytes (a route may set a lower limit of its own, e.g. the web form). A path no
// route knows answers 404, a known path with the wrong method 405 with Allow, both in JSON.
func (g *gateway) handler() http.Handler {
	return http.MaxBytesHandler(api.JSONErrors(g.mux), g.cfg.HTTP.MaxBodyBytes)
}

func (g *gateway) run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g.handler(),
		ReadTimeout:       g.cfg.HTTP.ReadTimeout,
		ReadHeaderTimeout: g.cfg.HTTP.ReadHeaderTimeout,
		WriteTimeout:      g.cfg.HTTP.WriteTimeout,
		IdleTimeout:       g.cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	for _, r := range g.runners {
		r := r
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(workCtx); err != nil {
				g.log.Error("component stopped with an error", "err", err)
			}
		}()
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	g.log.Info("listening", "addr", ln.Addr().String())
	if addr := g.conn.EmbeddedAddr(); addr != "" {
		g.log.Info("embedded redis", "addr", addr)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-srvErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	g.log.Info("shutting down: no new requests; finishing in-flight work", "timeout", g.cfg.HTTP.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), g.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		g.log.Warn("http shutdown incomplete", "err", serr)
	}
	stopWork()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		g.log.Info("stopped cleanly")
	case <-sctx.Done():
		g.log.Warn("workers did not stop within the shutdown timeout; unacknowledged entries stay pending for the next instance")
	}
	return err
}
