package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lidorub/lidorub/store"
)

func TestLeaseSingleHolder(t *testing.T) {
	ctx := context.Background()
	rdb, keys := newRedis(t)
	key := keys.Channel("telegram", "bot1", "lease")
	const ttl = 15 * time.Second
	a := store.NewLease(rdb, key, ttl)
	b := store.NewLease(rdb, key, ttl)
	if a.TTL() != ttl {
		t.Fatalf("TTL() = %v", a.TTL())
	}

	must := func(ok bool, err error) bool {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	checkTTL := func() {
		t.Helper()
		pttl, err := rdb.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if pttl > ttl || pttl < ttl-5*time.Second {
			t.Fatalf("lease PTTL = %v, want about %v (a dead holder's lease must lapse)", pttl, ttl)
		}
	}

	if !must(a.Acquire(ctx)) {
		t.Fatal("a could not acquire a free lease")
	}
	checkTTL()
	if must(b.Acquire(ctx)) {
		t.Fatal("b acquired a lease held by a")
	}
	if !must(a.Acquire(ctx)) {
		t.Fatal("a's Acquire of its own lease must succeed (and renew)")
	}

	// Renew: only the owner.
	if err := rdb.PExpire(ctx, key, time.Second).Err(); err != nil { // shorten it to see Renew restore it
		t.Fatal(err)
	}
	if !must(a.Renew(ctx)) {
		t.Fatal("owner's Renew = false")
	}
	checkTTL()
	if must(b.Renew(ctx)) {
		t.Fatal("non-owner's Renew = true")
	}

	// Release by the non-owner does nothing.
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, key).Result(); n != 1 {
		t.Fatal("non-owner's Release deleted the lease")
	}
	if !must(a.Renew(ctx)) {
		t.Fatal("a lost the lease after b's Release")
	}

	// a's process dies and its lease lapses (simulated by deleting the key): b takes over,
	// and a, if it comes back, learns at its next Renew that it must stop.
	if err := rdb.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if !must(b.Acquire(ctx)) {
		t.Fatal("b could not acquire a lapsed lease")
	}
	if must(a.Renew(ctx)) {
		t.Fatal("a renewed a lease now held by b")
	}
	if must(a.Acquire(ctx)) {
		t.Fatal("a acquired the lease held by b")
	}

	// Release by the owner frees it at once.
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, key).Result(); n != 0 {
		t.Fatal("owner's Release left the key")
	}
	if !must(a.Acquire(ctx)) {
		t.Fatal("a could not acquire a released lease")
	}
}

func TestLeaseConcurrentAcquire(t *testing.T) {
	ctx := context.Background()
	rdb, keys := newRedis(t)
	key := keys.Lease("router-timers")
	const n = 16
	var wg sync.WaitGroup
	won := make([]bool, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		l := store.NewLease(rdb, key, 10*time.Second)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := l.Acquire(ctx)
			if err != nil {
				t.Error(err)
			}
			won[i] = ok
		}()
	}
	close(start)
	wg.Wait()
	winners := 0
	for _, w := range won {
		if w {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d processes hold the lease, want 1", winners)
	}
}
