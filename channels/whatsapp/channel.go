// Package whatsapp connects ordinary WhatsApp numbers as linked devices (like WhatsApp Web)
// through go.mau.fi/whatsmeow.
//
// Every configured account has its own device session in a SQL store (one SQLite file per
// account, or one Postgres database). Only one gateway process may hold an account's
// connection at a time (WhatsApp disconnects the older one with StreamReplaced), so serve
// takes a Redis lease per account and connects only while it holds it.
//
// Inbound is at least once: whatsmeow acknowledges a message to WhatsApp only after our event
// handler returned true (SynchronousAck), and the handler returns true only after the message
// is durable in Redis. Outbound messages get a WhatsApp message id derived from Outbound.ID,
// so a retried send is the same message for the recipient.
package whatsapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/store"
)

// clientFactory returns a client for account's linked device, or ErrNotLinked.
type clientFactory func(ctx context.Context, account string) (Client, error)

// Channel is the WhatsApp linked-device channel: it runs every configured account and is the
// channels.Sender for channels.WhatsApp.
type Channel struct {
	cfg     Config
	d       channels.Deps
	devices *DeviceStore // nil in tests with a fake factory
	factory clientFactory

	connected *prometheus.GaugeVec
	ignored   *prometheus.CounterVec

	names    []string
	accounts map[string]*account

	forwardTimeout time.Duration // how long a non-holder waits for the holder to send
}

// openTimeout bounds opening (and upgrading) the device store in New.
const openTimeout = time.Minute

// Name is the channel name (metric labels, Redis keys, the config section).
const Name = channels.WhatsApp

// ingestTimeout bounds one Redis write from an event handler (whatsmeow handles events of a
// connection one at a time).
const ingestTimeout = 10 * time.Second

// New opens the device store and returns the channel. Call Run to connect, Close at the end.
// d.Registerer gets the lidorub_whatsapp_* metrics; d.Instance is shown by `lidorub whatsapp
// status`.
func New(cfg Config, d channels.Deps) (*Channel, error) {
	libLog := newLibLogger(d.Log, cfg.LibraryLogLevel)
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	devices, err := OpenDeviceStore(ctx, cfg.Store, libLog)
	if err != nil {
		return nil, err
	}
	factory := func(ctx context.Context, account string) (Client, error) {
		dev, err := devices.Device(ctx, account)
		if err != nil {
			return nil, err
		}
		return newWAClient(dev, libLog.Sub(account)), nil
	}
	c, err := newChannel(cfg, d, factory)
	if err != nil {
		_ = devices.Close()
		return nil, err
	}
	c.devices = devices
	return c, nil
}

func newChannel(cfg Config, d channels.Deps, factory clientFactory) (*Channel, error) {
	if d.Ingester == nil || d.Redis == nil {
		return nil, errors.New("whatsapp: ingester and redis are required")
	}
	d = d.WithDefaults()
	d.Log = d.Log.With("channel", Name)
	c := &Channel{
		cfg: cfg, d: d, factory: factory,
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lidorub_whatsapp_connected",
			Help: "1 while this process holds the account's WhatsApp connection and is logged in, else 0."}, []string{"account"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_whatsapp_ignored_total",
			Help: "WhatsApp messages acknowledged but not ingested, per account and reason (group, status, from_me, chat, unsupported)."},
			[]string{"account", "reason"}),
		accounts:       map[string]*account{},
		forwardTimeout: DefaultForwardTimeout,
	}
	if d.Registerer != nil {
		if err := d.Registerer.Register(c.connected); err != nil {
			return nil, fmt.Errorf("whatsapp metrics: %w", err)
		}
		if err := d.Registerer.Register(c.ignored); err != nil {
			return nil, fmt.Errorf("whatsapp metrics: %w", err)
		}
	}
	for _, name := range cfg.AccountNames() {
		c.connected.WithLabelValues(name).Set(0)
		for _, r := range ignoreReasons {
			c.ignored.WithLabelValues(name, r)
		}
		a := &account{
			ch:     c,
			name:   name,
			log:    d.Log.With("account", name),
			lease:  store.NewLease(d.Redis, d.Keys.Lease("whatsapp:"+name), cfg.LeaseTTL),
			runCtx: context.Background(),
			wake:   make(chan struct{}, 1),
		}
		a.mapper = mapper{account: name, allowGroups: cfg.AllowGroups, allowFromMe: cfg.AllowFromMe, pnForLID: a.pnForLID}
		c.names = append(c.names, name)
		c.accounts[name] = a
	}
	return c, nil
}

// Register adds nothing: the channel holds a connection per account, it has no webhook.
func (c *Channel) Register(*http.ServeMux) {}

