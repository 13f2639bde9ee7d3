// Package vk is the VK (VKontakte) communities channel: the Callback API posts community
// events to /webhooks/vk/<community> (confirmation handshake, secret key in every body),
// customers' messages become leads, and replies go out with messages.send, each with a
// random_id derived from the outbound id so a retried send is never delivered twice. A thin
// client over net/http (client.go) speaks the API; the known Go SDK is not used.
package vk

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"errors"
	"fmt"
	"hash/fnv"
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
const Name = "vk"

const (
	// MaxTextBytes keeps every part within VK's message length limit (4096 characters).
	MaxTextBytes = 4096
	// stateTTL is how long a user's permission state is kept.
	stateTTL = 400 * 24 * time.Hour
	// eventTTL is how long a permission event's id is remembered (VK retries for hours).
	eventTTL = 7 * 24 * time.Hour
)

// Retry delays of VK's rate-limit errors (VK gives none).
var retryAfter = map[int]time.Duration{
	ErrTooManyPerSecond: time.Second,
	ErrFlood:            15 * time.Second,
	ErrRateLimit:        time.Minute,
}

// Channel is the VK channel: Callback API handler and channels.Sender.
type Channel struct {
	cfg   Config
	d     channels.Deps
	log   *slog.Logger
	comms map[string]*community
	m     *Metrics
}

type community struct {
	cfg    Community
	client *Client
}

var _ channels.Sender = (*Channel)(nil)

// New builds the channel from a validated, defaulted config.
func New(cfg Config, d channels.Deps) (*Channel, error) {
	d = d.WithDefaults()
	c := &Channel{cfg: cfg, d: d, log: d.Log.With("channel", Name), comms: map[string]*community{}}
	var names []string
	for _, g := range cfg.Communities {
		c.comms[g.Name] = &community{cfg: g, client: NewClient(cfg.APIURL, g.Token, cfg.APIVersion, cfg.Timeout)}
		names = append(names, g.Name)
	}
	m, err := newMetrics(d.Registerer, names)
	if err != nil {
		return nil, fmt.Errorf("vk metrics: %w", err)
	}
	c.m = m
	return c, nil
}

// Path is the callback path of a community.
func Path(community string) string { return "/webhooks/vk/" + community }

// Register adds POST /webhooks/vk/{community} to mux.
func (c *Channel) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /webhooks/vk/{community}", c.serveCallback)
}

// Handler returns the callback handler alone, for tests.
func (c *Channel) Handler() http.Handler {
	mux := http.NewServeMux()
	c.Register(mux)
	return mux
}

//go:embed permission.lua
var permissionLua string

// permissionScript: see permission.lua.
var permissionScript = redis.NewScript(permissionLua)

// Permission states (ARGV[1] of permission.lua).
const (
	stateDenied  = "d"
	stateAllowed = "a"
)

func (c *Channel) permissionKey(account, user string) string {
	return c.d.Keys.Channel(Name, account, "perm:"+user)
}

// setPermission records state for user at time at, once per eventID ("" : no dedupe).
func (c *Channel) setPermission(ctx context.Context, account, user, state, eventID string, at time.Time) error {
	k := c.permissionKey(account, user)
	marker := k
	if eventID != "" {
		marker = c.d.Keys.Channel(Name, account, "event:"+eventID)
	}
	return permissionScript.Run(ctx, c.d.Redis, []string{k, marker}, state, at.UnixMilli(), max(stateTTL, eventTTL).Milliseconds()).Err()
}

// Denied reports whether user's latest recorded event forbids messages from the community.
func (c *Channel) Denied(ctx context.Context, account, user string) (bool, error) {
	v, err := c.d.Redis.Get(ctx, c.permissionKey(account, user)).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return strings.HasPrefix(v, stateDenied+":"), err
}

