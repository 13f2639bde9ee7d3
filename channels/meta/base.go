package meta

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
)

// Base is what every Meta channel holds the same way: its Redis state, clock and logger, the
// Graph API client, the customers' messaging windows and the webhook. A channel embeds it
// (Register and Handler come with it) and adds its accounts, its parser and its sender.
type Base struct {
	RDB     redis.UniversalClient
	Keys    channels.Keys
	Clock   channels.Clock
	Log     *slog.Logger
	Graph   *Graph
	Window  Window
	Webhook *Webhook
	path    string
}

// NewBase wires a Meta channel from its AppConfig and d: the webhook at path (w's Channel,
// Parse and AfterIngest set by the caller) and the Graph client for accounts.
func (c *AppConfig) NewBase(path string, w Webhook, accounts []string, d channels.Deps) (*Base, error) {
	d = d.WithDefaults()
	b := &Base{RDB: d.Redis, Keys: d.Keys, Clock: d.Clock, Log: d.Log.With("channel", w.Channel), path: path,
		Window: Window{RDB: d.Redis, Keys: d.Keys, Channel: w.Channel}}
	w.Ingester, w.Log = d.Ingester, b.Log
	var err error
	b.Graph, b.Webhook, err = c.Wire(w, accounts, d.Registerer, d.Alerter, d.Clock)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Register adds GET and POST of the channel's webhook path to mux.
func (b *Base) Register(mux *http.ServeMux) { b.Webhook.Register(mux, b.path) }

// Handler returns the webhook handler alone (GET and POST), for tests and custom muxes.
func (b *Base) Handler() http.Handler { return b.Webhook.Handler(b.path) }

// TouchWindow records a customer's message in their messaging window, at its sending time
// (or now, when it has none or claims to come from the future).
func (b *Base) TouchWindow(ctx context.Context, in channels.Inbound) error {
	at := in.SentAt
	if now := b.Clock.Now(); at.IsZero() || at.After(now) {
		at = now
	}
	return b.Window.Touch(ctx, in.Account, in.ContactID, at)
}
