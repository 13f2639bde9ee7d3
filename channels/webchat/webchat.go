// Package webchat is the website chat channel: an embeddable widget (one script tag) and the
// endpoints it talks to, all under /webchat/.
//
//	GET  /webchat/webchat.js       the widget (ETag, Cache-Control, gzip)
//	GET  /webchat/v1/config        the widget's texts (?lang=ru|en) and consent settings
//	POST /webchat/v1/session       a new signed session token, or a renewed one
//	POST /webchat/v1/messages      a visitor's message (Authorization: Bearer <token>)
//	GET  /webchat/v1/events        the session's history and new events as Server-Sent Events
//	                               (?token=…; resumes after Last-Event-ID or ?after=)
//	GET  /webchat/v1/poll          the same as long polling (?after=…&wait=…)
//
// A visitor's message is ingested like any other channel's (deduplicated by the session id
// and the widget's client message id) and appended to the session's history stream in
// Redis; replies (Send) are appended to the same stream and pushed to the visitor's open
// stream. An event reaches the browser after reconnects exactly once and in order: the SSE id
// is the stream entry id and the browser resumes after the last one it saw. When a reply is
// written to the browser (an SSE write that flushed, or a poll that returned it), the
// channel reports it delivered (a channels.KindStatus item).
//
// Browser requests are accepted from allowed_origins only; every answer is JSON
// {"error","code","field"} on failure and never echoes what the visitor wrote.
package webchat

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/cors"
	"github.com/lidorub/lidorub/internal/phone"
	"github.com/lidorub/lidorub/internal/ratelimit"
	"github.com/lidorub/lidorub/locale"
)

// Name is the channel name (metric labels, Redis keys, the config section).
const Name = "webchat"

// Prefix is where the chat's routes live.
const Prefix = "/webchat/"

// maxBodyBytes caps a request body (a message of max_chars characters fits many times).
const maxBodyBytes = 64 << 10

// Channel is the website chat.
type Channel struct {
	cfg    Config
	ing    channels.Ingester
	rdb    redis.UniversalClient
	keys   channels.Keys
	clk    channels.Clock
	log    *slog.Logger
	signer signer
	cat    *locale.Catalogue
	hub    *hub
	widget *widget

	cors    *cors.Policy       // allowed_origins
	perSess *ratelimit.Limiter // nil: no per-session limit
	perIP   *ratelimit.Limiter // nil: no per-address limit

	m *chatMetrics
}

// New builds the chat. cfg gets its defaults applied and is validated.
func New(cfg Config, d channels.Deps) (*Channel, error) {
	if d.Ingester == nil || d.Redis == nil || d.Keys == nil {
		return nil, errors.New("webchat: ingester, redis and keys are required")
	}
	d = d.WithDefaults()
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	def := cfg.Locale
	if def == "" {
		def = locale.EN
	}
	cat, err := locale.New(def, nil)
	if err != nil {
		return nil, err
	}
	c := &Channel{cfg: cfg, ing: d.Ingester, rdb: d.Redis, keys: d.Keys, clk: d.Clock,
		log:    d.Log.With("channel", Name, "account", cfg.Account),
		signer: signer{secret: []byte(cfg.Secret), account: cfg.Account, ttl: cfg.TokenTTL},
		cat:    cat, hub: newHub(), widget: newWidget()}
	c.cors = cors.New(cfg.AllowedOrigins, "GET, POST, OPTIONS", "Authorization, Content-Type, Last-Event-ID")
	if cfg.RatePerMinute > 0 {
		c.perSess = ratelimit.New(cfg.RatePerMinute, cfg.Burst, cfg.MaxTracked)
	}
	if cfg.IPRatePerMinute > 0 {
		c.perIP = ratelimit.New(cfg.IPRatePerMinute, cfg.IPBurst, cfg.MaxTracked)
	}
	c.m = newMetrics(c.hub)
	if d.Registerer != nil {
		if err := c.m.register(d.Registerer); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Register adds the chat's routes.
func (c *Channel) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"webchat.js", c.serveWidget)
	mux.HandleFunc("OPTIONS "+Prefix+"v1/", c.preflight)
	mux.HandleFunc("GET "+Prefix+"v1/config", c.guard(c.config))
	mux.HandleFunc("POST "+Prefix+"v1/session", c.guard(c.session))
	mux.HandleFunc("POST "+Prefix+"v1/messages", c.guard(c.message))
	mux.HandleFunc("GET "+Prefix+"v1/events", c.guard(c.events))
	mux.HandleFunc("GET "+Prefix+"v1/poll", c.guard(c.poll))
}

// apiError is an error answer.
type apiError struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
	After  time.Duration
}

