package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/ratelimit"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
)

// Cookie names. The session cookie holds a random 32-byte id; Redis holds the session under
// a hash of it ({P}:console:session:<sha256 hex>), so the key names do not reveal live ids.
const (
	sessionCookie = "lidorub_console"
	loginCookie   = "lidorub_console_login" // the sign-in form's CSRF token (double submit)
)

// session is a signed-in supervisor.
type session struct {
	id      string // the cookie value
	Manager string
	CSRF    string
	Lang    string // chosen with ?lang= ("" = the manager's locale)
	Expires time.Time
}

func (c *Console) sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return c.d.Keys.Core("console", "session", hex.EncodeToString(sum[:]))
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newSession stores a session for managerID, expiring after the TTL (in Redis, and by its
// recorded expiry against the clock).
func (c *Console) newSession(ctx context.Context, managerID, lang string) (*session, error) {
	s := &session{id: randomToken(), Manager: managerID, CSRF: randomToken(), Lang: lang,
		Expires: c.d.Clock.Now().Add(c.cfg.SessionTTL)}
	k := c.sessionKey(s.id)
	pipe := c.d.Redis.TxPipeline()
	pipe.HSet(ctx, k, "m", s.Manager, "csrf", s.CSRF, "lang", s.Lang, "exp", strconv.FormatInt(s.Expires.UnixMilli(), 10))
	pipe.PExpire(ctx, k, c.cfg.SessionTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// errNoSession: no cookie, an unknown or expired session, or a manager no longer a supervisor.
var errNoSession = errors.New("no session")

// session reads the request's session.
func (c *Console) session(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return nil, errNoSession
	}
	k := c.sessionKey(ck.Value)
	h, err := c.d.Redis.HGetAll(r.Context(), k).Result()
	if err != nil {
		return nil, err
	}
	if len(h) == 0 {
		return nil, errNoSession
	}
	ms, _ := strconv.ParseInt(h["exp"], 10, 64)
	s := &session{id: ck.Value, Manager: h["m"], CSRF: h["csrf"], Lang: h["lang"], Expires: time.UnixMilli(ms)}
	if !c.d.Clock.Now().Before(s.Expires) {
		c.d.Redis.Del(r.Context(), k)
		return nil, errNoSession
	}
	if c.d.Desk.Role(s.Manager) != router.RoleSupervisor {
		return nil, errNoSession
	}
	return s, nil
}

func (c *Console) setLang(ctx context.Context, s *session, lang string) {
	s.Lang = lang
	c.d.Redis.HSet(ctx, c.sessionKey(s.id), "lang", lang)
}

func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: c.d.Secure, SameSite: http.SameSiteStrictMode}
}

// authed is a handler of a signed-in supervisor.
type authed func(w http.ResponseWriter, r *http.Request, s *session)

// get serves a page to a signed-in supervisor; others go to the sign-in form (a JSON
// endpoint answers 401).
func (c *Console) get(h authed) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			c.signedOut(w, r, err)
			return
		}
		if l := r.URL.Query().Get("lang"); l != "" && locale.IsSupported(l) && l != s.Lang {
			c.setLang(r.Context(), s, l)
		}
		h(w, r, s)
	})
}

// post serves a form of a signed-in supervisor: without the session's CSRF token, 403.
func (c *Console) post(h authed) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			c.signedOut(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if !equal(r.PostFormValue("csrf"), s.CSRF) {
			c.message(w, r, s, http.StatusForbidden, "console.error.csrf")
			return
		}
		h(w, r, s)
	})
}

func (c *Console) signedOut(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errNoSession) && !errors.Is(err, redis.Nil) {
		c.d.Log.Error("console: session", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if r.URL.Path == Prefix+"now.json" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"signed out"}` + "\n"))
		return
	}
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

func equal(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// loginPage shows the sign-in form with a fresh pre-session CSRF token.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if s, err := c.session(r); err == nil && s != nil {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, http.StatusOK, "")
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, code int, errKey string, args ...any) {
	tok := randomToken()
	http.SetCookie(w, c.cookie(loginCookie, tok, 3600))
	p := c.newPage(r, nil, "")
	p.CSRF = tok
	if errKey != "" {
		p.Error = p.T(errKey, args...)
	}
	c.render(w, "login", code, p)
}

// login checks the token: a supervisor's starts a session; a lead-manager's or a sales
// manager's is refused. Attempts are limited per client address.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(loginCookie)
	if err != nil || !equal(r.PostFormValue("csrf"), ck.Value) {
		c.message(w, r, nil, http.StatusForbidden, "console.error.csrf")
		return
	}
	ip := ratelimit.ClientIP(r, c.d.TrustForwarded)
	if ok, wait := c.limiter.Allow(ratelimit.Key(ip), c.d.Clock.Now()); !ok {
		secs := ratelimit.RetryAfterSeconds(wait)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		c.renderLogin(w, r, http.StatusTooManyRequests, "console.login.rate_limited",
			"wait", c.d.Locale.Duration(c.lang(r, nil), time.Duration(secs)*time.Second))
		return
	}
	me := c.d.Desk.ManagerByToken(r.PostFormValue("token"))
	switch {
	case me == "":
		c.renderLogin(w, r, http.StatusUnauthorized, "console.login.bad_token")
		return
	case c.d.Desk.Role(me) != router.RoleSupervisor:
		c.renderLogin(w, r, http.StatusForbidden, "console.login.not_supervisor")
		return
	}
	lang := r.PostFormValue("lang")
	if !locale.IsSupported(lang) {
		lang = ""
	}
	s, err := c.newSession(r.Context(), me, lang)
	if err != nil {
		c.d.Log.Error("console: new session", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	c.d.Log.Info("console: signed in", "manager", me)
	http.SetCookie(w, c.cookie(loginCookie, "", -1))
	http.SetCookie(w, c.cookie(sessionCookie, s.id, int(c.cfg.SessionTTL/time.Second)))
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// logout deletes the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.d.Redis.Del(r.Context(), c.sessionKey(s.id)).Err(); err != nil {
		c.d.Log.Error("console: sign out", "err", err)
	}
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}
