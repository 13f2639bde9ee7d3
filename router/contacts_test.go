package router_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
)

// take accepts the current offer of conversation id and returns who took it.
func (e *env) take(id int64) string {
	e.t.Helper()
	m := e.conv(id).OfferTo
	if m == "" {
		e.t.Fatalf("conversation %d is not offered: %+v", id, e.conv(id))
	}
	if err := e.r.Accept(e.ctx, id, m); err != nil {
		e.t.Fatal(err)
	}
	e.settle()
	return m
}

func (e *env) closeConv(id int64, m string) {
	e.t.Helper()
	if err := e.r.Close(e.ctx, id, m); err != nil {
		e.t.Fatal(err)
	}
	e.settle()
}

// previousIDs are the ids of c.Previous in order.
func previousIDs(c *router.Conversation) []int64 {
	var ids []int64
	for _, p := range c.Previous {
		ids = append(ids, p.ID)
	}
	return ids
}

func TestPreviousLeadsOfAReturningContact(t *testing.T) {
	prio := 5
	e := newEnv(t, opts{qualify: &qualify.Config{Rules: []qualify.Rule{{Name: "delivery", Keywords: []string{"delivery"},
		Priority: &prio, Tags: []string{"logistics"}}}}})
	e.online("anna")
	// 1: Telegram, with a phone; qualified warm and closed
	e.ingestMsg(channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m1", ContactID: "c1",
		Text: "do you do delivery?", Phone: "+79161234567"})
	c1 := e.conv(1)
	if len(c1.Explanation) != 1 || !strings.Contains(c1.Explanation[0], "delivery") {
		t.Fatalf("explanation %q, want the delivery rule", c1.Explanation)
	}
	if len(c1.Previous) != 0 {
		t.Fatalf("a first lead has previous leads: %+v", c1.Previous)
	}
	m := e.take(1)
	if err := e.r.Qualify(e.ctx, 1, m, router.QualWarm); err != nil {
		t.Fatal(err)
	}
	closedAt := e.clock.Now()
	e.closeConv(1, m)

	// 2: the same Telegram contact writes again a day later
	e.clock.Advance(24 * time.Hour)
	e.ingestMsg(channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m2", ContactID: "c1", Text: "hello again"})
	c2 := e.conv(2)
	want := []router.PreviousLead{{ID: 1, Channel: channels.Telegram, State: router.StateClosed, Qualification: router.QualWarm,
		ManagerID: m, CreatedAt: t0, ClosedAt: closedAt}}
	if diff := cmp.Diff(want, c2.Previous); diff != "" {
		t.Fatalf("previous of conversation 2 (-want +got):\n%s", diff)
	}
	// the offer event's snapshot has them too (the staff bot shows the returning contact)
	e.events.mu.Lock()
	var offered *router.Conversation
	for _, ev := range e.events.evs {
		if ev.Type == router.EventOffer && ev.ConversationID == 2 {
			offered = ev.Conversation
		}
	}
	e.events.mu.Unlock()
	if offered == nil || !cmp.Equal(previousIDs(offered), []int64{1}) {
		t.Fatalf("offer event snapshot: %+v", offered)
	}
	if len(c2.Explanation) != 0 {
		t.Fatalf("no rule matched, yet explanation %q", c2.Explanation)
	}

	// 3: the same phone, written differently, on WhatsApp: conversation 1 (2 has no phone)
	e.ingestMsg(channels.Inbound{Channel: channels.WhatsAppCloud, Account: "123", MessageID: "w1", ContactID: "79161234567",
		Text: "hi", Phone: "79161234567"})
	if got := previousIDs(e.conv(3)); !cmp.Equal(got, []int64{1}) {
		t.Fatalf("previous of the WhatsApp lead %v, want [1]", got)
	}

	// 4 and 5: the same e-mail on two channels, case and spaces aside
	e.ingestMsg(channels.Inbound{Channel: channels.Instagram, Account: "ig", MessageID: "i1", ContactID: "igs1", Text: "hi", Email: "Olga@Example.com "})
	e.ingestMsg(channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m5", ContactID: "c5", Text: "hi", Email: "olga@example.com"})
	if got := previousIDs(e.conv(5)); !cmp.Equal(got, []int64{4}) {
		t.Fatalf("previous of the e-mail lead %v, want [4]", got)
	}
	// a later conversation is never a previous one
	if got := previousIDs(e.conv(4)); len(got) != 0 {
		t.Fatalf("previous of conversation 4 %v, want none", got)
	}
	// the phone and e-mail indexes do not name the number or the address
	ks, err := e.rdb.Keys(e.ctx, "{"+e.keys.Prefix+"}:hist:[pe]:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 {
		t.Fatalf("phone and e-mail indexes %v, want one of each", ks)
	}
	for _, k := range ks {
		if strings.Contains(k, "9161234567") || strings.Contains(strings.ToLower(k), "olga") {
			t.Errorf("personal data in key name %q", k)
		}
	}
}

func TestPreviousIsBoundedNewestFirst(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna")
	for i := 1; i <= 12; i++ {
		e.inbound("c1", "hi")
		e.closeConv(int64(i), e.take(int64(i)))
	}
	e.inbound("c1", "once more")
	got := previousIDs(e.conv(13))
	if want := []int64{12, 11, 10, 9, 8, 7, 6, 5, 4, 3}; !cmp.Equal(got, want) {
		t.Fatalf("previous %v, want %v", got, want)
	}
}

// Retirement and erasure take a conversation out of every contact index it is in; an index
// whose conversations are all closed gets their backstop TTL, one with an open conversation none.
func TestContactIndexesFollowErasureAndRetention(t *testing.T) {
	const retention = time.Hour
	backstop := retention + 7*24*time.Hour
	e := newEnv(t, opts{cfg: router.Config{Retention: retention},
		managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	e.online("anna")
	in := func(id string) channels.Inbound {
		return channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: id, ContactID: "c1", Text: "hi",
			Phone: "+79161234567", Email: "a@b.example"}
	}
	histKeys := func() []string {
		ks, err := e.rdb.Keys(e.ctx, "{"+e.keys.Prefix+"}:hist:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	ttls := func(what string, lo, hi time.Duration) {
		t.Helper()
		for _, k := range histKeys() {
			if ttl := e.rdb.PTTL(e.ctx, k).Val(); ttl < lo || ttl > hi {
				t.Fatalf("%s: index %s has TTL %v", what, k, ttl)
			}
		}
	}
	e.ingestMsg(in("m1"))
	if n := len(histKeys()); n != 3 {
		t.Fatalf("%d contact indexes, want 3 (contact, phone, e-mail)", n)
	}
	ttls("conversation 1 open", -1, -1)
	e.closeConv(1, e.take(1))
	ttls("every conversation closed", time.Millisecond, backstop)
	e.ingestMsg(in("m2"))
	ttls("conversation 2 open", -1, -1)
	if got := previousIDs(e.conv(2)); !cmp.Equal(got, []int64{1}) {
		t.Fatalf("previous %v, want [1]", got)
	}
	e.advance(retention + time.Second) // conversation 1 is retired
	if got := previousIDs(e.conv(2)); len(got) != 0 {
		t.Fatalf("previous %v after conversation 1 was retired", got)
	}
	for _, k := range histKeys() {
		if ids := e.rdb.ZRange(e.ctx, k, 0, -1).Val(); !cmp.Equal(ids, []string{"2"}) {
			t.Fatalf("index %s holds %v after retirement, want [2]", k, ids)
		}
	}
	if err := e.r.Erase(e.ctx, 2, "sue"); err != nil {
		t.Fatal(err)
	}
	if ks := histKeys(); len(ks) != 0 {
		t.Fatalf("contact indexes left after erasing every conversation: %v", ks)
	}
	// erasing the open conversation of a contact whose others are closed
	e.ingestMsg(in("m3"))
	e.closeConv(3, e.take(3))
	e.ingestMsg(in("m4"))
	if err := e.r.Erase(e.ctx, 4, "sue"); err != nil {
		t.Fatal(err)
	}
	ttls("the only open conversation erased", time.Millisecond, backstop)
	e.advance(retention + time.Second)
	if ks := histKeys(); len(ks) != 0 {
		t.Fatalf("contact indexes left after the last conversation was retired: %v", ks)
	}
}

// Erasure and retirement leave none of the lead card's personal data (pre-chat answers, the
// qualification explanation quoting the customer, the phone and e-mail behind the indexes).
func TestLeadCardLeavesNoPersonalData(t *testing.T) {
	for _, how := range []string{"erase", "retire"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, opts{cfg: router.Config{Retention: time.Hour, PreChat: router.PreChat{Channels: []string{channels.Telegram}}},
				qualify:  &qualify.Config{Rules: []qualify.Rule{{Name: "sofa", Keywords: []string{"sofa"}}}},
				managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
			e.online("anna")
			in := channels.Inbound{Channel: channels.Telegram, Account: "shop", ContactID: "tg-contact-31337", Email: "Zinaida@Example.com"}
			for i, text := range []string{"a zebrawood sofa please", "Zinaida", "zebrawood things", "+7 916 123-45-67"} {
				in.MessageID, in.Text = "m"+itoa(i), text
				e.ingestMsg(in)
			}
			c := e.conv(1)
			if len(c.PreChat) != 3 || len(c.Explanation) != 1 || c.Phone != "+79161234567" {
				t.Fatalf("lead card not filled: %+v", c)
			}
			needles := []string{"zebrawood", "Zinaida", "zinaida", "9161234567", "tg-contact-31337"}
			if hits, err := redistest.Find(e.ctx, e.rdb, e.keys.Prefix, needles); err != nil || len(hits) == 0 {
				t.Fatalf("the scan finds nothing before erasure: %v %v", hits, err)
			}
			if how == "erase" {
				if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
					t.Fatal(err)
				}
			} else {
				e.closeConv(1, e.take(1))
				e.advance(time.Hour + time.Second)
			}
			e.settle()
			hits, err := redistest.Find(e.ctx, e.rdb, e.keys.Prefix, needles)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) > 0 {
				t.Fatalf("personal data left after %s:\n%s", how, strings.Join(hits, "\n"))
			}
		})
	}
}
