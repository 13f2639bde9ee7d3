package app

import (
	"runtime"
	"testing"

	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// The Redis pool leaves room beside the blocking stream reads (four per router worker):
// the store's default (0 here) unless many workers need more.
func TestRedisPoolSize(t *testing.T) {
	tests := []struct {
		name    string
		pool    int
		workers int
		want    int
	}{
		{"store default", 0, 4, 0},
		{"many workers", 0, 64, 10*runtime.GOMAXPROCS(0) + 256},
		{"configured", 7, 64, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{Redis: store.Config{PoolSize: tt.pool}, Router: router.Config{Workers: tt.workers}}
			if got := RedisConfig(cfg).PoolSize; got != tt.want {
				t.Fatalf("pool size %d, want %d", got, tt.want)
			}
			if cfg.Redis.PoolSize != tt.pool {
				t.Fatalf("the config itself was changed")
			}
		})
	}
}
