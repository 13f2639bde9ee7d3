package router_test

import (
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// Erasure deletes the contact's inbound entries that were applied, acknowledged or not (a
// crash between applying and acknowledging), and keeps a pending one not yet applied: it is
// a new message, which makes a new conversation.
func TestEraseKeepsUnappliedInbound(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor}}})
	e.inbound("c1", "first")
	ingest := func(id, text string) string {
		t.Helper()
		res, err := e.ingest.Ingest(e.ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: id,
			ContactID: "c1", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return res.EntryID
	}
	applied := ingest("c1-applied", "applied, not acknowledged")
	fresh := ingest("c1-fresh", "not applied yet")
	// a consumer that died after process.lua for the first and before applying the second
	if err := e.rdb.XReadGroup(e.ctx, &redis.XReadGroupArgs{Group: "router", Consumer: "dead",
		Streams: []string{e.keys.Inbound(), ">"}, Count: 2, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.rdb.Set(e.ctx, e.keys.Core("done", applied), "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, m := range e.rdb.XRange(e.ctx, e.keys.Inbound(), "-", "+").Val() {
		left = append(left, m.ID)
	}
	if !slices.Equal(left, []string{fresh}) {
		t.Fatalf("inbound entries left %v, want only the unapplied %s", left, fresh)
	}
}