func (c *Channel) fail(w http.ResponseWriter, e *apiError) {
	c.m.rejected.WithLabelValues(e.Code).Inc()
	if e.After > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(e.After)))
	}
	if e.Status < 500 && e.Status != http.StatusTooManyRequests {
		c.log.Debug("webchat: request refused", "status", e.Status, "code", e.Code, "field", e.Field)
	}
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// guard checks the Origin (CORS) and the per-address limit before h.
func (c *Channel) guard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !c.cors.Apply(w, r) {
			c.fail(w, &apiError{Status: http.StatusForbidden, Msg: "origin not allowed", Code: "origin"})
			return
		}
		if c.perIP != nil {
			ip := ratelimit.ClientIP(r, c.cfg.TrustForwardedFor)
			if ok, wait := c.perIP.Allow(ratelimit.Key(ip), c.clk.Now()); !ok {
				c.fail(w, &apiError{Status: http.StatusTooManyRequests, Msg: "too many requests from this address, retry later", Code: "rate_limited", After: wait})
				return
			}
		}
		h(w, r)
	}
}

func (c *Channel) preflight(w http.ResponseWriter, r *http.Request) {
	if !c.cors.Apply(w, r) {
		c.fail(w, &apiError{Status: http.StatusForbidden, Msg: "origin not allowed", Code: "origin"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// config answers the widget's texts in the language asked for (or the page's, or the
// browser's; else the configured default) and the consent settings.
func (c *Channel) config(w http.ResponseWriter, r *http.Request) {
	lang := c.cat.Lang(r.URL.Query().Get("lang"))
	texts := map[string]string{}
	for _, k := range c.cat.Keys() {
		if rest, ok := strings.CutPrefix(k, "webchat."); ok {
			texts[rest] = c.cat.T(lang, k)
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"lang": lang, "texts": texts, "require_consent": c.cfg.ConsentRequired(),
		"policy_url": c.cfg.PolicyURL, "max_chars": c.cfg.MaxChars,
	})
}

// session answers {"token","expires_at"}: a renewed token for the same session when the body
// carries a valid one, else a new session. A forged token is refused (401): the widget then
// starts a new session.
func (c *Channel) session(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
	}
	if aerr := decode(w, r, &req); aerr != nil {
		c.fail(w, aerr)
		return
	}
	now := c.clk.Now()
	sid := ""
	if req.Token != "" {
		s, err := c.signer.verify(req.Token, now)
		if err != nil {
			c.fail(w, tokenError(err))
			return
		}
		sid = s
		if err := c.touch(r.Context(), sid); err != nil {
			c.log.Warn("webchat: session not renewed", "err", err)
		}
	} else {
		sid = newSID()
		c.m.sessions.Inc()
	}
	tok, exp := c.signer.sign(sid, now)
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "expires_at": exp.UTC().Format(time.RFC3339)})
}

func tokenError(err error) *apiError {
	if errors.Is(err, errExpiredToken) {
		return &apiError{Status: http.StatusUnauthorized, Msg: "the session has expired, start a new one", Code: "expired_token"}
	}
	return &apiError{Status: http.StatusUnauthorized, Msg: "invalid session token", Code: "invalid_token"}
}

// auth returns the session of the request's token: Authorization: Bearer, else ?token=
// (EventSource cannot send headers).
func (c *Channel) auth(r *http.Request) (string, *apiError) {
	tok := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		tok = strings.TrimSpace(h[7:])
	} else {
		tok = r.URL.Query().Get("token")
	}
	if tok == "" {
		return "", &apiError{Status: http.StatusUnauthorized, Msg: "a session token is required", Code: "invalid_token"}
	}
	sid, err := c.signer.verify(tok, c.clk.Now())
	if err != nil {
		return "", tokenError(err)
	}
	return sid, nil
}

// decode reads a JSON body of at most maxBodyBytes into v.
func decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") &&
		!strings.HasPrefix(strings.ToLower(ct), "text/plain") {
		return &apiError{Status: http.StatusUnsupportedMediaType, Msg: "send JSON", Code: "unsupported_type"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Msg: "the body is too large", Code: "too_large"}
		}
		if errors.Is(err, io.EOF) {
			return nil // an empty body: no fields
		}
		return &apiError{Status: http.StatusBadRequest, Msg: "the body is not valid JSON", Code: "malformed"}
	}
	return nil
}

// messageReq is the body of POST /webchat/v1/messages.
type messageReq struct {
	ID      string `json:"id"`      // the widget's client message id: retries carry the same
	Text    string `json:"text"`    // the message (may be empty when phone or email is given)
	Consent bool   `json:"consent"` // the visitor ticked the consent box
	Name    string `json:"name"`
	Phone   string `json:"phone"` // a callback request
	Email   string `json:"email"`
	PageURL string `json:"page_url"`
}

func validCID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

func invalid(field, msg string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Msg: msg, Code: "invalid", Field: field}
}

