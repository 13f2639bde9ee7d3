// Package console is the gateway's built-in supervisor console: server-rendered HTML pages
// (html/template, embedded CSS and one small script, no front-end build, no CDN) served at
// /console/. A supervisor signs in with their API token; the session lives in Redis.
//
//	GET  /console/                 Now: the waiting queue, live offers, the team (refreshes live)
//	GET  /console/now.json         the Now page's live part ({"html", "at"}), polled by live.js
//	GET  /console/leads/{id}       Lead: the card, the transcript, the timeline, a contact correction form
//	POST /console/leads/{id}/contact   correct the contact's name, phone, e-mail
//	POST /console/actions/{action} offline | reassign | front | close (router.Ops)
//	GET  /console/speed, /console/funnel, /console/audit   reports (see speed.go, funnel.go, audit.go)
//	GET  /console/funnel.csv        the funnel report as CSV (the API's)
//	GET  /console/login, POST /console/login, POST /console/logout
//	GET  /console/static/{file}    style.css, live.js
//
// Every response carries the security headers (see secure); every POST carries the
// session's CSRF token (the sign-in form a pre-session one) or is refused with 403.
package console

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/ratelimit"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Deps are the console's collaborators.
type Deps struct {
	Desk     router.Desk
	Ops      router.Ops
	Managers []router.Manager // the configured team: names, roles, languages
	// Reports is the funnel report (Speed, Funnel pages); nil: the pages say it is not available.
	Reports Reports
	Redis   redis.UniversalClient
	Keys    store.Keys
	Clock   clock.Clock
	Log     *slog.Logger
	Locale  *locale.Catalogue
	// Secure marks the session cookie Secure (Config.Secure).
	Secure bool
	// TrustForwarded takes the client address for the sign-in limit from X-Forwarded-For
	// (behind a reverse proxy).
	TrustForwarded bool
}

// Console serves the pages.
type Console struct {
	cfg      Config
	d        Deps
	byID     map[string]router.Manager
	pages    map[string]*template.Template
	mux      *http.ServeMux
	limiter  *ratelimit.Limiter
	liveTick time.Duration
}

// pair passes the page and one value to a shared sub-template ({{template "leadActions" (pair $ .)}}).
type pair struct {
	P *page
	V any
}

var funcs = template.FuncMap{"pair": func(p *page, v any) pair { return pair{P: p, V: v} }}

// New builds the console (cfg with Defaults applied).
func New(cfg Config, d Deps) (*Console, error) {
	c := &Console{cfg: cfg, d: d, byID: map[string]router.Manager{}, pages: map[string]*template.Template{},
		mux: http.NewServeMux(), limiter: ratelimit.New(cfg.SignInPerMinute, cfg.SignInBurst, 10000), liveTick: 5 * time.Second}
	for _, m := range d.Managers {
		c.byID[m.ID] = m
	}
	for _, name := range []string{"login", "now", "lead", "speed", "funnel", "audit", "message"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		c.pages[name] = t
	}
	c.routes()
	return c, nil
}

// Handler is the console's root handler: mount it at Prefix.
func (c *Console) Handler() http.Handler { return secure(c.mux) }

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /console/login", c.loginPage)
	c.mux.HandleFunc("POST /console/login", c.login)
	c.mux.Handle("POST /console/logout", c.post(c.logout))
	c.mux.Handle("GET /console/{$}", c.get(c.now))
	c.mux.Handle("GET /console/now.json", c.get(c.nowJSON))
	c.mux.Handle("GET /console/leads/{id}", c.get(c.lead))
	c.mux.Handle("POST /console/leads/{id}/contact", c.post(c.correct))
	c.mux.Handle("POST /console/actions/{action}", c.post(c.action))
	c.mux.Handle("GET /console/speed", c.get(c.speed))
	c.mux.Handle("GET /console/funnel", c.get(c.funnel))
	c.mux.Handle("GET /console/funnel.csv", c.get(c.funnelCSV))
	c.mux.Handle("GET /console/audit", c.get(c.audit))
	c.mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.message(w, r, nil, http.StatusNotFound, "console.error.page_not_found")
	})
}

// secure sets the security headers of every console response: no script, style, frame or
// connection from anywhere but the gateway, no framing, no MIME sniffing, no referrer to
// other sites, nothing cached (pages hold personal data).
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// render writes a page (status code, then the rendered layout); a template error is a 500.
func (c *Console) render(w http.ResponseWriter, name string, code int, p *page) {
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.d.Log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// message renders a page with one text (an error, "not found").
func (c *Console) message(w http.ResponseWriter, r *http.Request, s *session, code int, key string, args ...any) {
	p := c.newPage(r, s, "")
	p.Error = p.T(key, args...)
	c.render(w, "message", code, p)
}
