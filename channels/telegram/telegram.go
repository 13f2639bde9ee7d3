// Package telegram is the Telegram channel: customer-facing bots receiving updates by our own
// getUpdates loop (offset in Redis, advanced only after the updates are ingested; one poller
// per bot across instances via a Redis lease) or by webhook (secret token checked in constant
// time), and a Sender for replies with Telegram's rate limits and error classes.
//
// The staff bot (package staffbot) plugs in through SetStaffHandler; when it uses the token
// of a customer bot, updates from lead-managers on that bot go to it instead of the ingest.
package telegram

import (
	"context"
	"fmt"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
)

// Name is the channel name (metric labels, Redis keys, the config section).
const Name = channels.Telegram

// StaffName is the account name of the staff bot's own poller (Redis keys, metrics).
const StaffName = "staff"

// StaffHandler receives the updates of the staff bot.
type StaffHandler interface {
	// HandleStaffUpdate handles an update sent to the staff bot. shared is true when that bot
	// also serves customers: return handled=false to have the update ingested as a customer
	// message instead. An error makes the update be read again later.
	HandleStaffUpdate(ctx context.Context, u *tgbotapi.Update, shared bool) (handled bool, err error)
}

// Channel is the Telegram channel.
type Channel struct {
	cfg     Config
	d       channels.Deps
	m       *Metrics
	bots    map[string]*bot
	order   []string
	clients map[string]*Client // by token

	staffShared string // customer bot the staff bot shares ("" = own token or none)
	staffClient *Client
	mu          sync.RWMutex
	staff       StaffHandler
	staffPoller *Poller
}

type bot struct {
	cfg    BotConfig
	client *Client
	poller *Poller
}

// New builds the channel from a validated, enabled config. It makes no network calls.
func New(cfg Config, d channels.Deps) (*Channel, error) {
	if d.Ingester == nil || d.Redis == nil {
		return nil, fmt.Errorf("telegram: ingester and redis are required")
	}
	d = d.WithDefaults()
	d.Log = d.Log.With("channel", Name)
	c := &Channel{cfg: cfg, d: d, m: NewMetrics(d.Registerer), bots: map[string]*bot{}, clients: map[string]*Client{}}
	for _, bc := range cfg.Bots {
		cl := c.clientFor(bc.Token)
		b := &bot{cfg: bc, client: cl}
		c.m.initBot(bc.Name)
		if bc.Mode == ModePolling {
			b.poller = NewPoller(bc.Name, cl, d.Redis, d.Keys, cfg.LeaseTTL,
				func(ctx context.Context, u *tgbotapi.Update) error { return c.dispatch(ctx, b, u) },
				d.Log, c.m, d.Alerter)
		}
		c.bots[bc.Name] = b
		c.order = append(c.order, bc.Name)
	}
	if cfg.Staff.Token != "" {
		c.staffShared = cfg.SharedBot()
		c.staffClient = c.clientFor(cfg.Staff.Token)
		if c.staffShared == "" {
			c.staffPoller = NewPoller(StaffName, c.staffClient, d.Redis, d.Keys, cfg.LeaseTTL, c.staffUpdate, d.Log, c.m, d.Alerter)
		}
	}
	return c, nil
}

func (c *Channel) clientFor(token string) *Client {
	if cl := c.clients[token]; cl != nil {
		return cl
	}
	cl := NewClient(&c.cfg, token)
	c.clients[token] = cl
	return cl
}

// Metrics returns the channel's metrics (the staff bot counts its updates there too).
func (c *Channel) Metrics() *Metrics { return c.m }

// StaffClient is the Bot API client of the staff bot (nil without staff.token).
func (c *Channel) StaffClient() *Client { return c.staffClient }

// StaffSharedBot is the customer bot the staff bot shares its token with ("" if none).
func (c *Channel) StaffSharedBot() string { return c.staffShared }

// SetStaffHandler connects the staff bot. Call before Run.
func (c *Channel) SetStaffHandler(h StaffHandler) {
	c.mu.Lock()
	c.staff = h
	c.mu.Unlock()
}

func (c *Channel) staffHandler() StaffHandler {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.staff
}

// Poller returns the poller of a bot in polling mode (StaffName: the staff bot's own), or nil.
func (c *Channel) Poller(name string) *Poller {
	if name == StaffName {
		return c.staffPoller
	}
	if b := c.bots[name]; b != nil {
		return b.poller
	}
	return nil
}

// Run polls the polling bots, registers the webhooks of the others and, for a staff bot with
// its own token, polls it. It returns when ctx is cancelled and every goroutine has stopped.
func (c *Channel) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for token, cl := range c.clients {
		wg.Go(func() { c.checkToken(ctx, token, cl) })
	}
	for _, name := range c.order {
		b := c.bots[name]
		if b.poller != nil {
			wg.Go(func() { _ = b.poller.Run(ctx) })
		} else {
			wg.Go(func() { c.registerWebhook(ctx, b) })
		}
	}
	if c.staffPoller != nil && c.staffHandler() != nil {
		wg.Go(func() { _ = c.staffPoller.Run(ctx) })
	}
	wg.Wait()
	return nil
}

