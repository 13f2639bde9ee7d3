package redistest

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Find reads every key of prefix (every key whose name starts with "{"+prefix) — the key
// name, a string's value, a hash's fields and values, a list's items, a set's and a sorted
// set's members, every field and value of every stream entry — and returns where one of
// needles occurs ("<needle> in <type> <key>"). Erasure tests assert it finds nothing.
func Find(ctx context.Context, rdb redis.UniversalClient, prefix string, needles []string) ([]string, error) {
	var keys []string
	iter := rdb.Scan(ctx, 0, "{"+prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	var hits []string
	check := func(where, s string) {
		for _, n := range needles {
			if strings.Contains(s, n) {
				hits = append(hits, fmt.Sprintf("%q in %s", n, where))
			}
		}
	}
	for _, k := range keys {
		check("the name of key "+k, k)
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			return nil, err
		}
		var parts []string
		switch typ {
		case "string":
			parts = []string{rdb.Get(ctx, k).Val()}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				parts = append(parts, f, v)
			}
		case "list":
			parts = rdb.LRange(ctx, k, 0, -1).Val()
		case "set":
			parts = rdb.SMembers(ctx, k).Val()
		case "zset":
			parts = rdb.ZRange(ctx, k, 0, -1).Val()
		case "stream":
			for _, m := range rdb.XRange(ctx, k, "-", "+").Val() {
				for f, v := range m.Values {
					parts = append(parts, f, fmt.Sprint(v))
				}
			}
		case "none": // expired meanwhile
		default:
			return nil, fmt.Errorf("key %s has a type the scan does not read: %s", k, typ)
		}
		check(typ+" "+k, strings.Join(parts, "\x00"))
	}
	return hits, nil
}