// Run keeps every account connected while this process holds its lease, until ctx is
// cancelled; then it disconnects, releases the leases and returns.
func (c *Channel) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, name := range c.names {
		a := c.accounts[name]
		wg.Go(func() { a.run(ctx) })
	}
	wg.Wait()
	return nil
}

// Step runs one round of lease handling for every account (Run does this every LeaseTTL/3).
func (c *Channel) Step(ctx context.Context) error {
	var errs []error
	for _, name := range c.names {
		errs = append(errs, c.accounts[name].step(ctx))
	}
	return errors.Join(errs...)
}

// Close closes the device store.
func (c *Channel) Close() error {
	if c.devices == nil {
		return nil
	}
	return c.devices.Close()
}

// account is one WhatsApp number and its connection state in this process.
type account struct {
	ch     *Channel
	name   string
	log    *slog.Logger
	lease  *store.Lease
	mapper mapper
	wake   chan struct{}

	stepMu sync.Mutex // one step at a time

	mu           sync.Mutex
	runCtx       context.Context // the connection's context (Run's ctx)
	client       Client          // nil until the device is loaded
	holding      bool            // we hold the lease and have (tried to) connect
	lastRenew    time.Time
	connectFail  bool            // the last Connect returned an error: retry at the next step
	loggedIn     bool            // between Connected and a disconnect
	parkedUntil  time.Time       // after a permanent disconnect: do not connect before (zero: not parked)
	parkForever  bool            // until this process restarts (client outdated, stream replaced)
	notLinkedLog bool            // "not linked" was logged already
	reload       bool            // logged out: drop the client and load the device again
	connecting   bool            // a Connect call is in flight
	bg           *sync.WaitGroup // set by run: Connect runs in the background (it can take a minute)
}

func (a *account) run(ctx context.Context) {
	a.mu.Lock()
	a.runCtx = ctx
	a.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	a.mu.Lock()
	a.bg = &wg
	a.mu.Unlock()
	wg.Go(func() { a.serveForwarded(ctx) })
	interval := a.lease.TTL() / 3
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := a.step(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("whatsapp account step failed", "err", err)
		}
		select {
		case <-ctx.Done():
			a.shutdown()
			return
		case <-t.C:
		case <-a.wake:
		}
	}
}

// shutdown disconnects and gives the lease back so another instance can take over at once.
func (a *account) shutdown() {
	a.stepMu.Lock()
	defer a.stepMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.drop(ctx, true)
}

// drop disconnects; with release it also gives the lease back. Caller holds stepMu.
func (a *account) drop(ctx context.Context, release bool) {
	a.mu.Lock()
	c, holding := a.client, a.holding
	a.holding, a.loggedIn, a.connectFail = false, false, false
	a.mu.Unlock()
	if c != nil {
		c.Disconnect()
	}
	a.ch.connected.WithLabelValues(a.name).Set(0)
	if holding && release {
		if err := a.lease.Release(ctx); err != nil {
			a.log.Warn("could not release the whatsapp lease; it lapses after its TTL", "err", err)
		}
	}
	if holding {
		_ = a.ch.d.Redis.Del(ctx, a.statusKey()).Err()
	}
}

func (a *account) statusKey() string {
	return a.ch.d.Keys.Channel(channels.WhatsApp, a.name, "status")
}

// step does one round: load the device, take or renew the lease, connect, or disconnect when
// the lease is lost or the account is parked after a permanent disconnect.
func (a *account) step(ctx context.Context) error {
	a.stepMu.Lock()
	defer a.stepMu.Unlock()
	now := a.ch.d.Clock.Now()

	a.mu.Lock()
	parked := a.parkForever || now.Before(a.parkedUntil)
	reload := a.reload
	live := a.holding || (a.client != nil && a.client.IsConnected())
	a.mu.Unlock()
	if (parked && live) || reload {
		a.drop(ctx, true)
		if !parked {
			a.mu.Lock()
			a.client, a.reload = nil, false
			a.mu.Unlock()
		}
	}
	if parked {
		return nil
	}
	a.mu.Lock()
	holding, client, runCtx := a.holding, a.client, a.runCtx
	a.mu.Unlock()

	if client == nil {
		c, err := a.ch.factory(ctx, a.name)
		if errors.Is(err, ErrNotLinked) {
			a.mu.Lock()
			first := !a.notLinkedLog
			a.notLinkedLog = true
			a.mu.Unlock()
			if first {
				a.log.Warn("whatsapp account is not linked: run `lidorub whatsapp link --account " + a.name + "` (serve picks it up without a restart)")
			}
			if holding {
				a.drop(ctx, true)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("load whatsapp device: %w", err)
		}
		c.AddEventHandlerWithSuccessStatus(a.handle)
		a.mu.Lock()
		a.client, a.notLinkedLog = c, false
		a.mu.Unlock()
		client = c
	}

	if !holding {
		ok, err := a.lease.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("acquire whatsapp lease: %w", err)
		}
		if !ok {
			return nil // another instance holds the connection
		}
		a.mu.Lock()
		a.holding, a.lastRenew = true, now
		a.mu.Unlock()
		a.log.Info("holding the whatsapp lease: connecting")
		a.startConnect(runCtx, client)
		a.writeStatus(ctx)
		return nil
	}

	ok, err := a.lease.Renew(ctx)
	if err != nil {
		a.mu.Lock()
		since := now.Sub(a.lastRenew)
		a.mu.Unlock()
		if since >= 2*a.lease.TTL()/3 {
			// The lease may lapse before we can renew it: another instance could connect and
			// WhatsApp would replace one of us. Step back first.
			a.log.Error("cannot renew the whatsapp lease (Redis unreachable): disconnecting before it lapses", "err", err)
			a.drop(ctx, false)
		}
		return fmt.Errorf("renew whatsapp lease: %w", err)
	}
	if !ok {
		a.log.Warn("lost the whatsapp lease to another instance: disconnecting")
		a.drop(ctx, false)
		return nil
	}
	a.mu.Lock()
	a.lastRenew = now
	retry := a.connectFail
	a.mu.Unlock()
	if retry {
		a.startConnect(runCtx, client)
	}
	a.writeStatus(ctx)
	return nil
}

