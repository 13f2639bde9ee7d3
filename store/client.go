// Package store connects the gateway to Redis: the client (or the embedded in-memory
// server), the key layout, the inbound ingest script, the stream consumer used by every
// worker, and leases for singleton work.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/conf"
)

// defaultPoolSize: every stream worker holds a connection in a blocking XREADGROUP, so the
// go-redis default (10 per CPU) can run short on small machines. A URL may set ?pool_size=N.
const defaultPoolSize = 128

// Embedded is the redis.url value that starts an in-process, in-memory server.
const Embedded = "embedded"

// Config is the redis: section.
type Config struct {
	// URL is redis://[user:pass@]host:port/db, rediss://..., "embedded", or a comma-separated
	// list of host:port seeds for Redis Cluster (cluster mode is also chosen by Cluster: true).
	URL     string `yaml:"url"`
	Cluster bool   `yaml:"cluster"`
	// Prefix of every key (default "lidorub"). Several gateways with different prefixes can share one Redis.
	Prefix string `yaml:"prefix"`
	// EmbeddedAddr is where the embedded server listens (default 127.0.0.1:0, i.e. any free port).
	EmbeddedAddr string `yaml:"embedded_addr"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.URL == "" {
		c.URL = Embedded
	}
	if c.Prefix == "" {
		c.Prefix = "lidorub"
	}
	if c.EmbeddedAddr == "" {
		c.EmbeddedAddr = "127.0.0.1:0"
	}
}

// Validate checks the section. Paths are relative to "redis".
func (c *Config) Validate() error {
	var errs conf.Errors
	if c.URL != Embedded && !c.Cluster {
		if _, err := redis.ParseURL(c.URL); err != nil {
			errs.Add("url", "not a redis:// URL or %q: %s", Embedded, redactURLError(err))
		}
	}
	if c.Cluster && c.URL != Embedded {
		if _, err := clusterSeeds(c.URL); err != nil {
			errs.Add("url", "%s", err)
		}
	}
	if strings.ContainsAny(c.Prefix, "{}: ") {
		errs.Add("prefix", "must not contain '{', '}', ':' or spaces")
	}
	if c.URL == Embedded && c.Cluster {
		errs.Add("cluster", "cannot be used with the embedded server")
	}
	return errs.Err()
}

func redactURLError(err error) string {
	// url.Parse errors quote the whole URL, password included: keep only the reason.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// Conn is an open Redis connection plus, for the embedded mode, the server behind it.
type Conn struct {
	Client   redis.UniversalClient
	Keys     Keys
	embedded *miniredis.Miniredis
}

// Open connects (or starts the embedded server) and pings.
func Open(ctx context.Context, c Config, log *slog.Logger) (*Conn, error) {
	conn := &Conn{Keys: NewKeys(c.Prefix)}
	switch {
	case c.URL == Embedded:
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr(c.EmbeddedAddr); err != nil {
			return nil, fmt.Errorf("start embedded redis on %s: %w", c.EmbeddedAddr, err)
		}
		conn.embedded = m
		conn.Client = redis.NewClient(&redis.Options{Addr: m.Addr(), PoolSize: defaultPoolSize})
		log.Warn("redis.url is \"embedded\": all data lives in this process's memory and is lost when it stops; point redis.url (or REDIS_URL) at Redis 7 in production",
			"addr", m.Addr())
	case c.Cluster:
		addrs, err := clusterSeeds(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		conn.Client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: defaultPoolSize})
	default:
		opt, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %s", redactURLError(err))
		}
		if !strings.Contains(c.URL, "pool_size=") {
			opt.PoolSize = defaultPoolSize
		}
		conn.Client = redis.NewClient(opt)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := conn.Client.Ping(pctx).Err(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("redis does not answer: %w", err)
	}
	return conn, nil
}

// clusterSeeds splits the comma-separated host:port seeds of cluster mode. A seed with
// credentials is refused: it would be dialled as an address and the password would show
// in every connection error.
func clusterSeeds(list string) ([]string, error) {
	var addrs []string
	for i, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(a), "redis://"))
		if strings.Contains(a, "@") {
			return nil, fmt.Errorf("cluster seed %d has credentials (user:password@), which cluster mode does not support", i+1)
		}
		if a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs, nil
}

// EmbeddedAddr returns the embedded server's address, or "".
func (c *Conn) EmbeddedAddr() string {
	if c.embedded == nil {
		return ""
	}
	return c.embedded.Addr()
}

// Close closes the client and stops the embedded server.
func (c *Conn) Close() error {
	var err error
	if c.Client != nil {
		err = c.Client.Close()
	}
	if c.embedded != nil {
		c.embedded.Close()
	}
	return err
}

// IsUnavailable reports whether err means Redis could not be reached (as opposed to a
// script or data error).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, redis.ErrClosed) || errors.Is(err, context.DeadlineExceeded)
}
