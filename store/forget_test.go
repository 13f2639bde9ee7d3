package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// Forget deletes the matching entries every group has acknowledged and keeps those still
// pending or not yet delivered (their work is not lost); with pending=true it deletes those
// too, and a consumer given a deleted pending entry acknowledges it and moves on.
func TestForgetKeepsPendingAndUndeliveredWork(t *testing.T) {
	ctx := context.Background()
	s := newStreamEnv(t)
	// a0..a3: a0,a1 acknowledged; a2 pending (delivered, killed consumer); a3 not delivered
	ids := s.add(3)
	if got := s.readRaw(group, "worker", 2); len(got) != 2 {
		t.Fatalf("read %v", got)
	}
	if err := s.rdb.XAck(ctx, s.stream, group, ids[0], ids[1]).Err(); err != nil {
		t.Fatal(err)
	}
	s.readRaw(group, "worker", 1) // ids[2] pending
	more := s.add(1)              // undelivered
	ids = append(ids, more...)
	// a second group created after them ($) never needs them: it does not keep them
	if err := s.rdb.XGroupCreate(ctx, s.stream, "other", "$").Err(); err != nil {
		t.Fatal(err)
	}
	all := func(string, map[string]any) bool { return true }
	left := func() []string {
		var out []string
		for _, m := range s.rdb.XRange(ctx, s.stream, "-", "+").Val() {
			out = append(out, m.ID)
		}
		return out
	}

	n, err := store.Forget(ctx, s.rdb, s.stream, false, func(_ string, v map[string]any) bool {
		return v["m"] != "payload-1"
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ids[1], ids[2], ids[3]}; n != 1 || !slices.Equal(left(), want) {
		t.Fatalf("deleted %d, left %v; want only the acknowledged match %s gone", n, left(), ids[0])
	}

	n, err = store.Forget(ctx, s.rdb, s.stream, true, all)
	if err != nil || n != 3 || len(left()) != 0 {
		t.Fatalf("pending=true: deleted %d (%v), left %v", n, err, left())
	}
	// The consumer whose entry was deleted while pending acknowledges it and goes on.
	r := &recorder{}
	c := s.consumer("worker", r.handle, nil, nil)
	s.poll(c)
	if p := s.pending(); len(p) != 0 || len(r.seen()) != 0 {
		t.Fatalf("pending %v, handled %v", p, r.seen())
	}
}

// A dead-letter stream has no group: every matching entry goes.
func TestForgetDeadLetterStream(t *testing.T) {
	ctx := context.Background()
	rdb, keys := newRedis(t)
	dead := store.DeadLetter(keys.Core("outbound"))
	for _, v := range []string{"conv 1", "conv 2", "conv 1 again"} {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: dead, Values: map[string]any{"o": v}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	n, err := store.Forget(ctx, rdb, dead, false, func(_ string, v map[string]any) bool {
		s, _ := v["o"].(string)
		return strings.HasPrefix(s, "conv 1")
	})
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if n, err := store.Forget(ctx, rdb, keys.Core("nothing"), false, func(string, map[string]any) bool { return true }); err != nil || n != 0 {
		t.Fatalf("missing stream: %d, %v", n, err)
	}
}
