package store_test

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

// Benchmarks of the inbound path against the real Redis named by REDIS_URL (or a private
// redis-server). Run:
//
//	REDIS_URL=redis://127.0.0.1:6379 go test ./store -run '^$' -bench . -benchtime 3s
//
// msgs/s is the figure to compare; BenchmarkRawXADD is the ceiling (one plain XADD of the
// same payload, no dedupe, no script).

// benchInbound is a typical Telegram text message (about 400 bytes of JSON).
func benchInbound() channels.Inbound {
	return channels.Inbound{
		Channel: channels.Telegram, Account: "7012345678", ContactID: "123456789",
		DisplayName: "Иван Петров",
		Text:        "Здравствуйте! Подскажите, пожалуйста, сколько стоит доставка в Казань и можно ли оплатить при получении?",
		Source:      "utm_source=vk&utm_campaign=winter",
		Meta:        map[string]string{"chat_type": "private", "lang": "ru"},
		SentAt:      time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC),
	}
}

// benchClient returns a client on the test Redis with poolSize connections (0: the go-redis
// default, 10 per GOMAXPROCS, which is what store.Open uses) and keys under a fresh prefix,
// deleted after the run.
func benchClient(b *testing.B, poolSize int) (*redis.Client, store.Keys) {
	b.Helper()
	opt, err := redis.ParseURL(redistest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	if poolSize > 0 {
		opt.PoolSize = poolSize
	}
	rdb := redis.NewClient(opt)
	prefix := redistest.Prefix()
	b.Cleanup(func() {
		redistest.DeletePrefix(rdb, prefix)
		_ = rdb.Close()
	})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	return rdb, store.NewKeys(prefix)
}

// parallelism makes RunParallel use about 64 goroutines, like 64 webhook requests in flight.
func parallelism() int { return max(1, 64/runtime.GOMAXPROCS(0)) }

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkIngest(b *testing.B) {
	rdb, keys := benchClient(b, 0)
	g := store.NewIngest(rdb, keys, clock.Real{}, nil)
	ctx := context.Background()
	in := benchInbound()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		in.MessageID = strconv.Itoa(i)
		if _, err := g.Ingest(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

func BenchmarkIngestParallel(b *testing.B) {
	for _, pool := range []int{0, 64} {
		name := "pool=default"
		if pool > 0 {
			name = "pool=" + strconv.Itoa(pool)
		}
		b.Run(name, func(b *testing.B) {
			rdb, keys := benchClient(b, pool)
			g := store.NewIngest(rdb, keys, clock.Real{}, nil)
			ctx := context.Background()
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(parallelism())
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				in := benchInbound()
				for pb.Next() {
					in.MessageID = strconv.FormatInt(seq.Add(1), 10)
					if _, err := g.Ingest(ctx, in); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportRate(b)
		})
	}
}

// BenchmarkIngestDuplicateParallel is a storm of retries of one already stored item (the
// script only reads the marker).
func BenchmarkIngestDuplicateParallel(b *testing.B) {
	rdb, keys := benchClient(b, 0)
	g := store.NewIngest(rdb, keys, clock.Real{}, nil)
	ctx := context.Background()
	in := benchInbound()
	in.MessageID = "retried"
	if _, err := g.Ingest(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(parallelism())
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, err := g.Ingest(ctx, in); err != nil || !res.Duplicate {
				b.Errorf("retry = %+v, %v", res, err)
				return
			}
		}
	})
	reportRate(b)
}

func BenchmarkRawXADD(b *testing.B) {
	in := benchInbound()
	in.MessageID = "123456789"
	in.Kind = channels.KindMessage
	in.ReceivedAt = time.Now()
	payload, err := json.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	for _, pool := range []int{0, 64} {
		name := "pool=default"
		if pool > 0 {
			name = "pool=" + strconv.Itoa(pool)
		}
		b.Run(name, func(b *testing.B) {
			rdb, keys := benchClient(b, pool)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(parallelism())
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: keys.Inbound(), Values: []any{"m", payload}}).Err(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(len(payload)), "payload-bytes")
			reportRate(b)
		})
	}
}
