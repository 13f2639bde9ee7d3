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
// go-redis default (10 per CPU) can run short on small machines. A URL may set ?pool_size=N;
// Config.PoolSize, when set, wins over both.
const defaultPoolSize = 128

// DefaultPoolSize is the pool size per node used when neither redis.pool_size nor the URL sets one.
const DefaultPoolSize = defaultPoolSize

func (c Config) poolSize() int {
	if c.PoolSize > 0 {
		return c.PoolSize
	}
	return defaultPoolSize
}

// Embedded is the redis.url value that starts an in-process, in-memory server.
const Embedded = "embedded"

// Config is the redis: section.
type Config struct {
	// URL is redis://[user:pass@]host:port/db, rediss://..., "embedded", or a comma-separated
	// list of host:port seeds: Redis Cluster nodes with Cluster: true, Sentinels with
	// SentinelMaster set.
	URL     string `yaml:"url"`
	Cluster bool   `yaml:"cluster"`
	// SentinelMaster is the master name monitored by the Sentinels listed in URL; the client
	// follows failovers (go-redis NewFailoverClient).
	SentinelMaster string `yaml:"sentinel_master"`
	// Password (and Username, for Redis ACLs) authenticate to the data nodes in cluster and
	// sentinel modes, where URL is a list of addresses; SentinelPassword authenticates to the
	// Sentinels themselves. Use ${ENV} references, never literal secrets.
	Username         string `yaml:"username"`
	Password         string `yaml:"password"`
	SentinelPassword string `yaml:"sentinel_password"`
	// Prefix of every key (default "lidorub"). Several gateways with different prefixes can share one Redis.
	Prefix string `yaml:"prefix"`
	// EmbeddedAddr is where the embedded server listens (default 127.0.0.1:0, i.e. any free port).
	EmbeddedAddr string `yaml:"embedded_addr"`
	// PoolSize is the number of connections per Redis node (0: the URL's ?pool_size, else
	// DefaultPoolSize; the serve command raises it for many router workers, because every
	// stream consumer holds a connection during its blocking read). Too small a pool makes
	// every command wait for a blocking read to return.
	PoolSize int `yaml:"pool_size"`
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
	seeds := c.Cluster || c.SentinelMaster != ""
	if c.URL != Embedded && !seeds {
		if _, err := redis.ParseURL(c.URL); err != nil {
			errs.Add("url", "not a redis:// URL or %q: %s", Embedded, redactURLError(err))
		}
	}
	if seeds && c.URL != Embedded {
		if _, err := clusterSeeds(c.URL); err != nil {
			errs.Add("url", "%s", err)
		}
	}
	if strings.ContainsAny(c.Prefix, "{}: ") {
		errs.Add("prefix", "must not contain '{', '}', ':' or spaces")
	}
	if c.PoolSize < 0 {
		errs.Add("pool_size", "must not be negative")
	}
	if c.URL == Embedded && c.Cluster {
		errs.Add("cluster", "cannot be used with the embedded server")
	}
	if c.URL == Embedded && c.SentinelMaster != "" {
		errs.Add("sentinel_master", "cannot be used with the embedded server")
	}
	if c.Cluster && c.SentinelMaster != "" {
		errs.Add("sentinel_master", "cannot be used with cluster: true (Redis Cluster has no Sentinels)")
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
		conn.Client = redis.NewClient(&redis.Options{Addr: m.Addr(), PoolSize: c.poolSize()})
		log.Warn("redis.url is \"embedded\": all data lives in this process's memory and is lost when it stops; point redis.url (or REDIS_URL) at Redis 7 in production",
			"addr", m.Addr())
	case c.Cluster:
		addrs, err := clusterSeeds(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		conn.Client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: c.poolSize(),
			Username: c.Username, Password: c.Password})
	case c.SentinelMaster != "":
		addrs, err := clusterSeeds(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		conn.Client = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: c.SentinelMaster, SentinelAddrs: addrs,
			SentinelPassword: c.SentinelPassword, Username: c.Username, Password: c.Password, PoolSize: c.poolSize()})
	default:
		opt, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %s", redactURLError(err))
		}
		switch {
		case c.PoolSize > 0:
			opt.PoolSize = c.PoolSize
		case !strings.Contains(c.URL, "pool_size="):
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
	keys, err := LoadSalt(pctx, conn.Client, conn.Keys)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.Keys = keys
	return conn, nil
}

// clusterSeeds splits the comma-separated host:port seeds of cluster and sentinel modes. A
// seed with credentials is refused: it would be dialled as an address and the password
// would show in every connection error (redis.password is the place for it).
func clusterSeeds(list string) ([]string, error) {
	var addrs []string
	for i, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(a), "redis://"))
		if strings.Contains(a, "@") {
			return nil, fmt.Errorf("seed %d has credentials (user:password@), which a seed list does not support: use redis.password", i+1)
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
