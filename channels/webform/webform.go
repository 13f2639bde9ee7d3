// Package webform is the web-form channel: POST /webhooks/form turns a website's "call me
// back" form into a lead.
//
// The body is JSON, application/x-www-form-urlencoded or multipart/form-data with the fields
// name, phone, email, message, consent, utm_source, utm_medium, utm_campaign, utm_term,
// utm_content, page_url and, when a captcha is configured, captcha_token (or the field the
// widget adds: g-recaptcha-response, h-captcha-response, cf-turnstile-response).
//
// Explicit consent to personal data processing is required: without it the answer is 422 and
// nothing is stored; with it the consent time and the configured policy version are stored
// in Inbound.Meta (consent_at, policy_version). Phones are normalised to E.164; a phone or an
// email is required (a form lead is a callback request: the manager calls back and marks it
// contacted, the channel has no Sender).
//
// Duplicates: an Idempotency-Key header makes the lead id "idem:<key>", remembered 24 h;
// without one, the same contact and message within dedupe_window (10 minutes) is one lead.
// The answer, 202 {"status":"accepted","lead_id":...,"duplicate":...}, is sent only once the
// lead is durable in Redis; if Redis is unavailable the answer is 503 and the client retries.
//
// Every error answer is JSON {"error": "...", "field": "..."} and never echoes the
// submitted values; logs carry ids and sizes only.
package webform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/bufpool"
	"github.com/lidorub/lidorub/internal/cors"
	"github.com/lidorub/lidorub/internal/ratelimit"
)

// Name is the channel name (metric labels, Redis keys, the config section).
const Name = channels.Form

// Path is where the form posts.
const Path = "/webhooks/form"

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// maxIdempotencyKey is the longest accepted Idempotency-Key header.
const maxIdempotencyKey = 200

// Channel is the web-form channel: it serves POST /webhooks/form (and the CORS preflight).
type Channel struct {
	cfg     Config
	ing     channels.Ingester
	clk     channels.Clock
	log     *slog.Logger
	limiter *ratelimit.Limiter // nil: no per-IP limit
	captcha CaptchaVerifier
	cors    *cors.Policy // allowed_origins (none: no CORS headers at all)

	rejected *prometheus.CounterVec // nil without a registerer
}

// New builds the channel. cfg gets its defaults applied and is validated; a captcha
// verifier is created when cfg.Captcha.VerifyURL is set; with d.Registerer,
// lidorub_form_rejected_total is registered on it.
func New(cfg Config, d channels.Deps) (*Channel, error) {
	if d.Ingester == nil {
		return nil, errors.New("webform: nil ingester")
	}
	d = d.WithDefaults()
	ing, clk, log := d.Ingester, d.Clock, d.Log
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err // paths relative to channels.form, like Validate; the caller prefixes
	}
	h := &Channel{cfg: cfg, ing: ing, clk: clk, log: log.With("channel", Name, "account", cfg.Account)}
	if d.Registerer != nil {
		if err := h.instrument(d.Registerer); err != nil {
			return nil, err
		}
	}
	if cfg.RatePerMinute > 0 {
		h.limiter = ratelimit.New(cfg.RatePerMinute, cfg.Burst, cfg.MaxTrackedIPs)
	}
	if cfg.Captcha.VerifyURL != "" {
		h.captcha = NewHTTPCaptcha(cfg.Captcha)
	}
	h.cors = cors.New(cfg.AllowedOrigins, "POST, OPTIONS", "Content-Type, Idempotency-Key")
	return h, nil
}

// SetCaptchaVerifier replaces the captcha check (nil turns it off). Call before serving.
func (h *Channel) SetCaptchaVerifier(v CaptchaVerifier) { h.captcha = v }

// Register adds /webhooks/form to mux for every method: the handler itself answers POST,
// OPTIONS (CORS preflight when allowed_origins is set) and 405 with Allow (counted in the
// form's metrics) for anything else. It does nothing when the channel is disabled.
func (h *Channel) Register(mux *http.ServeMux) {
	if !h.cfg.IsEnabled() {
		return
	}
	mux.Handle(Path, h)
}

// response is the 202 answer.
type response struct {
	Status    string `json:"status"`
	LeadID    string `json:"lead_id"`
	Duplicate bool   `json:"duplicate"`
}

