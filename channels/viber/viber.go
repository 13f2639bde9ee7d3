// Package viber is the Viber channel through the Viber REST Bot API: callbacks arrive at
// /webhooks/viber/<bot>, signed with the bot's token (X-Viber-Content-Signature); the
// gateway registers that URL with set_webhook when it starts, and replies with send_message.
// A thin client over net/http (client.go) speaks the API; no Go client of it is maintained.
//
// Viber bots are created on commercial terms only since 5 February 2024.
package viber

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/multipart"
	"github.com/lidorub/lidorub/locale"
)

// Name is the channel name (metric labels, Redis keys, the config section).
const Name = "viber"

// SignatureHeader carries the hex HMAC-SHA256 of the raw callback body keyed with the bot's
// authentication token.
const SignatureHeader = "X-Viber-Content-Signature"

const (
	// MaxTextBytes keeps every text part within send_message's 7000-character limit.
	MaxTextBytes = 7000
	// stateTTL is how long a user's subscription state and deep-link context are kept.
	stateTTL = 400 * 24 * time.Hour
	// contextTTL: a conversation opened through a deep link names its source this long.
	contextTTL = 7 * 24 * time.Hour
	// rateLimitWait is how long to wait after "tooManyRequests" (Viber gives no delay).
	rateLimitWait = 2 * time.Second
	// maxRegisterWait caps the backoff between set_webhook attempts.
	maxRegisterWait = 5 * time.Minute
)

// Sign returns the X-Viber-Content-Signature of body for token: what Viber sends and what
// tests use.
func Sign(token string, body []byte) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is the signature of the raw body for token,
// comparing in constant time. A missing or malformed header is invalid.
func VerifySignature(token string, body []byte, header string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(header))
	if token == "" || err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, []byte(token))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Channel is the Viber channel: callback handler, webhook registration (Run) and
// channels.Sender.
type Channel struct {
	cfg   Config
	d     channels.Deps
	log   *slog.Logger
	bots  map[string]*bot
	order []string
	m     *Metrics
	// sleep waits between set_webhook attempts (tests replace it).
	sleep func(ctx context.Context, d time.Duration) error
}

type bot struct {
	cfg    Bot
	client *Client
}

var _ channels.Sender = (*Channel)(nil)
var _ channels.Runner = (*Channel)(nil)

// New builds the channel from a validated, defaulted config.
func New(cfg Config, d channels.Deps) (*Channel, error) {
	d = d.WithDefaults()
	c := &Channel{cfg: cfg, d: d, log: d.Log.With("channel", Name), bots: map[string]*bot{}, sleep: sleepCtx}
	for _, b := range cfg.Bots {
		c.bots[b.Name] = &bot{cfg: b, client: NewClient(cfg.APIURL, b.Token, cfg.Timeout)}
		c.order = append(c.order, b.Name)
	}
	m, err := newMetrics(d.Registerer, c.order)
	if err != nil {
		return nil, fmt.Errorf("viber metrics: %w", err)
	}
	c.m = m
	return c, nil
}

// Path is the callback path of bot.
func Path(bot string) string { return "/webhooks/viber/" + bot }

// Register adds POST /webhooks/viber/{bot} to mux.
func (c *Channel) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /webhooks/viber/{bot}", c.serveCallback)
}

// Handler returns the callback handler alone, for tests.
func (c *Channel) Handler() http.Handler {
	mux := http.NewServeMux()
	c.Register(mux)
	return mux
}

// Run registers the webhook of every bot that has a webhook_url with set_webhook, retrying
// with backoff until it succeeds, and returns when all are registered or ctx is cancelled.
// It runs next to the HTTP server, which answers the check callback Viber sends at once.
func (c *Channel) Run(ctx context.Context) error {
	done := make(chan struct{})
	n := 0
	for _, name := range c.order {
		if c.bots[name].cfg.WebhookURL == "" {
			continue
		}
		n++
		go func() {
			defer func() { done <- struct{}{} }()
			c.registerWebhook(ctx, c.bots[name])
		}()
	}
	for range n {
		<-done
	}
	return nil
}