// serveCallback answers the confirmation handshake with the configured string; every other
// callback must carry the community's secret (compared in constant time) and its group_id,
// and is answered "ok" only once what it carries is durable in Redis. Anything but "ok" makes
// VK send the event again; the ingest dedupe makes that harmless.
func (c *Channel) serveCallback(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("community")
	g := c.comms[name]
	if g == nil {
		writeText(w, http.StatusNotFound, "unknown community")
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
		writeText(w, status, "could not read the body")
		return
	}
	cb, items, err := Parse(body, name)
	if err != nil {
		c.m.callbacks.WithLabelValues(name, "other", cbBadPayload).Inc()
		c.log.Warn("vk callback not understood", "community", name, "bytes", len(body), "err", err)
		writeText(w, http.StatusBadRequest, "not a VK callback")
		return
	}
	tl := typeLabel(cb.Type)
	secretOK := subtle.ConstantTimeCompare([]byte(cb.Secret), []byte(g.cfg.Secret)) == 1
	if cb.GroupID != g.cfg.GroupID || (cb.Type != TypeConfirmation && !secretOK) ||
		(cb.Type == TypeConfirmation && cb.Secret != "" && !secretOK) {
		c.m.callbacks.WithLabelValues(name, tl, cbBadSecret).Inc()
		c.log.Warn("vk callback refused: wrong secret or group", "community", name, "type", tl,
			"has_secret", cb.Secret != "", "group_matches", cb.GroupID == g.cfg.GroupID)
		writeText(w, http.StatusForbidden, "bad secret")
		return
	}
	if cb.Type == TypeConfirmation {
		c.m.callbacks.WithLabelValues(name, tl, cbConfirmation).Inc()
		c.log.Info("vk confirmation requested: answered with the configured string", "community", name)
		writeText(w, http.StatusOK, g.cfg.Confirmation)
		return
	}
	result, err := c.handle(r.Context(), name, cb, items)
	if err != nil {
		c.m.callbacks.WithLabelValues(name, tl, cbFailed).Inc()
		c.log.Error("vk callback not stored, VK will retry", "community", name, "type", cb.Type, "event_id", truncate(cb.EventID, 64), "err", err)
		writeText(w, http.StatusInternalServerError, "temporarily unavailable")
		return
	}
	c.m.callbacks.WithLabelValues(name, tl, result).Inc()
	writeText(w, http.StatusOK, "ok")
}

// handle makes what a verified callback carries durable and returns the metric result.
func (c *Channel) handle(ctx context.Context, account string, cb *Callback, items []channels.Inbound) (string, error) {
	switch cb.Type {
	case TypeMessageAllow, TypeMessageDeny:
		user := cb.Permission()
		if user == 0 {
			return cbIgnored, nil
		}
		state := stateAllowed
		if cb.Type == TypeMessageDeny {
			state = stateDenied
			c.log.Info("vk user denied messages from the community: replies to them will fail", "community", account)
		}
		// These events carry no time: the time they arrive orders them.
		return cbState, c.setPermission(ctx, account, strconv.FormatInt(user, 10), state, truncate(cb.EventID, 64), c.d.Clock.Now())
	}
	if len(items) == 0 {
		return cbIgnored, nil
	}
	result := cbStored
	for _, in := range items {
		res, err := c.d.Ingester.Ingest(ctx, in)
		if err != nil {
			return "", err
		}
		if res.Duplicate {
			result = cbDuplicate
		}
		if in.Kind == channels.KindMessage && !in.SentAt.IsZero() {
			// A customer who writes may be answered, whatever they chose before.
			if err := c.setPermission(ctx, account, in.ContactID, stateAllowed, "", in.SentAt); err != nil {
				return "", err
			}
		}
	}
	return result, nil
}

// RandomID is the random_id of part i of outbound message id: the same on every retry, so
// VK sends it once (VK checks it per sender; it is an int32).
func RandomID(outboundID string, part int) int32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", outboundID, part)
	id := int32(h.Sum32())
	if id == 0 {
		id = 1
	}
	return id
}