// startConnect connects c, in the background when running under Run: dialling and the
// handshake can take longer than the lease TTL, and renewals must go on meanwhile.
func (a *account) startConnect(ctx context.Context, c Client) {
	a.mu.Lock()
	if a.connecting {
		a.mu.Unlock()
		return
	}
	a.connecting = true
	bg := a.bg
	a.mu.Unlock()
	if bg != nil {
		bg.Go(func() { a.connect(ctx, c) })
		return
	}
	a.connect(ctx, c)
}

func (a *account) connect(ctx context.Context, c Client) {
	err := c.Connect(ctx)
	if errors.Is(err, whatsmeow.ErrAlreadyConnected) {
		err = nil
	}
	a.mu.Lock()
	a.connecting = false
	a.connectFail = err != nil
	lost := !a.holding
	a.mu.Unlock()
	if err != nil {
		a.log.Warn("whatsapp connect failed; retrying at the next lease renewal", "err", err)
		return
	}
	if lost { // the lease went away while we were connecting
		c.Disconnect()
	}
}

// writeStatus publishes this account's state for `lidorub whatsapp status`.
func (a *account) writeStatus(ctx context.Context) {
	a.mu.Lock()
	connected := a.holding && a.loggedIn
	a.mu.Unlock()
	key := a.statusKey()
	pipe := a.ch.d.Redis.TxPipeline()
	pipe.HSet(ctx, key, "instance", a.ch.d.Instance, "connected", boolString(connected),
		"updated", a.ch.d.Clock.Now().Unix())
	pipe.PExpire(ctx, key, a.lease.TTL())
	_, _ = pipe.Exec(ctx)
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// liveClient returns the client when this process holds the account's connection.
func (a *account) liveClient() Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.holding || a.client == nil {
		return nil
	}
	return a.client
}

func (a *account) pnForLID(ctx context.Context, lid types.JID) (types.JID, error) {
	a.mu.Lock()
	c := a.client
	a.mu.Unlock()
	if c == nil {
		return types.JID{}, errors.New("no client")
	}
	return c.PNForLID(ctx, lid)
}

func (a *account) handlerCtx() (context.Context, context.CancelFunc) {
	a.mu.Lock()
	ctx := a.runCtx
	a.mu.Unlock()
	return context.WithTimeout(context.WithoutCancel(ctx), ingestTimeout)
}

