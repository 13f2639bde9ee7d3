package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// forgetPage is how many entries one XRANGE of Forget reads.
const forgetPage = 1000

// Forget deletes (XDEL) the entries of stream for which match (given the entry's id and
// values) returns true and returns how
// many it deleted. It is how erasure reaches the copies of personal data that trimming never
// removes: Trim keeps every entry from the oldest unacknowledged one on, so the newest
// entry of a quiet stream stays for ever.
//
// Only entries every consumer group has acknowledged are deleted, unless pending is true:
// then entries delivered and not yet acknowledged, or not yet delivered, are deleted too (a
// consumer given a deleted entry acknowledges it and moves on: see Consumer.handleBatch).
// Pass pending=true only for entries whose processing would be wrong anyway (a reply to an
// erased conversation); with false nothing another conversation still needs is lost.
//
// Cost: one XRANGE per 1000 entries of the stream (call Trim first: it leaves only the
// entries from the oldest unacknowledged one on), one XPENDING per matched entry, one XDEL.
// A stream with no consumer group (a dead-letter stream) has only inert entries.
func Forget(ctx context.Context, rdb redis.UniversalClient, stream string, pending bool, match func(id string, values map[string]any) bool) (int, error) {
	var groups []redis.XInfoGroup
	if !pending {
		gs, err := rdb.XInfoGroups(ctx, stream).Result()
		if err != nil && !strings.Contains(err.Error(), "no such key") {
			return 0, fmt.Errorf("forget on %s: %w", stream, err)
		}
		groups = gs
	}
	var ids []string
	start := "-"
	for {
		msgs, err := rdb.XRangeN(ctx, stream, start, "+", forgetPage).Result()
		if err != nil {
			return 0, fmt.Errorf("forget on %s: %w", stream, err)
		}
		for _, m := range msgs {
			if !match(m.ID, m.Values) {
				continue
			}
			done, err := acknowledged(ctx, rdb, stream, groups, m.ID)
			if err != nil {
				return 0, err
			}
			if done {
				ids = append(ids, m.ID)
			}
		}
		if len(msgs) < forgetPage {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
	n := 0
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), forgetPage)]
		ids = ids[len(chunk):]
		k, err := rdb.XDel(ctx, stream, chunk...).Result()
		if err != nil {
			return n, fmt.Errorf("forget on %s: %w", stream, err)
		}
		n += int(k)
	}
	return n, nil
}

// acknowledged reports whether every group of groups has been given entry id and has
// acknowledged it. No groups: true.
func acknowledged(ctx context.Context, rdb redis.UniversalClient, stream string, groups []redis.XInfoGroup, id string) (bool, error) {
	for _, g := range groups {
		if lessID(g.LastDeliveredID, id) {
			return false, nil // not delivered yet
		}
		p, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: g.Name, Start: id, End: id, Count: 1}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return false, fmt.Errorf("forget on %s: %w", stream, err)
		}
		if len(p) > 0 {
			return false, nil // delivered, not acknowledged
		}
	}
	return true, nil
}
