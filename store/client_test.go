package store_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/store"
)

func TestOpenEmbedded(t *testing.T) {
	ctx := context.Background()
	var cfg store.Config
	cfg.Defaults()
	if cfg.URL != store.Embedded || cfg.Prefix != "lidorub" || cfg.EmbeddedAddr != "127.0.0.1:0" {
		t.Fatalf("defaults = %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	var logs testlog.Buffer
	conn, err := store.Open(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			conn.Close()
		}
	})
	addr := conn.EmbeddedAddr()
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
		t.Fatalf("EmbeddedAddr() = %q", addr)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "lost when it stops") {
		t.Fatalf("no warning about the in-memory server in the logs:\n%s", logs.String())
	}
	rdb, keys := conn.Client, conn.Keys
	if keys.Prefix != "lidorub" {
		t.Fatalf("Keys.Prefix = %q", keys.Prefix)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	// The ingest Lua script runs on the embedded server.
	g := store.NewIngest(rdb, keys, clock.NewFake(t0), nil)
	in := sampleInbound()
	first, err := g.Ingest(ctx, in)
	if err != nil {
		t.Fatalf("ingest on the embedded server: %v", err)
	}
	again, err := g.Ingest(ctx, in)
	if err != nil || !again.Duplicate || again.EntryID != first.EntryID {
		t.Fatalf("duplicate on the embedded server = %+v, %v", again, err)
	}
	second := in
	second.MessageID = "1002"
	poison, err := g.Ingest(ctx, second)
	if err != nil {
		t.Fatal(err)
	}

	// XAUTOCLAIM (reclaim) and the dead-letter MULTI/EXEC work there too.
	if err := store.EnsureGroup(ctx, rdb, keys.Inbound(), group); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "dead", Streams: []string{keys.Inbound(), ">"}, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	for id, count := range map[string]int{first.EntryID: 1, poison.EntryID: 5} {
		if err := rdb.Do(ctx, "XCLAIM", keys.Inbound(), group, "dead", 0, id, "IDLE", 600000, "RETRYCOUNT", count, "JUSTID").Err(); err != nil {
			t.Fatalf("XCLAIM IDLE on the embedded server: %v", err)
		}
	}
	var got []channels.Inbound
	h := func(_ context.Context, e store.Entry) error {
		in, err := store.DecodeInbound(e.Values)
		got = append(got, in)
		return err
	}
	c := store.NewConsumer(rdb, store.ConsumerConfig{Stream: keys.Inbound(), Group: group, Consumer: "alive", MaxDeliveries: 5}, h, testLogger(t), nil)
	if n, err := c.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("Poll on the embedded server = %d, %v", n, err)
	}
	if len(got) != 1 || got[0].MessageID != "1001" {
		t.Fatalf("reclaimed %+v", got)
	}
	if n, err := store.PendingCount(ctx, rdb, keys.Inbound(), group); err != nil || n != 0 {
		t.Fatalf("PendingCount = %d, %v", n, err)
	}
	if n, err := rdb.XLen(ctx, store.DeadLetter(keys.Inbound())).Result(); err != nil || n != 1 {
		t.Fatalf("dead-letter stream length = %d, %v", n, err)
	}

	// Close stops the server: nothing listens on its address any more.
	if err := conn.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed = true
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("embedded server still listens on %s after Close", addr)
	}
	err = rdb.Ping(ctx).Err()
	if err == nil || !store.IsUnavailable(err) {
		t.Fatalf("Ping after Close = %v, want an unavailable error", err)
	}
}

func TestOpenEmbeddedAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = store.Open(context.Background(), store.Config{URL: store.Embedded, EmbeddedAddr: l.Addr().String()}, testLogger(t))
	if err == nil || !strings.HasPrefix(err.Error(), "start embedded redis on "+l.Addr().String()+": ") {
		t.Fatalf("Open on a busy address = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	const urlErr = `url: not a redis:// URL or "embedded": `
	tests := []struct {
		name string
		cfg  store.Config
		want string // "" means valid
	}{
		{"embedded", store.Config{URL: "embedded", Prefix: "lidorub"}, ""},
		{"redis url", store.Config{URL: "redis://127.0.0.1:6379/0", Prefix: "lidorub"}, ""},
		{"redis url with password", store.Config{URL: "redis://:s3cret@redis.internal:6379/2", Prefix: "acme-prod"}, ""},
		{"rediss url", store.Config{URL: "rediss://user:pw@redis.example.com:6380", Prefix: "x_1"}, ""},
		{"cluster seeds", store.Config{URL: "10.0.0.1:7000, 10.0.0.2:7000,redis://10.0.0.3:7000", Cluster: true, Prefix: "lidorub"}, ""},
		{"empty url", store.Config{Prefix: "lidorub"}, urlErr + "redis: invalid URL scheme: "},
		{"http url", store.Config{URL: "http://127.0.0.1:6379", Prefix: "lidorub"}, urlErr + "redis: invalid URL scheme: http"},
		{"host:port without scheme", store.Config{URL: "127.0.0.1:6379", Prefix: "lidorub"}, urlErr + "first path segment in URL cannot contain colon"},
		{"bad database", store.Config{URL: "redis://127.0.0.1:6379/abc", Prefix: "lidorub"}, urlErr + `redis: invalid database number: "abc"`},
		{"bad port, password not echoed", store.Config{URL: "redis://:s3cret@127.0.0.1:notaport/0", Prefix: "lidorub"}, urlErr + `invalid port ":notaport" after host`},
		{"bad escape, password not echoed", store.Config{URL: "redis://u:s3cret@h%zz:1/0", Prefix: "lidorub"}, urlErr + `invalid URL escape "%zz"`},
		{"cluster seed with credentials", store.Config{URL: "redis://:s3cret@10.0.0.1:7000", Cluster: true, Prefix: "lidorub"}, "url: seed 1 has credentials (user:password@), which a seed list does not support: use redis.password"},
		{"sentinel seeds", store.Config{URL: "10.0.0.1:26379,10.0.0.2:26379", SentinelMaster: "mymaster", Password: "s3cret", Prefix: "lidorub"}, ""},
		{"sentinel seed with credentials", store.Config{URL: "redis://:s3cret@10.0.0.1:26379", SentinelMaster: "mymaster", Prefix: "lidorub"}, "url: seed 1 has credentials (user:password@), which a seed list does not support: use redis.password"},
		{"sentinel with embedded", store.Config{URL: "embedded", SentinelMaster: "mymaster", Prefix: "lidorub"}, "sentinel_master: cannot be used with the embedded server"},
		{"sentinel with cluster", store.Config{URL: "10.0.0.1:7000", Cluster: true, SentinelMaster: "mymaster", Prefix: "lidorub"}, "sentinel_master: cannot be used with cluster: true (Redis Cluster has no Sentinels)"},
		{"prefix with colon", store.Config{URL: "embedded", Prefix: "a:b"}, "prefix: must not contain '{', '}', ':' or spaces"},
		{"prefix with brace", store.Config{URL: "embedded", Prefix: "{a}"}, "prefix: must not contain '{', '}', ':' or spaces"},
		{"prefix with space", store.Config{URL: "embedded", Prefix: "a b"}, "prefix: must not contain '{', '}', ':' or spaces"},
		{"cluster with embedded", store.Config{URL: "embedded", Cluster: true, Prefix: "lidorub"}, "cluster: cannot be used with the embedded server"},
		{"several errors", store.Config{URL: "embedded", Cluster: true, Prefix: "a b"},
			"prefix: must not contain '{', '}', ':' or spaces\ncluster: cannot be used with the embedded server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("Validate() = %q\nwant         %q", got, tt.want)
			}
			if strings.Contains(got, "s3cret") {
				t.Fatalf("validation error shows the password: %q", got)
			}
		})
	}
}

func TestOpenErrorsDoNotShowPassword(t *testing.T) {
	tests := []struct {
		name       string
		cfg        store.Config
		wantPrefix string
		down       bool
	}{
		{"closed port", store.Config{URL: "redis://:s3cret@127.0.0.1:1/0"}, "redis does not answer: ", true},
		{"unparsable url", store.Config{URL: "redis://:s3cret@127.0.0.1:notaport/0"}, "redis.url: ", false},
		{"cluster seed with credentials", store.Config{URL: "redis://:s3cret@127.0.0.1:1", Cluster: true}, "redis.url: ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := store.Open(ctx, tt.cfg, testLogger(t))
			if err == nil {
				conn.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.wantPrefix) {
				t.Fatalf("error %q, want prefix %q", msg, tt.wantPrefix)
			}
			if strings.Contains(msg, "s3cret") {
				t.Fatalf("error shows the password: %q", msg)
			}
			if tt.down {
				if !strings.Contains(msg, "127.0.0.1:1") {
					t.Fatalf("error %q does not name the address", msg)
				}
				if !store.IsUnavailable(err) {
					t.Fatalf("IsUnavailable(%q) = false", msg)
				}
			}
		})
	}
}

func TestIsUnavailable(t *testing.T) {
	ctx := context.Background()
	rdb, _ := newRedis(t)
	scriptErr := rdb.Eval(ctx, "return redis.error_reply('ERR boom')", nil).Err()
	if scriptErr == nil {
		t.Fatal("script error expected")
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"script error", scriptErr, false},
		{"nil reply", redis.Nil, false},
		{"plain error", errors.New("x"), false},
		{"closed client", redis.ErrClosed, true},
		{"deadline", context.DeadlineExceeded, true},
		{"wrapped dial error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
	}
	for _, tt := range tests {
		if got := store.IsUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: IsUnavailable = %v, want %v", tt.name, got, tt.want)
		}
	}
}
