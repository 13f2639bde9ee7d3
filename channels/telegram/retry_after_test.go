package telegram

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
)

// A 429 with parameters.retry_after longer than the router's reclaim_idle is honoured: the
// message is not sent again before retry_after (it used to be, at reclaim_idle, by the
// reclaim of its pending entry), and is sent exactly once after it.
func TestRouterHonoursLongRetryAfter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ch := e.channel(nil)
	r, err := router.New(router.Config{ReclaimIdle: 10 * time.Second}, []router.Manager{{ID: "anna"}},
		router.Templates{AutoAck: "Thank you! A manager will answer you shortly."},
		router.Deps{Redis: e.rdb, Keys: e.keys, Clock: e.clk, Log: slog.New(slog.DiscardHandler),
			Metrics: metrics.New(prometheus.NewRegistry(), []string{"anna"}), Instance: "retry",
			Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	r.RegisterSender(channels.Telegram, ch)
	settle := func() {
		t.Helper()
		if err := r.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// An entry left pending would be reclaimed once idle for reclaim_idle: make every
	// pending outbound entry look idle for ten minutes before each round.
	outbound := e.keys.Core("outbound")
	ageAll := func() {
		t.Helper()
		p, _ := e.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: outbound, Group: "send", Start: "-", End: "+", Count: 100}).Result()
		for _, x := range p {
			if err := e.rdb.Do(ctx, "XCLAIM", outbound, "send", x.Consumer, 0, x.ID, "IDLE", 600000, "JUSTID").Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	sends := func() int { return len(e.srv.Calls("sendMessage")) }

	e.srv.FailNext("sendMessage", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 41", RetryAfter: 41})
	if _, err := e.ing.Ingest(ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: MessageID(4242, 1),
		ContactID: "4242", Text: "hello", ReceivedAt: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	settle()
	if n := sends(); n != 1 {
		t.Fatalf("%d sendMessage calls, want the one answered 429", n)
	}
	for elapsed := time.Second; elapsed < 41*time.Second; elapsed += time.Second {
		e.clk.Advance(time.Second)
		ageAll()
		settle()
		if n := sends(); n != 1 {
			t.Fatalf("sent again %s after a 429 with retry_after 41", elapsed)
		}
	}
	e.clk.Advance(time.Second) // +41 s
	ageAll()
	settle()
	calls := e.srv.Calls("sendMessage")
	if len(calls) != 2 || calls[1].MessageID == 0 || calls[1].ChatID() != 4242 {
		t.Fatalf("after retry_after: calls %+v, want exactly one more, successful", calls)
	}
	for i := 0; i < 5; i++ {
		e.clk.Advance(time.Minute)
		ageAll()
		settle()
	}
	if n := sends(); n != 2 {
		t.Fatalf("%d sendMessage calls in the end, want 2", n)
	}
}