// ServeHTTP handles one submission.
func (h *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cors.Configured() && !h.cors.Apply(w, r) {
		h.fail(w, &apiError{Status: http.StatusForbidden, Msg: "origin not allowed"})
		return
	}
	if r.Method == http.MethodOptions && h.cors.Configured() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		if h.cors.Configured() {
			w.Header().Set("Allow", "POST, OPTIONS")
		} else {
			w.Header().Set("Allow", "POST")
		}
		h.fail(w, &apiError{Status: http.StatusMethodNotAllowed, Msg: "use POST"})
		return
	}
	ip := ratelimit.ClientIP(r, h.cfg.TrustForwardedFor)
	if h.limiter != nil {
		if ok, wait := h.limiter.Allow(ratelimit.Key(ip), h.clk.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
			h.fail(w, &apiError{Status: http.StatusTooManyRequests, Msg: "too many submissions from this address, retry later"})
			return
		}
	}
	if _, _, aerr := mediaType(r.Header.Get("Content-Type")); aerr != nil {
		h.fail(w, aerr)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if aerr := checkIdempotencyKey(key); aerr != nil {
		h.fail(w, aerr)
		return
	}
	buf := bodies.Get()
	body, aerr := h.readBody(w, r, (*buf)[:0])
	if aerr != nil {
		bodies.Put(buf, *buf)
		h.fail(w, aerr)
		return
	}
	l, aerr := parseForm(r.Header.Get("Content-Type"), body, h.cfg.DefaultRegion)
	bodies.Put(buf, body) // the lead's fields are copies: the body's buffer is free again
	if aerr != nil {
		h.fail(w, aerr)
		return
	}
	if h.captcha != nil {
		remote := ""
		if ip.IsValid() {
			remote = ip.String()
		}
		ctx, cancel := context.WithTimeout(r.Context(), captchaTimeout)
		err := h.captcha.Verify(ctx, l.CaptchaToken, remote)
		cancel()
		if errors.Is(err, ErrCaptchaRejected) {
			h.fail(w, invalid("captcha", "captcha verification failed"))
			return
		}
		if err != nil {
			h.log.Warn("form: captcha provider unavailable", "err", err)
			w.Header().Set("Retry-After", "5")
			h.fail(w, &apiError{Status: http.StatusServiceUnavailable, Msg: "captcha verification unavailable, retry later", Field: "captcha"})
			return
		}
	}
	in := h.inbound(&l, key)
	res, err := h.ing.Ingest(r.Context(), in)
	if err != nil {
		h.log.Error("form: lead not stored", "message_id", loggableID(in.MessageID), "err", err)
		w.Header().Set("Retry-After", "5")
		h.fail(w, &apiError{Status: http.StatusServiceUnavailable, Msg: "temporarily unavailable, retry later"})
		return
	}
	if h.log.Enabled(r.Context(), slog.LevelInfo) { // the attributes cost allocations even when the line is dropped
		h.log.Info("form: lead accepted", "lead_id", res.EntryID, "message_id", loggableID(in.MessageID),
			"duplicate", res.Duplicate, "message_chars", utf8.RuneCountInString(l.Message), "has_phone", l.Phone != "", "has_email", l.Email != "")
	}
	writeAccepted(w, res.EntryID, res.Duplicate)
}

// writeAccepted writes the 202 answer: the bytes writeJSON writes for a response, built
// without reflection when the lead id is a stream entry id (digits and one dash).
func writeAccepted(w http.ResponseWriter, leadID string, duplicate bool) {
	for i := 0; i < len(leadID); i++ {
		if c := leadID[i]; (c < '0' || c > '9') && c != '-' {
			writeJSON(w, http.StatusAccepted, response{Status: "accepted", LeadID: leadID, Duplicate: duplicate})
			return
		}
	}
	b := make([]byte, 0, 64+len(leadID))
	b = append(b, `{"status":"accepted","lead_id":"`...)
	b = append(b, leadID...)
	b = append(b, `","duplicate":`...)
	b = strconv.AppendBool(b, duplicate)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(b)
}

