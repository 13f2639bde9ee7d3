package meta

import (
	"context"
	_ "embed"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
)

// windowTTL keeps a contact's last-message time longer than the longest window (7 days
// with Instagram's HUMAN_AGENT tag).
const windowTTL = 8 * 24 * time.Hour

//go:embed touch.lua
var touchLua string

// touchScript: see touch.lua.
var touchScript = redis.NewScript(touchLua)

// touchArgs are touch.lua's ARGV, in order.
type touchArgs struct {
	At  time.Time     // ARGV[1] the message's time
	TTL time.Duration // ARGV[2] how long the key lives
}

// touch runs touch.lua on a window key and returns the stored (latest) time.
func touch(ctx context.Context, rdb redis.Scripter, key string, a touchArgs) (time.Time, error) {
	ms, err := touchScript.Run(ctx, rdb, []string{key},
		strconv.FormatInt(a.At.UnixMilli(), 10), strconv.FormatInt(a.TTL.Milliseconds(), 10)).Int64()
	return time.UnixMilli(ms), err
}

// Window tracks, per contact of a channel account, when the customer last wrote: the start
// of Meta's messaging window (Instagram 24 h, WhatsApp customer-service window 24 h).
type Window struct {
	RDB     redis.UniversalClient
	Keys    channels.Keys
	Channel string
}

func (w Window) key(account, contact string) string {
	return w.Keys.Channel(w.Channel, account, "window:"+contact)
}

// Touch records a customer message sent at at.
func (w Window) Touch(ctx context.Context, account, contact string, at time.Time) error {
	_, err := touch(ctx, w.RDB, w.key(account, contact), touchArgs{At: at, TTL: windowTTL})
	return err
}

// Last returns when the customer last wrote; ok is false if never (or longer ago than the TTL).
func (w Window) Last(ctx context.Context, account, contact string) (at time.Time, ok bool, err error) {
	v, err := w.RDB.Get(ctx, w.key(account, contact)).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.UnixMilli(v), true, nil
}

// Close forgets the window (Meta said it is closed, e.g. WhatsApp error 131047).
func (w Window) Close(ctx context.Context, account, contact string) error {
	return w.RDB.Del(ctx, w.key(account, contact)).Err()
}