// registerWebhook calls set_webhook until it succeeds (or ctx ends), waiting 1 s, 2 s, 4 s …
// up to 5 min between attempts. A rejected token raises an alert.
func (c *Channel) registerWebhook(ctx context.Context, b *bot) {
	wait := time.Second
	for ctx.Err() == nil {
		types, err := b.client.SetWebhook(ctx, WebhookRequest{URL: b.cfg.WebhookURL, EventTypes: EventTypes, SendName: true})
		if err == nil {
			c.m.registered.WithLabelValues(b.cfg.Name).Set(1)
			c.log.Info("viber webhook registered", "bot", b.cfg.Name, "event_types", types)
			return
		}
		if ctx.Err() != nil {
			return
		}
		var ae *APIError
		if errors.As(err, &ae) && accountBroken(ae.Status) {
			c.alert(ctx, b.cfg.Name, fmt.Sprintf("Viber refused the bot (%s): webhook not registered; check the bot's token and status", ae.Message))
		}
		c.log.Warn("viber set_webhook failed", "bot", b.cfg.Name, "err", err, "retry_in", wait)
		if c.sleep(ctx, wait) != nil {
			return
		}
		wait = min(2*wait, maxRegisterWait)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Channel) alert(ctx context.Context, bot, reason string) {
	if c.d.Alerter == nil {
		return
	}
	if err := c.d.Alerter.Alert(context.WithoutCancel(ctx), Name, bot, reason); err != nil {
		c.log.Warn("viber: could not raise an alert", "bot", bot, "err", err)
	}
}

// accountBroken: statuses that say the bot itself cannot send (token, blocked, suspended...).
func accountBroken(status int) bool {
	switch status {
	case StatusInvalidAuthToken, StatusPublicAccountBlocked, StatusPublicAccountNotFound,
		StatusPublicAccountSuspended, StatusPublicAccountNotAuth:
		return true
	}
	return false
}

//go:embed subscription.lua
var subscriptionLua string

// subscriptionScript: see subscription.lua.
var subscriptionScript = redis.NewScript(subscriptionLua)

// Subscription states kept per user (ARGV[1] of subscription.lua).
const (
	stateUnsubscribed = "u"
	stateSubscribed   = "s"
)

func (c *Channel) subscriptionKey(bot, user string) string {
	return c.d.Keys.Channel(Name, bot, "sub:"+user)
}

func (c *Channel) contextKey(bot, user string) string {
	return c.d.Keys.Channel(Name, bot, "ctx:"+user)
}

// setSubscription records state for user at time at unless a newer event is recorded.
func (c *Channel) setSubscription(ctx context.Context, bot, user, state string, at time.Time) error {
	if at.IsZero() {
		at = c.d.Clock.Now()
	}
	return subscriptionScript.Run(ctx, c.d.Redis, []string{c.subscriptionKey(bot, user)},
		state, at.UnixMilli(), stateTTL.Milliseconds()).Err()
}

// Unsubscribed reports whether user's latest recorded event is "unsubscribed".
func (c *Channel) Unsubscribed(ctx context.Context, bot, user string) (bool, error) {
	v, err := c.d.Redis.Get(ctx, c.subscriptionKey(bot, user)).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return strings.HasPrefix(v, stateUnsubscribed+":"), err
}

// serveCallback checks the signature over the raw body, then handles the event. It answers
// 200 only when what the event carries is durable in Redis (the message ingested, the
// subscription recorded); otherwise 500, and Viber's retry is made harmless by the ingest
// dedupe on message_token.
func (c *Channel) serveCallback(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("bot")
	b := c.bots[name]
	if b == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown bot"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxBodyBytes))
	if err != nil {
		c.m.callbacks.WithLabelValues(name, "other", cbBadPayload).Inc()
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, map[string]string{"error": "could not read the body"})
		return
	}
	if !VerifySignature(b.cfg.Token, body, r.Header.Get(SignatureHeader)) {
		c.m.callbacks.WithLabelValues(name, "other", cbBadSignature).Inc()
		c.log.Warn("viber callback signature missing or invalid", "bot", name,
			"has_header", r.Header.Get(SignatureHeader) != "", "bytes", len(body))
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid signature"})
		return
	}
	cb, items, err := Parse(body, name, c.cfg.DefaultRegion)
	if err != nil {
		c.m.callbacks.WithLabelValues(name, "other", cbBadPayload).Inc()
		c.log.Warn("viber callback not understood", "bot", name, "bytes", len(body), "err", err)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "not a Viber callback"})
		return
	}
	ev := event(cb.Event)
	result, err := c.handle(r.Context(), name, cb, items)
	if err != nil {
		c.m.callbacks.WithLabelValues(name, ev, cbFailed).Inc()
		c.log.Error("viber callback not stored, Viber will retry", "bot", name, "event", cb.Event,
			"message_token", cb.token(), "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "temporarily unavailable"})
		return
	}
	c.m.callbacks.WithLabelValues(name, ev, result).Inc()
	// An empty 200: for conversation_started a body would be taken as a welcome message.
	w.WriteHeader(http.StatusOK)
}

