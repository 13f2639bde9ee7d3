package staffbot

import (
	"context"
	"errors"
	"testing"

	"github.com/lidorub/lidorub/internal/redistest"
)

// A process that dies after taking a notification's marker and before sending must not make
// the notification disappear: the redelivered event is refused while the crashed attempt's
// lease holds, and sent once it lapses; after a success it is never sent again.
func TestOnceSurvivesACrashedAttempt(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	b := &Bot{d: Deps{Redis: rdb}}
	marker := "{" + prefix + "}:once"
	sent := 0
	send := func() error { sent++; return nil }

	// the crashed attempt: marker taken, nothing sent, process gone
	if err := rdb.Set(ctx, marker, "pending", onceLease).Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.once(ctx, marker, send); !errors.Is(err, errInProgress) || sent != 0 {
		t.Fatalf("while the crashed attempt's lease holds: err %v, sent %d", err, sent)
	}
	if ttl := rdb.PTTL(ctx, marker).Val(); ttl <= 0 || ttl > onceLease {
		t.Fatalf("pending marker TTL %v, want a short lease", ttl)
	}
	rdb.Del(ctx, marker) // the lease lapses (Redis expiry, simulated without waiting)
	if err := b.once(ctx, marker, send); err != nil || sent != 1 {
		t.Fatalf("after the lease lapsed: err %v, sent %d", err, sent)
	}
	if err := b.once(ctx, marker, send); err != nil || sent != 1 {
		t.Fatalf("repeat after success: err %v, sent %d", err, sent)
	}
	if ttl := rdb.PTTL(ctx, marker).Val(); ttl <= onceLease {
		t.Fatalf("done marker TTL %v, want the long keyTTL", ttl)
	}
	// a failed attempt clears the marker so the retry goes at once
	m2 := marker + "2"
	if err := b.once(ctx, m2, func() error { return errors.New("telegram down") }); err == nil {
		t.Fatal("the failure was swallowed")
	}
	if err := b.once(ctx, m2, send); err != nil || sent != 2 {
		t.Fatalf("retry after a failure: err %v, sent %d", err, sent)
	}
}
