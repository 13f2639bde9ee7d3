// Package channeltest is the contract every channel adapter passes, in the spirit of
// watermill's pub/sub test suite and of courier's table of channel handler tests: one Run
// that every adapter's tests call with its own fake upstream, against a real Redis (the
// durability of an acknowledged item is the point).
//
// The contract:
//   - an upstream is acknowledged only once the item is durable in the inbound stream;
//   - a duplicate delivery of one item is one stored item;
//   - when the ingest fails (Redis down) the upstream is not acknowledged, so it retries
//     (HTTP 5xx, no ack, offset not moved), and nothing is stored;
//   - a delivery with a bad signature or secret stores nothing and is not acknowledged;
//   - a sender's permanent failures are channels.Permanent and its rate limits are a
//     *channels.RetryAfterError.
//
// It also holds the helpers the adapters' own tests share (Stored).
package channeltest

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

// Upstream is an adapter built for one contract case together with its fake upstream.
type Upstream interface {
	// Deliver has the upstream deliver item id (the same item for the same id: a
	// redelivery) and reports whether the upstream got its acknowledgement (a 2xx answer,
	// an offset moved past it, an ack to the socket).
	Deliver(t *testing.T, id string) (acked bool)
}

// Forger is an Upstream whose deliveries are authenticated (a signature, a secret token).
type Forger interface {
	// DeliverForged delivers item id with a wrong signature or secret and reports whether
	// it was acknowledged.
	DeliverForged(t *testing.T, id string) (acked bool)
}

// SendFailer is an Upstream with a sender.
type SendFailer interface {
	// SendRefused has the fake upstream refuse a message for good (blocked, unknown
	// recipient...) and returns the error of the adapter's Send.
	SendRefused(t *testing.T) error
	// SendRateLimited has the fake upstream answer "too many requests, retry later" and
	// returns the error of the adapter's Send.
	SendRateLimited(t *testing.T) error
}

// Env is one case's Redis: a fresh key prefix on the test Redis, and a fake clock.
type Env struct {
	Redis *redis.Client
	Keys  store.Keys
	Clock *clock.Fake
	ing   *switchIngester
}

// switchIngester is a store.Ingest on the test Redis, or, while down, one on a Redis that
// cannot be reached (a closed port): every Ingest then fails as it would in production.
type switchIngester struct {
	mu         sync.Mutex
	up, broken channels.Ingester
	down       bool
}

func (s *switchIngester) Ingest(ctx context.Context, in channels.Inbound) (channels.IngestResult, error) {
	s.mu.Lock()
	ing := s.up
	if s.down {
		ing = s.broken
	}
	s.mu.Unlock()
	return ing.Ingest(ctx, in)
}

// NewEnv returns an Env on the test Redis (REDIS_URL, see internal/redistest).
func NewEnv(t *testing.T) *Env {
	t.Helper()
	rdb, prefix := redistest.New(t)
	e := &Env{Redis: rdb, Keys: store.NewKeys(prefix), Clock: clock.NewFake(time.Date(2026, 1, 12, 10, 0, 0, 0, time.UTC))}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	dead := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { dead.Close() })
	e.ing = &switchIngester{up: store.NewIngest(rdb, e.Keys, e.Clock, nil), broken: store.NewIngest(dead, e.Keys, e.Clock, nil)}
	return e
}

// Deps are channel dependencies whose ingester writes to the Env's Redis (see IngestDown).
func (e *Env) Deps() channels.Deps {
	return channels.Deps{Ingester: e.ing, Redis: e.Redis, Keys: e.Keys, Clock: e.Clock}
}

// IngestDown makes every Ingest of Deps' ingester fail (its Redis is unreachable) until
// IngestDown(false). The channel's own state stays on the Env's Redis.
func (e *Env) IngestDown(down bool) {
	e.ing.mu.Lock()
	e.ing.down = down
	e.ing.mu.Unlock()
}

// Stored returns the items of the inbound stream, oldest first.
func (e *Env) Stored(t testing.TB) []channels.Inbound { return Stored(t, e.Redis, e.Keys) }

// Stored returns the items of the inbound stream of keys, oldest first.
func Stored(t testing.TB, rdb redis.UniversalClient, keys store.Keys) []channels.Inbound {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), keys.Inbound(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []channels.Inbound
	for _, m := range msgs {
		in, err := store.DecodeInbound(m.Values)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, in)
	}
	return out
}

// Run runs the contract. newUpstream builds the adapter with d (and its fake upstream) for
// one case; it is called once per case, with a fresh Env.
func Run(t *testing.T, newUpstream func(t *testing.T, e *Env, d channels.Deps) Upstream) {
	t.Run("acknowledged only once durable", func(t *testing.T) {
		e := NewEnv(t)
		u := newUpstream(t, e, e.Deps())
		if !u.Deliver(t, "c1") {
			t.Fatal("a good delivery was not acknowledged")
		}
		if got := e.Stored(t); len(got) != 1 {
			t.Fatalf("acknowledged with %d items stored, want 1", len(got))
		}
	})
	t.Run("a duplicate delivery is one item", func(t *testing.T) {
		e := NewEnv(t)
		u := newUpstream(t, e, e.Deps())
		for i := range 2 {
			if !u.Deliver(t, "c1") {
				t.Fatalf("delivery %d was not acknowledged", i+1)
			}
		}
		if got := e.Stored(t); len(got) != 1 {
			t.Fatalf("%d items stored after a redelivery, want 1", len(got))
		}
	})
	t.Run("an ingest failure makes the upstream retry", func(t *testing.T) {
		e := NewEnv(t)
		u := newUpstream(t, e, e.Deps())
		e.IngestDown(true)
		if u.Deliver(t, "c1") {
			t.Fatal("acknowledged although the ingest failed")
		}
		if got := e.Stored(t); len(got) != 0 {
			t.Fatalf("%d items stored", len(got))
		}
		// Redis is back: the upstream's retry goes through.
		e.IngestDown(false)
		if !u.Deliver(t, "c1") || len(e.Stored(t)) != 1 {
			t.Fatal("the retry after the failure was not stored and acknowledged")
		}
	})
	t.Run("a bad signature or secret stores nothing", func(t *testing.T) {
		e := NewEnv(t)
		f, ok := newUpstream(t, e, e.Deps()).(Forger)
		if !ok {
			t.Skip("the channel's deliveries carry no signature or secret")
		}
		if f.DeliverForged(t, "c1") {
			t.Fatal("a forged delivery was acknowledged")
		}
		if got := e.Stored(t); len(got) != 0 {
			t.Fatalf("a forged delivery stored %d items", len(got))
		}
	})
	t.Run("send errors are typed", func(t *testing.T) {
		e := NewEnv(t)
		s, ok := newUpstream(t, e, e.Deps()).(SendFailer)
		if !ok {
			t.Skip("the channel has no sender")
		}
		if err := s.SendRefused(t); !channels.IsPermanent(err) {
			t.Errorf("refused send: %v, want a permanent error", err)
		}
		err := s.SendRateLimited(t)
		var ra *channels.RetryAfterError
		if !errors.As(err, &ra) || ra.After <= 0 || channels.IsPermanent(err) {
			t.Errorf("rate-limited send: %v, want a *RetryAfterError with a delay", err)
		}
	})
}