// checkToken calls getMe once and logs which bot a token belongs to; a rejected token raises
// an alert. The loops do not wait for it.
func (c *Channel) checkToken(ctx context.Context, token string, cl *Client) {
	names := []string{}
	for _, n := range c.order {
		if c.bots[n].cfg.Token == token {
			names = append(names, n)
		}
	}
	if token == c.cfg.Staff.Token && c.staffShared == "" {
		names = append(names, StaffName)
	}
	me, err := cl.Me(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.d.Log.Warn("telegram getMe failed", "bots", names, "err", err)
			if e := APIError(err); e != nil && (e.Code == 401 || e.Code == 404) && c.d.Alerter != nil && len(names) > 0 {
				_ = c.d.Alerter.Alert(ctx, channels.Telegram, names[0], locale.M("alert.telegram.token").Encode())
			}
		}
		return
	}
	c.d.Log.Info("telegram bot ready", "bots", names, "username", me.UserName, "bot_id", me.ID)
}

// dispatch handles one update of a customer bot: to the staff bot when it shares the bot and
// wants it, else mapped and ingested.
func (c *Channel) dispatch(ctx context.Context, b *bot, u *tgbotapi.Update) error {
	name := b.cfg.Name
	if name == c.staffShared {
		if h := c.staffHandler(); h != nil {
			handled, err := h.HandleStaffUpdate(ctx, u, true)
			if err != nil {
				return err
			}
			if handled {
				c.m.updates.WithLabelValues(name, resStaff).Inc()
				return nil
			}
		}
	}
	in, ok, reason := mapUpdate(name, b.cfg.AllowGroups, u)
	if !ok {
		c.m.updates.WithLabelValues(name, resIgnored).Inc()
		c.d.Log.Debug("telegram update ignored", "bot", name, "update_id", u.UpdateID, "reason", reason)
		return nil
	}
	in.ReceivedAt = c.d.Clock.Now()
	res, err := c.d.Ingester.Ingest(ctx, in)
	if err != nil {
		return fmt.Errorf("ingest telegram update %d: %w", u.UpdateID, err)
	}
	if res.Duplicate {
		c.m.updates.WithLabelValues(name, resDuplicate).Inc()
	} else {
		c.m.updates.WithLabelValues(name, resIngested).Inc()
	}
	// The message id is "<chat id>:<message id>": the chat id is the customer's Telegram id,
	// personal data, so only the update id and the lead's stream entry go to the log.
	c.d.Log.Debug("telegram update ingested", "bot", name, "update_id", u.UpdateID, "lead_id", res.EntryID,
		"duplicate", res.Duplicate, "text_bytes", len(in.Text), "attachments", len(in.Attachments))
	return nil
}

// staffUpdate handles an update of the staff bot's own token.
func (c *Channel) staffUpdate(ctx context.Context, u *tgbotapi.Update) error {
	h := c.staffHandler()
	if h == nil {
		return nil
	}
	if _, err := h.HandleStaffUpdate(ctx, u, false); err != nil {
		return err
	}
	c.m.updates.WithLabelValues(StaffName, resStaff).Inc()
	return nil
}

// registerWebhook calls setWebhook with the secret token, retrying until it succeeds.
func (c *Channel) registerWebhook(ctx context.Context, b *bot) {
	wait := time.Second
	for ctx.Err() == nil {
		err := c.SetWebhook(ctx, b.cfg.Name)
		if err == nil {
			c.d.Log.Info("telegram webhook registered", "bot", b.cfg.Name)
			return
		}
		if e := APIError(err); e != nil && (e.Code == 401 || e.Code == 404) && c.d.Alerter != nil {
			_ = c.d.Alerter.Alert(ctx, channels.Telegram, b.cfg.Name, locale.M("alert.telegram.token_webhook").Encode())
		}
		c.d.Log.Warn("telegram setWebhook failed", "bot", b.cfg.Name, "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, 5*time.Minute)
	}
}

// SetWebhook registers the bot's webhook URL with its secret_token (the library's
// WebhookConfig has no secret_token field, so this goes through MakeRequest).
func (c *Channel) SetWebhook(ctx context.Context, name string) error {
	b := c.bots[name]
	if b == nil || b.cfg.Mode != ModeWebhook {
		return fmt.Errorf("telegram: bot %q is not in webhook mode", name)
	}
	params := tgbotapi.Params{
		"url":          b.cfg.WebhookURL,
		"secret_token": b.cfg.WebhookSecret,
	}
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return err
	}
	_, err := b.client.Call(ctx, "setWebhook", params)
	return err
}

var _ channels.OptionalSender = (*Channel)(nil)

// Sends reports whether the channel has customer bots to reply with (a configuration with
// only the staff bot has none).
func (c *Channel) Sends() bool { return len(c.cfg.Bots) > 0 }
