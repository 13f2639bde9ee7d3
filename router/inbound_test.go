package router_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
)

func TestOffHoursTemplate(t *testing.T) {
	shifts := []router.Shift{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "18:00", TimeZone: "Europe/Moscow"}}
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 2, Shifts: shifts}},
		tpl: router.Templates{AutoAck: "ACK", OffHours: "CLOSED"}})
	e.clock.Set(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)) // Saturday
	e.online("anna")
	e.inbound("c1", "hi")
	if got := e.sender.last(); got.Kind != "off_hours" || got.Text != "CLOSED" {
		t.Fatalf("sent %+v, want the off-hours template", got)
	}
	if c := e.conv(1); c.State != router.StateWaiting {
		t.Fatalf("offered off shift: %+v", c)
	}
	// Monday 09:00 Moscow = 06:00 UTC: the shift starts and the queue drains
	e.clock.Set(time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC))
	e.settle()
	if c := e.conv(1); c.OfferTo != "anna" {
		t.Fatalf("not offered when the shift started: %+v", c)
	}
	e.inbound("c2", "hi")
	if got := e.sender.last(); got.Kind != "auto_ack" || got.Text != "ACK" || got.ContactID != "c2" {
		t.Fatalf("sent %+v, want the auto-ack", got)
	}
}

func TestSpamIsClosedNotOffered(t *testing.T) {
	e := newEnv(t, opts{qualify: &qualify.Config{Rules: []qualify.Rule{{Name: "spam", Keywords: []string{"casino"}, Spam: true}}}})
	e.online("anna")
	e.inbound("s1", "best CASINO bonus")
	if c := e.conv(1); c.State != router.StateClosed || !c.Spam {
		t.Fatalf("%+v", c)
	}
	if len(e.sender.kinds()) != 0 || len(e.events.of(1)) != 0 {
		t.Fatalf("spam got a reply or an offer: %v %v", e.sender.kinds(), e.events.of(1))
	}
	if ttl := e.rdb.PTTL(e.ctx, e.keys.Core("conv", "1")).Val(); ttl <= 0 {
		t.Fatalf("spam conversation kept forever: %v", ttl)
	}
}

func TestDisabledTemplateSendsNothing(t *testing.T) {
	e := newEnv(t, opts{tpl: router.Templates{AutoAck: router.Disabled}})
	e.online("anna")
	e.inbound("c1", "hi")
	if got := e.sender.kinds(); len(got) != 0 {
		t.Fatalf("sent %v with auto_ack disabled", got)
	}
	if c := e.conv(1); c.OfferTo != "anna" {
		t.Fatalf("%+v", c)
	}
}

func TestNoAutoAckOnCommentLeads(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna")
	e.ingestMsg(channels.Inbound{Channel: channels.Instagram, Account: "ig1", MessageID: "cm1", ContactID: "u1",
		Text: "price?", NoAutoReply: true, Meta: map[string]string{"origin": "comment", "comment_id": "cm1"}})
	if got := e.sender.kinds(); len(got) != 0 {
		t.Fatalf("sent %v to a comment lead", got)
	}
	if c := e.conv(1); c.OfferTo != "anna" || c.Meta["comment_id"] != "cm1" {
		t.Fatalf("%+v", c)
	}
}

// A conversation's meta (often longer than Redis' 64-byte listpack value limit) is kept in
// its own key, so the conversation hash stays a compact listpack; it still reads back, and
// erasure deletes it.
func TestMetaKeptOutOfTheHash(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 1}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	e.online("anna")
	meta := map[string]string{"consent_at": "2026-11-25T10:00:00.123456789Z", "policy_version": "1",
		"page_url": "https://example.com/landing/premium-package?utm_source=bench&utm_campaign=load"}
	e.ingestMsg(channels.Inbound{Channel: channels.Form, Account: "default", MessageID: "f1", ContactID: "+79990000000",
		Phone: "+79990000000", Text: "call me back", Meta: meta})
	if c := e.conv(1); c.Meta["page_url"] != meta["page_url"] || c.Meta["consent_at"] != meta["consent_at"] {
		t.Fatalf("meta = %v, want %v", c.Meta, meta)
	}
	if enc := e.rdb.ObjectEncoding(e.ctx, e.keys.Core("conv", "1")).Val(); enc != "listpack" {
		t.Errorf("conversation hash encoding = %q, want listpack", enc)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	if n := e.rdb.Exists(e.ctx, e.keys.Core("conv", "1", "meta")).Val(); n != 0 {
		t.Fatal("the erased conversation's meta remains")
	}
}

// TestCustomerTextsPerAccountLanguage: the automatic messages come from the catalogue in the
// language of the conversation's channel account, else the default (ru here); config
// overrides of one language do not leak into another.
func TestCustomerTextsPerAccountLanguage(t *testing.T) {
	cat, err := locale.New("ru", map[string]map[string]string{"en": {"customer.close": "Bye!"}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, opts{locale: cat, custLang: func(channel, account string) string {
		if channel == channels.Instagram && account == "ig-en" {
			return "en"
		}
		return ""
	}})
	e.online("anna", "boris")
	e.inbound("c1", "здравствуйте")
	if got, want := e.sender.last().Text, cat.T("ru", "customer.auto_ack"); got != want || !strings.Contains(got, "Менеджер") {
		t.Fatalf("auto-ack %q, want the Russian %q", got, want)
	}
	e.ingestMsg(channels.Inbound{Channel: channels.Instagram, Account: "ig-en", MessageID: "m1", ContactID: "u1", Text: "hello"})
	if got := e.sender.last().Text; got != "Thank you for your message! A manager will answer you within a minute." {
		t.Fatalf("auto-ack on the English account %q", got)
	}
	c := e.conv(2)
	if err := e.r.Accept(e.ctx, 2, c.OfferTo); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Qualify(e.ctx, 2, c.OfferTo, router.QualTourist); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if got := e.sender.last(); got.Kind != "close" || got.Text != "Bye!" {
		t.Fatalf("close %+v, want the English override", got)
	}
}
