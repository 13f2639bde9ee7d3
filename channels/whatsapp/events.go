package whatsapp

import (
	"context"
	"time"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
)

// handle is the account's whatsmeow event handler. Its result is the ack decision: false
// means "not durable yet", so whatsmeow withholds the ack and WhatsApp redelivers.
func (a *account) handle(evt any) bool {
	switch e := evt.(type) {
	case *events.Message:
		return a.onMessage(e)
	case *events.Receipt:
		return a.onReceipt(e)
	case *events.Connected:
		a.setLoggedIn(true)
		a.log.Info("whatsapp connected")
	case *events.Disconnected:
		a.setLoggedIn(false)
		a.log.Warn("whatsapp connection lost; whatsmeow reconnects automatically")
	case *events.KeepAliveTimeout:
		a.log.Warn("whatsapp keepalive timed out", "errors", e.ErrorCount)
	case *events.LoggedOut:
		a.permanent("logged_out", time.Time{}, false, locale.M("alert.whatsapp.logged_out", "account", a.name))
	case *events.TemporaryBan:
		until := a.ch.d.Clock.Now().Add(e.Expire)
		if e.Expire <= 0 {
			until = a.ch.d.Clock.Now().Add(time.Hour)
		}
		a.permanent("temporary_ban", until, false, locale.M("alert.whatsapp.temporary_ban", "code", e.Code.String(),
			"until", until.UTC().Format(time.RFC3339)))
	case *events.ClientOutdated:
		a.permanent("client_outdated", time.Time{}, true, locale.M("alert.whatsapp.client_outdated"))
	case *events.StreamReplaced:
		a.permanent("stream_replaced", time.Time{}, true, locale.M("alert.whatsapp.stream_replaced"))
	case *events.UndecryptableMessage:
		// whatsmeow already asked the sender's phone to resend it; the resend arrives as a Message.
		a.log.Warn("could not decrypt a whatsapp message; a resend was requested", "message_id", e.Info.ID,
			"unavailable", e.IsUnavailable)
	case *events.ConnectFailure:
		a.log.Warn("whatsapp connect failure", "reason", int(e.Reason), "message", e.Message)
	}
	return true
}

func (a *account) setLoggedIn(v bool) {
	a.mu.Lock()
	a.loggedIn = v && a.holding
	v = a.loggedIn
	a.mu.Unlock()
	if v {
		a.ch.connected.WithLabelValues(a.name).Set(1)
	} else {
		a.ch.connected.WithLabelValues(a.name).Set(0)
	}
}

// permanent handles a disconnect whatsmeow does not recover from: park the account (the next
// step disconnects and releases the lease), tell the operator in the log, and alert.
// A zero until with forever=false means "until the device is linked again".
func (a *account) permanent(reason string, until time.Time, forever bool, what locale.Msg) {
	a.mu.Lock()
	a.loggedIn = false
	switch {
	case forever:
		a.parkForever = true
	case !until.IsZero():
		a.parkedUntil = until
	default:
		// Logged out: whatsmeow deleted the session; the next step drops this client and
		// loads the device again (found once it is re-linked).
		a.reload = true
	}
	a.mu.Unlock()
	a.ch.connected.WithLabelValues(a.name).Set(0)
	a.log.Error("whatsapp disconnected permanently: "+what.String(), "reason", reason)
	if a.ch.d.Alerter != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ingestTimeout)
		defer cancel()
		if err := a.ch.d.Alerter.Alert(ctx, channels.WhatsApp, a.name, what.Encode()); err != nil {
			a.log.Error("could not raise the whatsapp alert", "err", err)
		}
	}
	a.poke()
}

func (a *account) onMessage(e *events.Message) bool {
	ctx, cancel := a.handlerCtx()
	defer cancel()
	in, reason := a.mapper.message(ctx, e, a.ch.d.Clock.Now())
	if reason != "" {
		a.ch.ignored.WithLabelValues(a.name, reason).Inc()
		return true
	}
	res, err := a.ch.d.Ingester.Ingest(ctx, in)
	if err != nil {
		a.log.Error("could not store a whatsapp message; not acknowledging it so WhatsApp redelivers it",
			"message_id", e.Info.ID, "err", err)
		return false
	}
	if res.Duplicate {
		a.log.Debug("duplicate whatsapp message", "message_id", e.Info.ID)
	}
	return true
}

// onReceipt turns delivery/read receipts of messages this gateway sent into status items.
// Receipts of messages written on the phone itself are acknowledged and dropped.
func (a *account) onReceipt(e *events.Receipt) bool {
	items := a.mapper.receipt(e, a.ch.d.Clock.Now())
	if len(items) == 0 {
		return true
	}
	ctx, cancel := a.handlerCtx()
	defer cancel()
	pipe := a.ch.d.Redis.Pipeline()
	checks := make([]interface{ Val() int64 }, len(items))
	for i, in := range items {
		checks[i] = pipe.Exists(ctx, a.ch.sentKey(a.name, in.Meta["ref"]))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		a.log.Error("could not look up a whatsapp receipt; not acknowledging it", "err", err)
		return false
	}
	for i, in := range items {
		if checks[i].Val() == 0 {
			continue
		}
		if _, err := a.ch.d.Ingester.Ingest(ctx, in); err != nil {
			a.log.Error("could not store a whatsapp receipt; not acknowledging it", "message_id", in.Meta["ref"], "err", err)
			return false
		}
	}
	return true
}
