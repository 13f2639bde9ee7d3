package meta

import (
	"context"
	_ "embed"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
)

// WindowTTL keeps a contact's last-message time longer than the longest window (7 days
// with Instagram's HUMAN_AGENT tag).
const WindowTTL = 8 * 24 * time.Hour

// A window key holds "L" (unix ms of the customer's latest message) or "L:C" when Meta said
// the window is closed at C (unix ms of that report, newer than L). Meta delivers webhooks
// out of order, so both times are kept and every update compares them.

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

//go:embed window_close.lua
var windowCloseLua string

// windowCloseScript: see window_close.lua.
var windowCloseScript = redis.NewScript(windowCloseLua)

// closeWindow runs window_close.lua on a window key at the report time; true if it closed.
func closeWindow(ctx context.Context, rdb redis.Scripter, key string, at time.Time) (bool, error) {
	n, err := windowCloseScript.Run(ctx, rdb, []string{key}, strconv.FormatInt(at.UnixMilli(), 10)).Int()
	return n == 1, err
}

// Window tracks, per contact of a channel account, when the customer last wrote: the start
// of Meta's messaging window (Instagram 24 h, WhatsApp customer-service window 24 h).
type Window struct {
	RDB     redis.UniversalClient
	Keys    channels.Keys
	Channel string
}

// WindowState is what is known of a contact's messaging window.
type WindowState struct {
	Last   time.Time // the customer's latest message on record
	Known  bool      // a message is on record (false: none within WindowTTL)
	Closed bool      // Meta reported the window closed after Last
}

func (w Window) key(account, contact string) string {
	return w.Keys.Channel(w.Channel, account, "window:"+w.Keys.Pseudonym(contact)) // no phone in key names
}

// Touch records a customer message sent at at.
func (w Window) Touch(ctx context.Context, account, contact string, at time.Time) error {
	_, err := touch(ctx, w.RDB, w.key(account, contact), touchArgs{At: at, TTL: WindowTTL})
	return err
}

// Last returns when the customer last wrote; ok is false if never (or longer ago than the TTL).
func (w Window) Last(ctx context.Context, account, contact string) (at time.Time, ok bool, err error) {
	s, err := w.State(ctx, account, contact)
	return s.Last, s.Known, err
}

// State returns the contact's window: the latest message on record and whether Meta has
// reported the window closed since.
func (w Window) State(ctx context.Context, account, contact string) (WindowState, error) {
	v, err := w.RDB.Get(ctx, w.key(account, contact)).Result()
	if errors.Is(err, redis.Nil) {
		return WindowState{}, nil
	}
	if err != nil {
		return WindowState{}, err
	}
	last, closed, _ := strings.Cut(v, ":")
	ms, err := strconv.ParseInt(last, 10, 64)
	if err != nil {
		return WindowState{}, nil // not ours: as if nothing were on record
	}
	return WindowState{Last: time.UnixMilli(ms), Known: true, Closed: closed != ""}, nil
}

// Close records that Meta reported the window closed at at (e.g. WhatsApp error 131047).
// It takes effect only if at is after the customer's latest message on record: Meta does not
// deliver webhooks in order, and a report about an older send must not close a window the
// customer has opened again. It returns whether the window is now marked closed.
func (w Window) Close(ctx context.Context, account, contact string, at time.Time) (bool, error) {
	return closeWindow(ctx, w.RDB, w.key(account, contact), at)
}
