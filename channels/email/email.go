// Package email is the e-mail channel: intake from IMAP mailboxes (IDLE, else polling; one
// reader per mailbox across gateway processes through a Redis lease; the UID position in
// Redis, advanced only after the messages are ingested and flagged) and replies over SMTP
// submission as proper replies in the customer's thread.
package email

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/lidorub/lidorub/channels"
)

// Name is the channel name (metric labels, Redis keys, the config section).
const Name = "email"

// Channel is the e-mail channel.
type Channel struct {
	cfg     Config
	d       channels.Deps
	m       *Metrics
	threads *threads
	readers map[string]*reader
	boxes   map[string]Mailbox
	order   []string

	alertMu sync.Mutex
	alerted map[string]bool // "<mailbox>/<what>": raised and not cleared by a success since
}

// alert raises an operational alert once until clear(mailbox, what) (a refused login is not
// re-raised on every reconnect or send).
func (c *Channel) alert(ctx context.Context, mailbox, what, reason string) {
	c.alertMu.Lock()
	k := mailbox + "/" + what
	first := !c.alerted[k]
	c.alerted[k] = true
	c.alertMu.Unlock()
	if first && c.d.Alerter != nil {
		if err := c.d.Alerter.Alert(ctx, Name, mailbox, reason); err != nil {
			c.d.Log.Warn("alert failed", "mailbox", mailbox, "err", err)
		}
	}
}

// clear ends an alerted condition (the login worked again).
func (c *Channel) clear(mailbox, what string) {
	c.alertMu.Lock()
	delete(c.alerted, mailbox+"/"+what)
	c.alertMu.Unlock()
}

// New builds the channel from a validated, enabled config. It makes no network calls.
func New(cfg Config, d channels.Deps) (*Channel, error) {
	if d.Ingester == nil || d.Redis == nil || d.Keys == nil {
		return nil, fmt.Errorf("email: ingester, redis and keys are required")
	}
	d = d.WithDefaults()
	d.Log = d.Log.With("channel", Name)
	c := &Channel{cfg: cfg, d: d, m: NewMetrics(d.Registerer), threads: &threads{rdb: d.Redis, keys: d.Keys},
		readers: map[string]*reader{}, boxes: map[string]Mailbox{}, alerted: map[string]bool{}}
	for _, mb := range cfg.Mailboxes {
		c.m.initMailbox(mb.Name)
		c.boxes[mb.Name] = mb
		c.readers[mb.Name] = newReader(c, mb)
		c.order = append(c.order, mb.Name)
	}
	return c, nil
}

// Register adds no routes: mail is read over IMAP.
func (c *Channel) Register(*http.ServeMux) {}

// Run reads every mailbox until ctx is cancelled.
func (c *Channel) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, name := range c.order {
		r := c.readers[name]
		wg.Go(func() { r.run(ctx) })
	}
	wg.Wait()
	return nil
}

// SyncOnce takes the mailbox's lease, connects, handles every new message and disconnects
// (tests; Run does the same continuously).
func (c *Channel) SyncOnce(ctx context.Context, mailbox string) (SyncResult, error) {
	r := c.readers[mailbox]
	if r == nil {
		return SyncResult{}, fmt.Errorf("email: no mailbox %q", mailbox)
	}
	ok, err := r.lease.Acquire(ctx)
	if err != nil || !ok {
		return SyncResult{}, err
	}
	cl, err := r.dial(ctx)
	if err != nil {
		return SyncResult{Leader: true}, err
	}
	defer cl.Close()
	return r.sync(ctx, cl)
}
