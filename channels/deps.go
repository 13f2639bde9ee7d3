package channels

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Deps is what every adapter's New receives: the same struct for every channel.
type Deps struct {
	Ingester   Ingester              // required: makes inbound items durable
	Redis      redis.UniversalClient // required: the adapter's own state (offsets, leases, windows)
	Keys       Keys                  // required: builds the adapter's Redis keys
	Clock      Clock                 // nil: the real clock
	Log        *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: the adapter's metrics are not exported
	Alerter    Alerter               // nil: no operational alerts
	Instance   string                // this process's id (leases, status)
}

// WithDefaults returns d with a real clock and a discarding logger where none is set.
func (d Deps) WithDefaults() Deps {
	if d.Clock == nil {
		d.Clock = realClock{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return d
}

// Keys builds Redis key names; store.Keys implements it. Every key of an adapter comes
// from here, so one instance's keys share a prefix and the hash tags Redis Cluster needs.
type Keys interface {
	// Channel is a key of the adapter's own state (one hash-tag group per channel account).
	Channel(channel, account, name string) string
	// Lease is the key of a named lease (one process holds a connection or a poller).
	Lease(name string) string
	// Pseudonym is a stable, non-reversible name (a salted hash) for a personal identifier
	// (a phone number, a chat id) to use inside key names, so no key names a customer.
	Pseudonym(id string) string
}

// Clock tells the time; clock.Real and clock.Fake implement it.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Channel is what every adapter's *Channel provides: its HTTP routes (none for a channel
// that only polls or holds a connection).
type Channel interface {
	Register(mux *http.ServeMux)
}

// Runner is a channel with long-running work (pollers, connections). Run returns when ctx
// is cancelled and everything it started has stopped.
type Runner interface {
	Run(ctx context.Context) error
}

// OptionalSender is a Sender that may have nothing to send with (a Telegram configuration
// with only the staff bot): it is registered for its channel only when Sends reports true.
type OptionalSender interface {
	Sender
	Sends() bool
}

// Forgetter is a channel that keeps its own copy of a contact's messages (the website chat's
// session history) outside the router's keys. The router's forget job calls Forget after a
// conversation of that contact was erased (on request or at the end of its retention), and
// keeps the job queued, retrying on the next sweep, until Forget returns nil. Forget must be
// idempotent (a job can run again after a crash) and must not put the contact id or any
// personal data in its error.
type Forgetter interface {
	Forget(ctx context.Context, account, contactID string) error
}
