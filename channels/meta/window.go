package meta

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// WindowTTL keeps a contact's last-message time longer than the longest window (7 days
// with Instagram's HUMAN_AGENT tag).
const WindowTTL = 8 * 24 * time.Hour

// A window key holds "L" (unix ms of the customer's latest message) or "L:C" when Meta said
// the window is closed at C (unix ms of that report, newer than L). Meta delivers webhooks
// out of order, so both times are kept and every update compares them.

// touchScript records the time of a customer's message, keeping the latest one (Meta
// retries and batches can deliver older messages after newer ones). A message newer than
// the closing report reopens the window; an older one leaves it closed.
//
//	KEYS[1] window key   ARGV[1] unix ms of the message   ARGV[2] TTL ms
//	returns the stored (latest) unix ms
var touchScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1]) or ''
local cur = tonumber(string.match(v, '^(%d+)') or '0')
local closed = tonumber(string.match(v, ':(%d+)$') or '0')
local at = tonumber(ARGV[1])
if at > cur then
  if closed > at then
    redis.call('SET', KEYS[1], ARGV[1] .. ':' .. closed, 'PX', ARGV[2])
  else
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  end
  return at
end
return cur
`)

// closeScript marks the window closed at a report time, but only when the report is newer
// than the customer's latest message (a stale failure must not close a window the customer
// has opened again since).
//
//	KEYS[1] window key   ARGV[1] unix ms of the report
//	returns 1 closed, 0 ignored (no message on record, or the customer wrote after the report)
var closeScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local cur = tonumber(string.match(v, '^(%d+)') or '0')
local closed = tonumber(string.match(v, ':(%d+)$') or '0')
local at = tonumber(ARGV[1])
if at <= cur then return 0 end
if at < closed then at = closed end
redis.call('SET', KEYS[1], string.format('%d:%d', cur, at), 'KEEPTTL')
return 1
`)

// Window tracks, per contact of a channel account, when the customer last wrote: the start
// of Meta's messaging window (Instagram 24 h, WhatsApp customer-service window 24 h).
type Window struct {
	RDB     redis.UniversalClient
	Keys    store.Keys
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
	return touchScript.Run(ctx, w.RDB, []string{w.key(account, contact)},
		strconv.FormatInt(at.UnixMilli(), 10), strconv.FormatInt(WindowTTL.Milliseconds(), 10)).Err()
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
	n, err := closeScript.Run(ctx, w.RDB, []string{w.key(account, contact)}, strconv.FormatInt(at.UnixMilli(), 10)).Int()
	return n == 1, err
}

// Split cuts text into pieces of at most max bytes (UTF-8, never inside a rune), preferring
// to break after a newline, then after a space, in the second half of a piece.
func Split(text string, max int) []string {
	if max <= 0 || len(text) <= max {
		if text == "" {
			return nil
		}
		return []string{text}
	}
	var out []string
	for len(text) > max {
		cut := max
		for cut > 0 && !isRuneStart(text[cut]) {
			cut--
		}
		best := -1
		for i := cut - 1; i >= cut/2; i-- {
			if text[i] == '\n' {
				best = i + 1
				break
			}
		}
		if best < 0 {
			for i := cut - 1; i >= cut/2; i-- {
				if text[i] == ' ' {
					best = i + 1
					break
				}
			}
		}
		if best > 0 {
			cut = best
		}
		if cut == 0 { // max smaller than one rune: take the rune anyway
			cut = 1
			for cut < len(text) && !isRuneStart(text[cut]) {
				cut++
			}
		}
		out = append(out, text[:cut])
		text = text[cut:]
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