// inbound maps a validated lead to the channel-neutral item.
func (h *Channel) inbound(l *lead, idemKey string) channels.Inbound {
	now := h.clk.Now().UTC()
	meta := make(map[string]string, 3+len(l.UTM)) // sized once: consent, policy, UTM, page URL
	meta["consent_at"] = now.Format(time.RFC3339Nano)
	meta["policy_version"] = h.cfg.PolicyVersion
	for i, v := range l.UTM {
		if v != "" {
			meta[utmFields[i]] = v
		}
	}
	if l.PageURL != "" {
		meta["page_url"] = l.PageURL
	}
	source := l.utm("utm_campaign")
	if source == "" {
		source = l.PageURL
	}
	in := channels.Inbound{
		Kind:        channels.KindMessage,
		Channel:     channels.Form,
		Account:     h.cfg.Account,
		ContactID:   l.contactID(),
		DisplayName: l.Name,
		Text:        l.Message,
		Phone:       l.Phone,
		Email:       l.Email,
		Source:      source,
		Meta:        meta,
		ReceivedAt:  now,
	}
	if idemKey != "" {
		in.MessageID = "idem:" + idemKey
		in.DedupeTTL = IdempotencyTTL
	} else {
		in.MessageID = contentID(l.contactID(), l.Message)
		in.DedupeTTL = h.cfg.DedupeWindow
	}
	return in
}

// contentID is the dedupe id of a submission without an Idempotency-Key: the same contact
// (E.164 phone, else lower-cased email) and message give the same id.
func contentID(contact, message string) string {
	var buf [512]byte // most submissions: no allocation but the id
	b := append(append(append(buf[:0], contact...), 0), message...)
	sum := sha256.Sum256(b)
	var id [2 + 2*sha256.Size]byte
	id[0], id[1] = 'h', ':'
	hex.Encode(id[2:], sum[:])
	return string(id[:])
}

// loggableID is a dedupe id fit for logs: an Idempotency-Key as it is, but not the content
// hash, an unsalted hash of the phone (or email) and the message that enumerating phone
// numbers reverses.
func loggableID(id string) string {
	if strings.HasPrefix(id, "h:") {
		return "h:…"
	}
	return id
}

func checkIdempotencyKey(key string) *apiError {
	if key == "" {
		return nil
	}
	if len(key) > maxIdempotencyKey {
		return &apiError{Status: http.StatusBadRequest, Msg: "Idempotency-Key must be at most 200 characters", Field: "Idempotency-Key"}
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x21 || c > 0x7e {
			return &apiError{Status: http.StatusBadRequest, Msg: "Idempotency-Key must be printable ASCII without spaces", Field: "Idempotency-Key"}
		}
	}
	return nil
}

// bodies recycles the buffers bodies are read into (one over 16 KiB is left to the garbage
// collector).
var bodies = bufpool.New(1024, 16<<10)

// readBody reads the body into buf (grown when it is too small).
func (h *Channel) readBody(w http.ResponseWriter, r *http.Request, buf []byte) ([]byte, *apiError) {
	tooLarge := func() *apiError {
		return &apiError{Status: http.StatusRequestEntityTooLarge,
			Msg: "body is larger than " + strconv.FormatInt(h.cfg.MaxBodyBytes, 10) + " bytes"}
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return nil, tooLarge()
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes), r.ContentLength, buf)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, badRequest("could not read the body")
	}
	return body, nil
}

// readAll is io.ReadAll into b[:0] that first makes room for the announced length (when there
// is one), so a body is read without growing the buffer.
func readAll(r io.Reader, contentLength int64, b []byte) ([]byte, error) {
	if contentLength <= 0 {
		contentLength = 511 // unknown: io.ReadAll's first size
	}
	b = slices.Grow(b[:0], int(contentLength)+1) // +1: EOF is seen without a reallocation
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return b, nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than announced: grow like io.ReadAll
		}
	}
}

// fail writes an error answer and logs it without any submitted value.
func (h *Channel) fail(w http.ResponseWriter, e *apiError) {
	if h.rejected != nil {
		h.rejected.WithLabelValues(reason(e)).Inc()
	}
	switch {
	case e.Status >= 500: // logged with its cause by the caller
	case e.Status == http.StatusTooManyRequests:
		h.log.Debug("form: submission refused", "status", e.Status)
	default:
		h.log.Info("form: submission refused", "status", e.Status, "field", e.Field, "reason", e.Msg)
	}
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
