package bench

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/store"
)

// deletePrefix deletes every key of a gateway prefix P ({P}..., {P:...}...).
func deletePrefix(ctx context.Context, rdb *redis.Client, prefix string) (int, error) {
	n := 0
	for _, pat := range []string{"{" + prefix + "}*", "{" + prefix + ":*"} {
		iter := rdb.Scan(ctx, 0, pat, 1000).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			err := rdb.Unlink(ctx, batch...).Err()
			n += len(batch)
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) >= 500 {
				if err := flush(); err != nil {
					return n, err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return n, err
		}
		if err := flush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	s, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(infoField(s, "used_memory"), 10, 64)
}

// keyUsage sums MEMORY USAGE (exact: SAMPLES 0) of every key of a prefix, by kind of key.
func keyUsage(ctx context.Context, rdb *redis.Client, prefix string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, pat := range []string{"{" + prefix + "}*", "{" + prefix + ":*"} {
		iter := rdb.Scan(ctx, 0, pat, 1000).Iterator()
		var keys []string
		flush := func() error {
			if len(keys) == 0 {
				return nil
			}
			pipe := rdb.Pipeline()
			cmds := make([]*redis.IntCmd, len(keys))
			for i, k := range keys {
				cmds[i] = pipe.MemoryUsage(ctx, k, 0)
			}
			_, err := pipe.Exec(ctx)
			if err != nil && err != redis.Nil {
				return err
			}
			for i, k := range keys {
				v, _ := cmds[i].Result()
				out[keyKind(k)] += v
			}
			keys = keys[:0]
			return nil
		}
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) >= 500 {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return nil, err
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keyKind names a key by its layout entry: "conv", "conv:log", "contact", "done", "dedupe", ...
func keyKind(k string) string {
	i := strings.Index(k, "}:")
	if i < 0 {
		return k
	}
	tag, rest := k[:i+1], k[i+2:]
	parts := strings.Split(rest, ":")
	switch {
	case strings.HasSuffix(tag, ":in}"):
		return "in:" + parts[0]
	case parts[0] == "conv" && len(parts) >= 3:
		return "conv:" + parts[2]
	case parts[0] == "mgr" && len(parts) >= 3:
		return "mgr:" + parts[2]
	}
	return parts[0]
}

func sortedKinds(m map[string]int64) []KeyBytes {
	var out []KeyBytes
	for k, v := range m {
		out = append(out, KeyBytes{Kind: k, Bytes: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	return out
}

// trimStreams trims the gateway's streams below what every group acknowledged (what the
// router's own trimmer does every 30 s).
func trimStreams(ctx context.Context, g *Gateway) error {
	for _, s := range []string{g.Keys.Inbound(), g.Keys.Core("events"), g.Keys.Core("fired"), g.Keys.Core("outbound")} {
		if _, err := store.Trim(ctx, g.Redis, s); err != nil {
			return err
		}
	}
	return nil
}

// inboundDrained reports whether the router has read and acknowledged every inbound entry.
func inboundDrained(ctx context.Context, g *Gateway) bool {
	groups, err := g.Redis.XInfoGroups(ctx, g.Keys.Inbound()).Result()
	if err != nil || len(groups) == 0 {
		return false
	}
	for _, gr := range groups {
		if gr.Pending > 0 || gr.Lag > 0 {
			return false
		}
	}
	return true
}

// samplePayload is what the ingest script stores for a typical form lead: the raw
// baseline XADDs a payload of the same size.
func samplePayload() string {
	body, phone := formLead("0123456789", 123456)
	var f map[string]any
	_ = json.Unmarshal(body, &f)
	now := time.Now().UTC()
	in := channels.Inbound{Kind: channels.KindMessage, Channel: channels.Form, Account: "default",
		MessageID: "h:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ContactID: phone,
		DisplayName: f["name"].(string), Text: f["message"].(string), Phone: phone, Source: "load",
		Meta:       map[string]string{"consent_at": now.Format(time.RFC3339Nano), "policy_version": "1", "utm_source": "bench", "utm_campaign": "load"},
		ReceivedAt: now}
	b, _ := json.Marshal(in)
	return string(b)
}

// rawXAdd is the baseline: conc goroutines XADD n entries of payload to one stream.
func rawXAdd(ctx context.Context, rdb *redis.Client, stream, payload string, n, conc int, maxTime time.Duration) (int64, time.Duration, error) {
	var ok atomic.Int64
	var firstErr error
	var mu sync.Mutex
	d := closedLoop(ctx, n, 0, conc, maxTime, func(int) {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"m", payload}}).Err(); err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
			return
		}
		ok.Add(1)
	})
	return ok.Load(), d, firstErr
}

// cpuSnap is CPU time used so far by this process (gateway and load generator) and by
// Redis (INFO cpu: every client of that Redis, so other users of a shared Redis add noise).
type cpuSnap struct {
	proc, redis time.Duration
	cmds        int64
}

func takeCPU(ctx context.Context, rdb *redis.Client) cpuSnap {
	s := cpuSnap{proc: processCPU()}
	if rdb != nil {
		if info, err := rdb.Info(ctx, "cpu", "stats").Result(); err == nil {
			u, _ := strconv.ParseFloat(infoField(info, "used_cpu_user"), 64)
			sy, _ := strconv.ParseFloat(infoField(info, "used_cpu_sys"), 64)
			s.redis = time.Duration((u + sy) * float64(time.Second))
			s.cmds, _ = strconv.ParseInt(infoField(info, "total_commands_processed"), 10, 64)
		}
	}
	return s
}

// CPUCost is CPU time per item of work.
type CPUCost struct {
	ProcessUS     float64 `json:"process_us"`  // this process: gateway + load generator, per item
	RedisUS       float64 `json:"redis_us"`    // Redis server, per item
	RedisCommands float64 `json:"redis_calls"` // commands (a script counts as one) per item
	// IdleEstimate is 2 cores / (process + Redis CPU per item): the rate this work could
	// reach on an otherwise idle 2-core machine if it parallelised perfectly.
	IdleEstimate float64 `json:"idle_2core_estimate_per_sec"`
}

func cpuCost(a, b cpuSnap, n int) *CPUCost {
	if n <= 0 {
		return nil
	}
	c := &CPUCost{
		ProcessUS:     round1(float64(b.proc-a.proc) / 1e3 / float64(n)),
		RedisUS:       round1(float64(b.redis-a.redis) / 1e3 / float64(n)),
		RedisCommands: round1(float64(b.cmds-a.cmds) / float64(n)),
	}
	if t := c.ProcessUS + c.RedisUS; t > 0 {
		c.IdleEstimate = round1(2e6 / t)
	}
	return c
}