// Send delivers a reply with messages.send: the text in parts of at most 4096 bytes, with
// attachment links (https) appended. A customer who forbade messages is not written to.
func (c *Channel) Send(ctx context.Context, out channels.Outbound) (channels.SendResult, error) {
	g := c.comms[out.Account]
	if g == nil {
		return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.account_not_configured", "channel", "VK", "account", out.Account))
	}
	peer, err := strconv.ParseInt(out.ContactID, 10, 64)
	if err != nil || peer <= 0 {
		return channels.SendResult{}, c.sendErr(g, channels.Permanent(locale.Errorf("failure.no_recipient", "channel", "VK")))
	}
	denied, err := c.Denied(ctx, g.cfg.Name, out.ContactID)
	if err != nil {
		return channels.SendResult{}, c.sendErr(g, fmt.Errorf("vk: read permission: %w", err))
	}
	if denied {
		return channels.SendResult{}, c.sendErr(g, channels.Permanent(locale.Errorf("failure.vk.denied")))
	}
	text := out.Text
	for _, a := range out.Attachments {
		if !strings.HasPrefix(a.Ref, "https://") {
			return channels.SendResult{}, c.sendErr(g, channels.Permanent(locale.Errorf("failure.vk.attachment", "kind", a.Kind)))
		}
		if text != "" {
			text += "\n"
		}
		text += a.Ref
	}
	parts := multipart.Split(text, MaxTextBytes)
	if len(parts) == 0 {
		return channels.SendResult{}, c.sendErr(g, channels.Permanent(locale.Errorf("failure.empty")))
	}
	first, err := multipart.Send(ctx, c.d.Redis, c.d.Keys.Channel(Name, g.cfg.Name, "out:"+out.ID), len(parts), func(i int) (string, error) {
		id, err := g.client.SendMessage(ctx, peer, RandomID(out.ID, i), parts[i])
		if err != nil {
			return "", c.explain(ctx, g, err)
		}
		return strconv.FormatInt(id, 10), nil
	})
	return channels.SendResult{ChannelMessageID: first}, c.sendErr(g, err)
}

// sendErr counts a send's result and returns err.
func (c *Channel) sendErr(g *community, err error) error {
	var ra *channels.RetryAfterError
	switch {
	case err == nil:
		c.m.sends.WithLabelValues(g.cfg.Name, sendOK).Inc()
	case errors.As(err, &ra):
		c.m.sends.WithLabelValues(g.cfg.Name, sendRateLimited).Inc()
	case channels.IsPermanent(err):
		c.m.sends.WithLabelValues(g.cfg.Name, sendPermanent).Inc()
	default:
		c.m.sends.WithLabelValues(g.cfg.Name, sendTemporary).Inc()
	}
	return err
}

// explain maps a messages.send error onto the channels error kinds.
func (c *Channel) explain(ctx context.Context, g *community, err error) error {
	var he *HTTPError
	if errors.As(err, &he) && he.Code == http.StatusTooManyRequests {
		return &channels.RetryAfterError{After: time.Second, Err: err}
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return err // network, timeout, 5xx: temporary
	}
	detail := fmt.Sprintf("error %d: %s", ae.Code, ae.Msg)
	if d, ok := retryAfter[ae.Code]; ok {
		return &channels.RetryAfterError{After: d, Err: err}
	}
	switch ae.Code {
	case ErrUnknown, ErrInternal:
		return err
	case ErrNoPermission:
		return channels.Permanent(locale.Wrap(err, "failure.vk.no_permission", "detail", detail))
	case ErrBlacklist, ErrPrivacy:
		return channels.Permanent(locale.Wrap(err, "failure.vk.blocked", "detail", detail))
	case ErrAuth, ErrGroupAuth:
		if c.d.Alerter != nil {
			if aerr := c.d.Alerter.Alert(context.WithoutCancel(ctx), Name, g.cfg.Name,
				fmt.Sprintf("VK rejected the community access token (%s): replies cannot be sent; put a new token in the environment and restart", detail)); aerr != nil {
				c.log.Warn("vk: could not raise an alert", "community", g.cfg.Name, "err", aerr)
			}
		}
		return channels.Permanent(locale.Wrap(err, "failure.vk.token", "detail", detail))
	}
	// Request-specific errors (access, parameters, length, keyboard...) will not change on
	// a retry.
	return channels.Permanent(locale.Wrap(err, "failure.vk.refused", "detail", detail))
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, s)
}