// message ingests a visitor's message and appends it to the session's history; the answer
// 202 {"status":"accepted","id","duplicate"} comes only once both are durable. A retry with
// the same client id is the same message.
func (c *Channel) message(w http.ResponseWriter, r *http.Request) {
	sid, aerr := c.auth(r)
	if aerr != nil {
		c.fail(w, aerr)
		return
	}
	now := c.clk.Now()
	if c.perSess != nil {
		if ok, wait := c.perSess.Allow(sid, now); !ok {
			c.fail(w, &apiError{Status: http.StatusTooManyRequests, Msg: "too many messages, retry later", Code: "rate_limited", After: wait})
			return
		}
	}
	var req messageReq
	if aerr := decode(w, r, &req); aerr != nil {
		c.fail(w, aerr)
		return
	}
	in, aerr := c.inbound(sid, req, now)
	if aerr != nil {
		c.fail(w, aerr)
		return
	}
	res, err := c.ing.Ingest(r.Context(), in)
	if err != nil {
		c.log.Error("webchat: message not stored", "err", err)
		c.fail(w, &apiError{Status: http.StatusServiceUnavailable, Msg: "temporarily unavailable, retry later", Code: "unavailable", After: 5 * time.Second})
		return
	}
	ev := stored{Dir: "in", CID: req.ID, Text: in.Text, At: ms(now)}
	if in.Meta["callback"] != "" {
		ev.Kind = "callback"
		if ev.Text == "" {
			ev.Text = strings.TrimSpace(in.Phone + " " + in.Email)
		}
	}
	id, _, err := c.appendEvent(r.Context(), sid, "c:"+req.ID, ev)
	if err != nil {
		// The message is a lead already; the widget retries with the same id and the
		// history append is redone (the ingest answers duplicate).
		c.log.Error("webchat: message not added to the history", "err", err)
		c.fail(w, &apiError{Status: http.StatusServiceUnavailable, Msg: "temporarily unavailable, retry later", Code: "unavailable", After: 5 * time.Second})
		return
	}
	if res.Duplicate {
		c.m.messages.WithLabelValues("duplicate").Inc()
	} else {
		c.m.messages.WithLabelValues("accepted").Inc()
	}
	c.log.Info("webchat: message accepted", "lead_entry", res.EntryID, "duplicate", res.Duplicate,
		"chars", utf8.RuneCountInString(req.Text), "has_phone", in.Phone != "", "has_email", in.Email != "")
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted", "id": id, "duplicate": res.Duplicate})
}

// inbound checks a message and maps it to the channel-neutral item.
func (c *Channel) inbound(sid string, req messageReq, now time.Time) (channels.Inbound, *apiError) {
	var in channels.Inbound
	if !validCID(req.ID) {
		return in, &apiError{Status: http.StatusBadRequest, Msg: "id must be 1-64 letters, digits, '-' or '_'", Code: "malformed", Field: "id"}
	}
	req.Text = strings.TrimSpace(req.Text)
	if !utf8.ValidString(req.Text) || !utf8.ValidString(req.Name) {
		return in, invalid("text", "the text is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(req.Text); n > c.cfg.MaxChars {
		return in, &apiError{Status: http.StatusRequestEntityTooLarge, Msg: "the message is longer than " + strconv.Itoa(c.cfg.MaxChars) + " characters", Code: "too_large", Field: "text"}
	}
	if utf8.RuneCountInString(req.Name) > 200 || len(req.PageURL) > 2000 || len(req.Email) > 254 || len(req.Phone) > 40 {
		return in, &apiError{Status: http.StatusRequestEntityTooLarge, Msg: "a field is too long", Code: "too_large"}
	}
	if c.cfg.ConsentRequired() && !req.Consent {
		return in, &apiError{Status: http.StatusUnprocessableEntity, Msg: "consent to personal data processing is required", Code: "no_consent", Field: "consent"}
	}
	in = channels.Inbound{Kind: channels.KindMessage, Channel: Name, Account: c.cfg.Account, MessageID: sid + ":" + req.ID,
		ContactID: sid, DisplayName: strings.TrimSpace(req.Name), Text: req.Text, ReceivedAt: now.UTC(),
		Meta: map[string]string{}}
	if p := strings.TrimSpace(req.Phone); p != "" {
		e164, ok := phone.E164(p, c.cfg.DefaultRegion)
		if !ok {
			return in, invalid("phone", "the phone number is not valid")
		}
		in.Phone = e164
	}
	if e := strings.TrimSpace(req.Email); e != "" {
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != e || !strings.Contains(e, "@") {
			return in, invalid("email", "the e-mail address is not valid")
		}
		in.Email = strings.ToLower(e)
	}
	if in.Text == "" && in.Phone == "" && in.Email == "" {
		return in, invalid("text", "the message is empty")
	}
	if in.Phone != "" || in.Email != "" {
		in.Meta["callback"] = "requested"
	}
	if req.Consent {
		in.Meta["consent_at"] = now.UTC().Format(time.RFC3339Nano)
		in.Meta["policy_version"] = c.cfg.PolicyVersion
	}
	if req.PageURL != "" && (strings.HasPrefix(req.PageURL, "https://") || strings.HasPrefix(req.PageURL, "http://")) {
		in.Meta["page_url"] = req.PageURL
		in.Source = req.PageURL
	}
	return in, nil
}
