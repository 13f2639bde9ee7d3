package router_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
)

// TestKeyNamesDoNotChange walks a conversation through every script (offer, pass, accept,
// reply, delivery status, lapse, close; a qualification rule, a phone and pre-chat questions)
// and lists the Redis keys left behind: renaming a key would orphan the data of a running
// installation, so a change here needs a migration note.
func TestKeyNamesDoNotChange(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{OfferTimeout: 30 * time.Second, MaxOffers: 5,
		PreChat: router.PreChat{Channels: []string{channels.Telegram}}},
		qualify: &qualify.Config{Rules: []qualify.Rule{{Name: "second", Keywords: []string{"second"}, Tags: []string{"x"}}}}})
	e.online("anna", "boris")
	e.inbound("c1", "hi")
	first := e.conv(1).OfferTo
	if err := e.r.Pass(e.ctx, 1, first); err != nil {
		t.Fatal(err)
	}
	e.settle()
	second := e.conv(1).OfferTo
	if err := e.r.Accept(e.ctx, 1, second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Reply(e.ctx, 1, second, "hello", nil); err != nil {
		t.Fatal(err)
	}
	e.settle()
	e.ingestMsg(channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "st-1", Kind: channels.KindStatus,
		Meta: map[string]string{"ref": "tg-" + e.sender.last().ID, "status": "read"}})
	e.ingestMsg(channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "c2-1", ContactID: "c2",
		Text: "second lead", Phone: "+79161234567", Meta: map[string]string{"utm_source": "ads"}})
	e.advance(31 * time.Second) // the offer of c2 lapses and is offered again
	if err := e.r.Close(e.ctx, 1, second); err != nil {
		t.Fatal(err)
	}
	e.settle()

	var got []string
	for _, pattern := range []string{"{" + e.keys.Prefix + "}*", "{" + e.keys.Prefix + ":in}*"} {
		ks, err := e.rdb.Keys(e.ctx, pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ks...)
	}
	ids := regexp.MustCompile(`\d{10,}-\d+`)
	pseudonyms := regexp.MustCompile(`[0-9a-f]{32}$`)
	for i, k := range got {
		k = strings.ReplaceAll(k, e.keys.Prefix, "P")
		k = strings.ReplaceAll(k, ":"+first, ":M1")
		k = strings.ReplaceAll(k, ":"+second, ":M2")
		k = pseudonyms.ReplaceAllString(k, "<ps>")
		got[i] = ids.ReplaceAllString(k, "<entry>")
	}
	slices.Sort(got)
	got = slices.Compact(got)
	// Deliberate changes (issue 10, erasure): the message id in dedupe and outref keys is a
	// salted pseudonym (a Telegram id holds the chat id); {P}:expiry holds closed conversations
	// until their retention ends (conversation 1 is closed). Issue 11: {P}:conv:<id>:card (the
	// lead card: qualification explanation, pre-chat answers) and the contact indexes
	// {P}:hist:c|p|e:... (by pseudonyms of the contact, phone, e-mail). Upgrading forgets the dedupe
	// markers and delivery references of the last 7-8 days: a webhook redelivered across the
	// upgrade is taken once more, and a status of a message sent before it is not matched.
	// Issue 12: the lead timeline {P}:conv:<id>:tl, the {P}:timeline stream and {P}:leads.
	want := []string{
		"{P:in}:dedupe:telegram:shop:<ps>",
		"{P:in}:inbound",
		"{P}:contact:telegram:shop:c2",
		"{P}:conv:1",
		"{P}:conv:1:log",
		"{P}:conv:1:tl",
		"{P}:conv:2",
		"{P}:conv:2:card",
		"{P}:conv:2:lapsed",
		"{P}:conv:2:log",
		"{P}:conv:2:meta",
		"{P}:conv:2:tl",
		"{P}:done:<entry>",
		"{P}:events",
		"{P}:expiry",
		"{P}:fired",
		"{P}:hist:c:telegram:shop:<ps>",
		"{P}:hist:p:<ps>",
		"{P}:leads",
		"{P}:mgr:M1",
		"{P}:mgr:M2",
		"{P}:mgr:M2:convs",
		"{P}:out:c1-auto_ack",
		"{P}:out:c1-pc1",
		"{P}:out:c1-r1",
		"{P}:out:c2-auto_ack",
		"{P}:out:c2-pc1",
		"{P}:outbound",
		"{P}:outref:telegram:shop:<ps>",
		"{P}:rr",
		"{P}:seq",
		"{P}:timeline",
		"{P}:timers",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Redis keys (-want +got):\n%s", diff)
	}
}
