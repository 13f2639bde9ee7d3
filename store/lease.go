package store

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is a Redis lock with an owner token and a TTL, for work only one gateway process may
// do at a time (polling one Telegram bot, holding one WhatsApp connection). The holder must
// Renew it well before TTL; if the holder dies, the lease lapses and another process's
// Acquire succeeds.
type Lease struct {
	rdb   redis.UniversalClient
	key   string
	token string
	ttl   time.Duration
}

// NewLease returns a lease on key (build it with Keys.Lease or Keys.Channel) held for ttl.
func NewLease(rdb redis.UniversalClient, key string, ttl time.Duration) *Lease {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return &Lease{rdb: rdb, key: key, token: hex.EncodeToString(b), ttl: ttl}
}

// TTL is the lease's time to live.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Acquire takes the lease if it is free (or already ours, then renews it).
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	ok, err := l.rdb.SetNX(ctx, l.key, l.token, l.ttl).Result()
	if err != nil {
		return false, err
	}
	if ok {
		return true, nil
	}
	return l.Renew(ctx)
}

// The lease scripts (KEYS, ARGV and returns documented in the .lua files).
var (
	//go:embed lease_renew.lua
	leaseRenewLua string
	//go:embed lease_release.lua
	leaseReleaseLua string

	leaseRenewScript   = NewScript(leaseRenewLua)
	leaseReleaseScript = NewScript(leaseReleaseLua)
)

// leaseRenewArgs are lease_renew.lua's ARGV, in order.
type leaseRenewArgs struct {
	Token string
	TTL   int64 // ms
}

func (a leaseRenewArgs) argv() []any { return []any{a.Token, a.TTL} }

// leaseReleaseArgs are lease_release.lua's ARGV.
type leaseReleaseArgs struct{ Token string }

func (a leaseReleaseArgs) argv() []any { return []any{a.Token} }

// Renew extends the lease; false means we lost it (stop the work at once).
func (l *Lease) Renew(ctx context.Context) (bool, error) {
	n, err := leaseRenewScript.Run(ctx, l.rdb, []string{l.key}, leaseRenewArgs{Token: l.token, TTL: l.ttl.Milliseconds()}.argv()...).Int()
	return n == 1, err
}

// Release gives the lease up so another process can take it at once.
func (l *Lease) Release(ctx context.Context) error {
	return leaseReleaseScript.Run(ctx, l.rdb, []string{l.key}, leaseReleaseArgs{Token: l.token}.argv()...).Err()
}