// handle makes what a verified callback carries durable and returns the metric result.
func (c *Channel) handle(ctx context.Context, bot string, cb *Callback, items []channels.Inbound) (string, error) {
	switch cb.Event {
	case EventSubscribed, EventConversationStarted:
		if cb.User == nil || cb.User.ID == "" {
			return cbIgnored, nil
		}
		if cb.Event == EventConversationStarted {
			// The user opened the chat (a deep link's context names where from) but wrote
			// nothing: not a lead yet, and not someone the bot may write to unless
			// subscribed. The context becomes the source of their first message.
			if cb.Context == "" {
				return cbIgnored, nil
			}
			return cbState, c.d.Redis.Set(ctx, c.contextKey(bot, cb.User.ID), truncate(cb.Context, 256), contextTTL).Err()
		}
		return cbState, c.setSubscription(ctx, bot, cb.User.ID, stateSubscribed, cb.Time())
	case EventUnsubscribed:
		if cb.UserID == "" {
			return cbIgnored, nil
		}
		c.log.Info("viber user unsubscribed: replies to them will fail", "bot", bot, "message_token", cb.token())
		return cbState, c.setSubscription(ctx, bot, cb.UserID, stateUnsubscribed, cb.Time())
	}
	if len(items) == 0 {
		return cbIgnored, nil
	}
	result := cbStored
	for _, in := range items {
		if in.Kind == channels.KindMessage {
			src, err := c.d.Redis.Get(ctx, c.contextKey(bot, in.ContactID)).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return "", err
			}
			if src != "" {
				in.Source = src
				if in.Meta == nil {
					in.Meta = map[string]string{}
				}
				in.Meta["context"] = src
			}
		}
		res, err := c.d.Ingester.Ingest(ctx, in)
		if err != nil {
			return "", err
		}
		if res.Duplicate {
			result = cbDuplicate
		}
		if in.Kind == channels.KindMessage {
			// A user who writes can be answered again, whatever they did before.
			if err := c.setSubscription(ctx, bot, in.ContactID, stateSubscribed, in.SentAt); err != nil {
				return "", err
			}
		}
	}
	return result, nil
}

// Send delivers a reply: its text (in parts of at most 7000 bytes), then each attachment,
// with the bot's sender name. A user who unsubscribed is not written to: the failure is
// permanent and the manager is told.
func (c *Channel) Send(ctx context.Context, out channels.Outbound) (res channels.SendResult, err error) {
	b := c.bots[out.Account]
	if b == nil {
		return res, c.sendErr(out.Account, channels.Permanent(locale.Errorf("failure.account_not_configured", "channel", "Viber", "account", out.Account)))
	}
	if out.ContactID == "" {
		return res, c.sendErr(b.cfg.Name, channels.Permanent(locale.Errorf("failure.no_recipient", "channel", "Viber")))
	}
	unsub, err := c.Unsubscribed(ctx, b.cfg.Name, out.ContactID)
	if err != nil {
		return res, c.sendErr(b.cfg.Name, fmt.Errorf("viber: read subscription: %w", err))
	}
	if unsub {
		return res, c.sendErr(b.cfg.Name, channels.Permanent(locale.Errorf("failure.viber.unsubscribed")))
	}
	parts, err := buildParts(b.cfg, out)
	if err != nil {
		return res, c.sendErr(b.cfg.Name, err)
	}
	first, err := multipart.Send(ctx, c.d.Redis, c.d.Keys.Channel(Name, b.cfg.Name, "out:"+out.ID), len(parts), func(i int) (string, error) {
		tok, err := b.client.SendMessage(ctx, parts[i])
		if err != nil {
			return "", c.explain(ctx, b, out.ContactID, err)
		}
		return tok, nil
	})
	return channels.SendResult{ChannelMessageID: first}, c.sendErr(b.cfg.Name, err)
}

