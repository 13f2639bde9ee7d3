package webform

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// BenchmarkFormIngest measures the whole form path: decode, validate, E.164, dedupe +
// XADD in one Lua script on a real Redis, JSON answer. Every submission is a new lead.
//
//	go test -run '^$' -bench BenchmarkFormIngest -benchmem ./channels/webform
//
// "raw_xadd" is the baseline: go-redis XADD alone at the same concurrency.
// "handler" calls ServeHTTP directly from 8*GOMAXPROCS goroutines; "http" goes through a
// real HTTP server and keep-alive client (adds net/http on both sides); "http_healthz" is
// the same server and client on a bare GET answering {"status":"ok"} (what GET /healthz
// does): the ceiling "http" is compared with (ns/op of http_healthz / ns/op of http is the
// form path's share of it, without the router's work that lidorub bench also counts).
func BenchmarkFormIngest(b *testing.B) {
	e := newEnv(b, func(c *Config) { c.RatePerMinute = -1 })
	e.h.log = slog.New(slog.DiscardHandler) // a log line per lead would measure the log buffer
	b.Cleanup(func() { cleanupKeys(b, e) })
	var n atomic.Int64
	body := func() string {
		i := n.Add(1)
		return fmt.Sprintf(`{"name":"Bench","phone":"+7916%07d","message":"call me back %d","consent":true,"utm_campaign":"bench","page_url":"https://example.ru/"}`, i%10000000, i)
	}
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8) // 8 x GOMAXPROCS concurrent submissions, as behind a busy server
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body()))
				r.Header.Set("Content-Type", "application/json")
				r.RemoteAddr = "203.0.113.7:1234"
				w := httptest.NewRecorder()
				e.mux.ServeHTTP(w, r)
				if w.Code != http.StatusAccepted {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	})
	// The baseline: one plain XADD of a payload of the same size, same concurrency.
	b.Run("raw_xadd", func(b *testing.B) {
		payload := strings.Repeat("x", 420)
		stream := e.keys.Inbound() + ":raw"
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"m", payload}}).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("http", func(b *testing.B) {
		srv := httptest.NewServer(e.mux)
		defer srv.Close()
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Post(srv.URL+Path, "application/json", strings.NewReader(body()))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	})
	b.Run("http_healthz", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(healthzBody)
		}))
		defer srv.Close()
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(srv.URL + "/healthz")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	})
}

// healthzBody is what GET /healthz answers.
var healthzBody = []byte(`{"status":"ok"}` + "\n")

// cleanupKeys removes the benchmark's stream and dedupe markers (the prefix is unique).
func cleanupKeys(tb testing.TB, e *env) {
	ctx := context.Background()
	iter := e.rdb.Scan(ctx, 0, "{"+e.keys.Prefix+":*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			e.rdb.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		e.rdb.Unlink(ctx, batch...)
	}
	if err := iter.Err(); err != nil {
		tb.Logf("cleanup: %v", err)
	}
}
