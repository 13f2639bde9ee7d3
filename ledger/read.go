package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// Keys are the two keys of the ledger.
type Keys struct {
	Ledger string // {P}:ledger, the stream
	Head   string // {P}:ledger:head, hash: seq, hash
}

// KeysOf returns the ledger keys of a key layout (the router's ledger() and ledgerHead()).
func KeysOf(k store.Keys) Keys {
	return Keys{Ledger: k.Core("ledger"), Head: k.Core("ledger", "head")}
}

// Head is the stored head of the chain.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// readPage is how many stream entries one XRANGE call returns.
const readPage = 1000

// Read returns the entries of the ledger stream key, oldest first, whose time (At) is in
// [from, to) — a zero from or to leaves that side open — and, when manager is not "", that
// involve manager: the chosen sales manager, the lead-manager who handed the lead off, or the
// supervisor of a manual pick. CandsRaw is the cands field exactly as stored.
//
// The stream is read in pages of readPage entries from its start: At is the router's clock,
// which the stream ids (the Redis server's clock) need not match.
func Read(ctx context.Context, rdb redis.Cmdable, key string, from, to time.Time, manager string) ([]Entry, error) {
	var out []Entry
	err := scan(ctx, rdb, key, true, func(e Entry, _ []string) {
		if !inWindow(e, from, to) {
			return
		}
		if manager != "" && e.Chosen != manager && e.LM != manager && e.By != manager {
			return
		}
		out = append(out, e)
	})
	return out, err
}

func inWindow(e Entry, from, to time.Time) bool {
	return (from.IsZero() || e.At >= from.UnixMilli()) && (to.IsZero() || e.At < to.UnixMilli())
}

// scan calls f with every entry of the stream, oldest first, and the names of the fields
// that are missing or do not parse (such a field is left zero in the entry). Cands is
// decoded only when cands is true (Verify decodes CandsRaw itself).
func scan(ctx context.Context, rdb redis.Cmdable, key string, cands bool, f func(Entry, []string)) error {
	start := "-"
	for {
		msgs, err := rdb.XRangeN(ctx, key, start, "+", readPage).Result()
		if err != nil {
			return fmt.Errorf("ledger: read %s: %w", key, err)
		}
		for _, m := range msgs {
			e, bad := parse(m, cands)
			f(e, bad)
		}
		if len(msgs) < readPage {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// FieldNames are the stream fields of an entry in the documented order.
func FieldNames() []string {
	return []string{"seq", "at", "lead", "lm", "kind", "strategy", "ptr", "cands", "chosen", "by", "prev", "hash"}
}

// ParseMessage turns a stream entry into an Entry; the error names the fields missing or
// malformed (those are left zero in the entry, which is returned all the same).
func ParseMessage(m redis.XMessage) (Entry, error) {
	e, bad := parse(m, true)
	if len(bad) > 0 {
		return e, fmt.Errorf("ledger: entry %s: missing or malformed field(s) %s", m.ID, strings.Join(bad, ", "))
	}
	return e, nil
}

// parse turns a stream entry into an Entry (decoding Cands when cands); bad names the fields
// missing or malformed.
func parse(m redis.XMessage, cands bool) (Entry, []string) {
	var bad []string
	str := func(name string) string {
		v, ok := m.Values[name]
		s, isStr := v.(string)
		if !ok || !isStr {
			bad = append(bad, name)
		}
		return s
	}
	num := func(name string) int64 {
		s := str(name)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil && (len(bad) == 0 || bad[len(bad)-1] != name) {
			bad = append(bad, name)
		}
		return n
	}
	e := Entry{ID: m.ID, Seq: num("seq"), At: num("at"), Lead: num("lead"), LM: str("lm"), Kind: str("kind"),
		Strategy: str("strategy"), Ptr: str("ptr"), CandsRaw: str("cands"), Chosen: str("chosen"), By: str("by"),
		Prev: str("prev"), Hash: str("hash")}
	if cands && e.CandsRaw != "" {
		if err := json.Unmarshal([]byte(e.CandsRaw), &e.Cands); err != nil {
			e.Cands = nil // Verify reports it for an automatic decision
		}
	}
	return e, bad
}

// Fields are the stream fields of e in the documented order (name, value, ...), as XADD
// takes them: cands is e.CandsRaw. Writers in Go (tests, tools) use it; the gateway writes
// from router/lua/handoff.lua.
func Fields(e Entry) []any {
	v := []string{itoa(e.Seq), itoa(e.At), itoa(e.Lead), e.LM, e.Kind, e.Strategy, e.Ptr, e.CandsRaw, e.Chosen,
		e.By, e.Prev, e.Hash}
	out := make([]any, 0, 2*len(v))
	for i, name := range FieldNames() {
		out = append(out, name, v[i])
	}
	return out
}

// ReadHead returns the stored head; ok is false when there is none.
func ReadHead(ctx context.Context, rdb redis.Cmdable, key string) (h Head, ok bool, err error) {
	v, err := rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return Head{}, false, fmt.Errorf("ledger: read %s: %w", key, err)
	}
	if len(v) == 0 {
		return Head{}, false, nil
	}
	seq, err := strconv.ParseInt(v["seq"], 10, 64)
	if err != nil {
		seq = -1 // reported by Verify as a head that matches nothing
	}
	return Head{Seq: seq, Hash: v["hash"]}, true, nil
}

// Trim removes the ledger entries whose stream id is older than before (XTRIM MINID, exact):
// the ledger is trimmed by its retention period only, never by count. It returns how many
// entries it removed. The head is kept, so a ledger trimmed empty still says where the chain
// ended; Verify accepts the first remaining entry's prev as the anchor.
func Trim(ctx context.Context, rdb redis.Cmdable, key string, before time.Time) (int64, error) {
	if before.UnixMilli() <= 0 {
		return 0, nil
	}
	n, err := rdb.XTrimMinID(ctx, key, strconv.FormatInt(before.UnixMilli(), 10)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("ledger: trim %s: %w", key, err)
	}
	return n, nil
}

// Reader reads one gateway's ledger (the API's HandoffReader).
type Reader struct {
	rdb redis.Cmdable
	k   Keys
}

// NewReader returns a reader of the ledger at k.
func NewReader(rdb redis.Cmdable, k Keys) Reader { return Reader{rdb: rdb, k: k} }

// Handoffs is Read on the reader's ledger.
func (r Reader) Handoffs(ctx context.Context, from, to time.Time, manager string) ([]Entry, error) {
	return Read(ctx, r.rdb, r.k.Ledger, from, to, manager)
}

// ParseBound parses a from/to bound of Read: an RFC 3339 time or a date (YYYY-MM-DD,
// midnight UTC).
func ParseBound(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: give RFC 3339 (2026-11-29T10:00:00Z) or a date (2026-11-29)", s)
}
