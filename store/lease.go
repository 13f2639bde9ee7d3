package store

import (
	"context"
	"crypto/rand"
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

// leaseRenewScript extends the lease only if we still own it.
//
//	KEYS[1] lease key; ARGV[1] owner token; ARGV[2] ttl ms
//	returns 1 renewed, 0 not ours
var leaseRenewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)

// Renew extends the lease; false means we lost it (stop the work at once).
func (l *Lease) Renew(ctx context.Context) (bool, error) {
	n, err := leaseRenewScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	return n == 1, err
}

// leaseReleaseScript deletes the lease only if we own it.
//
//	KEYS[1] lease key; ARGV[1] owner token; returns 1 released, 0 not ours
var leaseReleaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Release gives the lease up so another process can take it at once.
func (l *Lease) Release(ctx context.Context) error {
	return leaseReleaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err()
}