func (a *account) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Send delivers a text reply. The WhatsApp message id is derived from out.ID (and remembered
// in Redis), so a retried send reuses it and the recipient's app shows one message. When
// another gateway process holds the account, the send is handed to it (see forward.go).
func (c *Channel) Send(ctx context.Context, out channels.Outbound) (channels.SendResult, error) {
	name := out.Account
	if name == "" && len(c.names) == 1 {
		name = c.names[0]
	}
	a := c.accounts[name]
	if a == nil {
		return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.account_not_configured", "channel", "WhatsApp", "account", name))
	}
	if _, err := contactJID(out.ContactID); err != nil {
		return channels.SendResult{}, channels.Permanent(locale.Wrap(err, "failure.no_recipient", "channel", "WhatsApp"))
	}
	if outboundText(out) == "" {
		return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.whatsapp.no_text"))
	}
	if client := a.liveClient(); client != nil {
		return c.sendLocal(ctx, a, client, out)
	}
	// Another process may hold the account's connection: hand the send to it.
	elsewhere, err := a.heldElsewhere(ctx)
	if err != nil {
		return channels.SendResult{}, fmt.Errorf("whatsapp: read the account lease: %w", err)
	}
	if !elsewhere {
		return channels.SendResult{}, fmt.Errorf("whatsapp account %q is not connected (no gateway process holds it)", name)
	}
	return c.forward(ctx, a, out)
}

// sendLocal sends on this process's connection.
func (c *Channel) sendLocal(ctx context.Context, a *account, client Client, out channels.Outbound) (channels.SendResult, error) {
	if !client.IsConnected() {
		return channels.SendResult{}, fmt.Errorf("whatsapp account %q is not connected right now", a.name)
	}
	to, err := contactJID(out.ContactID)
	if err != nil {
		return channels.SendResult{}, channels.Permanent(locale.Wrap(err, "failure.no_recipient", "channel", "WhatsApp"))
	}
	id, err := c.messageID(ctx, a.name, out)
	if err != nil {
		return channels.SendResult{}, err
	}
	resp, err := client.SendMessage(ctx, to, &waE2E.Message{Conversation: proto.String(outboundText(out))},
		whatsmeow.SendRequestExtra{ID: id})
	if err != nil {
		return channels.SendResult{}, redacted{fmt.Errorf("whatsapp send: %w", err)}
	}
	if resp.ID != "" {
		id = resp.ID
	}
	return channels.SendResult{ChannelMessageID: id}, nil
}

// sentTTL is how long the Outbound.ID -> message id mapping is kept (longer than any retry).
const sentTTL = 8 * 24 * time.Hour

// messageID returns the WhatsApp message id for out: the one used by an earlier attempt if
// Redis remembers it, else one derived from out.ID. It also records id -> outbound, so only
// receipts of our own messages become status items.
func (c *Channel) messageID(ctx context.Context, account string, out channels.Outbound) (string, error) {
	derived := DeriveMessageID(account, out.ID)
	key := c.d.Keys.Channel(channels.WhatsApp, account, "out:"+out.ID)
	prev, err := c.d.Redis.SetArgs(ctx, key, derived, redis.SetArgs{Mode: "NX", Get: true, TTL: sentTTL}).Result()
	id := derived
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return "", fmt.Errorf("whatsapp: remember message id: %w", err)
	case prev != "":
		id = prev
	}
	if err := c.d.Redis.Set(ctx, c.sentKey(account, id), out.ID, sentTTL).Err(); err != nil {
		return "", fmt.Errorf("whatsapp: remember message id: %w", err)
	}
	return id, nil
}

func (c *Channel) sentKey(account, messageID string) string {
	return c.d.Keys.Channel(channels.WhatsApp, account, "sent:"+messageID)
}

// DeriveMessageID is the WhatsApp message id of an outbound message: the format whatsmeow's
// GenerateMessageID uses ("3EB0" + 18 hex digits), taken from a hash of account and outbound
// id instead of the clock and random bytes.
func DeriveMessageID(account, outboundID string) string {
	sum := sha256.Sum256([]byte("lidorub/whatsapp\x00" + account + "\x00" + outboundID))
	return "3EB0" + strings.ToUpper(hex.EncodeToString(sum[:9]))
}

// contactJID parses an Inbound/Outbound ContactID: a phone number (digits, "+" allowed) or
// a full JID such as "123456789@lid".
func contactJID(id string) (types.JID, error) {
	if strings.Contains(id, "@") {
		j, err := types.ParseJID(id)
		if err != nil || (j.Server != types.DefaultUserServer && j.Server != types.HiddenUserServer) {
			return types.JID{}, errors.New("whatsapp: contact id is not a user")
		}
		return j.ToNonAD(), nil
	}
	digits := strings.TrimPrefix(id, "+")
	if len(digits) < 5 || strings.Trim(digits, "0123456789") != "" {
		return types.JID{}, errors.New("whatsapp: contact id is not a phone number")
	}
	return types.NewJID(digits, types.DefaultUserServer), nil
}

// outboundText is the text plus links of attachments given by URL (media upload comes later).
func outboundText(out channels.Outbound) string {
	parts := []string{}
	if t := strings.TrimSpace(out.Text); t != "" {
		parts = append(parts, t)
	}
	for _, at := range out.Attachments {
		if strings.HasPrefix(at.Ref, "https://") || strings.HasPrefix(at.Ref, "http://") {
			parts = append(parts, at.Ref)
		}
	}
	return strings.Join(parts, "\n")
}

var _ channels.Sender = (*Channel)(nil)

// redacted hides phone-number-like digit runs (whatsmeow errors name JIDs) from an error's
// text, which ends up in logs; errors.Is/As still see the original.
type redacted struct{ err error }

func (r redacted) Error() string { return digitRun.ReplaceAllString(r.err.Error(), "…") }
func (r redacted) Unwrap() error { return r.err }