// sendErr counts a send's result and returns err.
func (c *Channel) sendErr(bot string, err error) error {
	if _, ok := c.bots[bot]; !ok {
		return err
	}
	var ra *channels.RetryAfterError
	switch {
	case err == nil:
		c.m.sends.WithLabelValues(bot, sendOK).Inc()
	case errors.As(err, &ra):
		c.m.sends.WithLabelValues(bot, sendRateLimited).Inc()
	case channels.IsPermanent(err):
		c.m.sends.WithLabelValues(bot, sendPermanent).Inc()
	default:
		c.m.sends.WithLabelValues(bot, sendTemporary).Inc()
	}
	return err
}

// explain maps a send_message error onto the channels error kinds, with a text the manager
// understands for the permanent ones.
func (c *Channel) explain(ctx context.Context, b *bot, user string, err error) error {
	var he *HTTPError
	if errors.As(err, &he) && he.Code == http.StatusTooManyRequests {
		return &channels.RetryAfterError{After: rateLimitWait, Err: err}
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return err // network, timeout, 5xx: temporary
	}
	switch ae.Status {
	case StatusTooManyRequests:
		return &channels.RetryAfterError{After: rateLimitWait, Err: err}
	case StatusReceiverNotSubscribed:
		if serr := c.setSubscription(context.WithoutCancel(ctx), b.cfg.Name, user, stateUnsubscribed, c.d.Clock.Now()); serr != nil {
			c.log.Warn("viber: could not record an unsubscribed user", "bot", b.cfg.Name, "err", serr)
		}
		return channels.Permanent(locale.Wrap(err, "failure.viber.unsubscribed"))
	case StatusReceiverNotRegistered, StatusReceiverNoSuitableDevice:
		return channels.Permanent(locale.Wrap(err, "failure.viber.unreachable", "detail", ae.Message))
	case StatusInvalidAuthToken, StatusPublicAccountBlocked, StatusPublicAccountNotFound,
		StatusPublicAccountSuspended, StatusPublicAccountNotAuth, StatusFreeMessagesExceeded, StatusNoBalance:
		c.alert(ctx, b.cfg.Name, fmt.Sprintf("Viber refused to send for the bot (status %d, %s): replies cannot be sent until it is fixed", ae.Status, ae.Message))
		return channels.Permanent(locale.Wrap(err, "failure.viber.account", "detail", ae.Message))
	case StatusBadData, StatusMissingData, StatusAPIVersionNotSupported, StatusIncompatibleWithVersion, StatusUnsupportedCountry:
		return channels.Permanent(locale.Wrap(err, "failure.viber.refused", "detail", ae.Message))
	}
	return err // webhookNotSet (Run registers it), general errors: temporary
}

// buildParts turns the outbound text and attachments into send_message bodies.
func buildParts(b Bot, out channels.Outbound) ([]Message, error) {
	base := Message{Receiver: out.ContactID, MinAPIVersion: 1, Sender: Sender{Name: b.SenderName, Avatar: b.SenderAvatar},
		TrackingData: out.ID}
	var parts []Message
	for _, t := range multipart.Split(out.Text, MaxTextBytes) {
		m := base
		m.Type, m.Text = "text", t
		parts = append(parts, m)
	}
	for _, a := range out.Attachments {
		m := base
		bad := channels.Permanent(locale.Errorf("failure.viber.attachment", "kind", a.Kind))
		switch a.Kind {
		case "location":
			lat, lon, ok := parseLatLon(a.Ref)
			if !ok {
				return nil, bad
			}
			m.Type, m.Location = "location", &LatLon{Lat: lat, Lon: lon}
			parts = append(parts, m)
			continue
		}
		if !strings.HasPrefix(a.Ref, "https://") {
			return nil, bad
		}
		m.Media = a.Ref
		switch a.Kind {
		case "image":
			m.Type = "picture"
		case "video":
			if a.Size <= 0 {
				return nil, bad
			}
			m.Type, m.Size = "video", a.Size
		case "document", "file", "audio", "voice":
			if a.Size <= 0 {
				return nil, bad
			}
			m.Type, m.Size, m.FileName = "file", a.Size, a.Name
			if m.FileName == "" {
				m.FileName = a.Kind
			}
		default:
			return nil, bad
		}
		parts = append(parts, m)
	}
	if len(parts) == 0 {
		return nil, channels.Permanent(locale.Errorf("failure.empty"))
	}
	return parts, nil
}

func parseLatLon(s string) (lat, lon float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return lat, lon, err1 == nil && err2 == nil && validLatLon(lat, lon)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
