package router_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/promtest"
	"github.com/lidorub/lidorub/router"
)

func TestQualifyTouristClosesPolitely(t *testing.T) {
	e := newEnv(t, opts{tpl: router.Templates{Close: "BYE"}})
	e.online("anna")
	e.inbound("c1", "just looking")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Qualify(e.ctx, 1, "anna", "cold"); !errors.Is(err, router.ErrInvalid) {
		t.Fatalf("bad level: %v", err)
	}
	if err := e.r.Qualify(e.ctx, 1, "boris", router.QualTourist); !errors.Is(err, router.ErrNotYours) {
		t.Fatalf("other manager: %v", err)
	}
	if err := e.r.Qualify(e.ctx, 1, "anna", router.QualTourist); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if got := e.sender.last(); got.Kind != "close" || got.Text != "BYE" {
		t.Fatalf("sent %+v", got)
	}
	c := e.conv(1)
	if c.State != router.StateClosed || c.Qualification != "tourist" {
		t.Fatalf("%+v", c)
	}
	if v, _ := e.r.Manager(e.ctx, "anna"); v.Load != 0 {
		t.Fatalf("load after close %d", v.Load)
	}
	// writing again opens a new conversation whose speed-to-lead counts afresh
	e.inbound("c1", "actually, I want to buy")
	if c := e.conv(2); c.State != router.StateOffered || c.ContactID != "c1" {
		t.Fatalf("reopen: %+v", c)
	}
	if ttl := e.rdb.PTTL(e.ctx, e.keys.Core("conv", "1")).Val(); ttl <= 0 {
		t.Fatalf("closed conversation has no retention TTL: %v", ttl)
	}
}

func TestHotIsHandedOff(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna")
	e.inbound("c1", "I want 10 units")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Qualify(e.ctx, 1, "anna", router.QualHot); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if c := e.conv(1); c.Qualification != "hot" || !c.HandedOff {
		t.Fatalf("%+v", c)
	}
	if !slices.Contains(e.events.of(1), "qualified:anna(hot)") {
		t.Fatalf("no audit event: %v", e.events.of(1))
	}
}

func TestReplyOnFormLeadNeedsContacted(t *testing.T) {
	e := newEnv(t, opts{noSender: true})
	e.online("anna")
	e.ingestMsg(channels.Inbound{Channel: channels.Form, Account: "site", MessageID: "f1", ContactID: "+79991234567",
		Phone: "+79991234567", DisplayName: "Ivan", Text: "call me"})
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Reply(e.ctx, 1, "anna", "hello", nil); !errors.Is(err, router.ErrConflict) {
		t.Fatalf("reply on a form lead: %v", err)
	}
	e.clock.Advance(45 * time.Second)
	if err := e.r.MarkContacted(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	c := e.conv(1)
	if !c.Replied || c.FirstReplyAt.Sub(c.FirstInboundAt) != 45*time.Second {
		t.Fatalf("%+v", c)
	}
	if n := promtest.HistogramCount(t, e.reg, "lidorub_speed_to_lead_seconds", "channel", "form"); n != 1 {
		t.Fatalf("speed_to_lead form count %d", n)
	}
}

func TestEraseOnRequest(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 1}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	e.online("anna")
	e.inbound("c1", "my phone is +7 999 000 00 00")
	e.inbound("c2", "hello") // queued: anna is at capacity
	if err := e.r.Erase(e.ctx, 1, "anna"); !errors.Is(err, router.ErrForbidden) {
		t.Fatalf("lead-manager erased: %v", err)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if _, err := e.r.Conversation(e.ctx, 1); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("conversation still readable: %v", err)
	}
	if n := e.rdb.Exists(e.ctx, e.keys.Core("conv", "1", "log"), e.keys.Core("contact", "telegram", "shop", "c1")).Val(); n != 0 {
		t.Fatalf("%d keys of the erased conversation remain", n)
	}
	// anna's slot was freed: the queued conversation is offered to her
	if c := e.conv(2); c.OfferTo != "anna" {
		t.Fatalf("%+v", c)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("second erase: %v", err)
	}
}

func TestLongCyrillicReplyIsAccepted(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna")
	e.inbound("c1", "привет")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("ж", 4096) // 8 KiB of UTF-8, 4096 characters
	if _, err := e.r.Reply(e.ctx, 1, "anna", text, nil); err != nil {
		t.Fatalf("4096 characters refused: %v", err)
	}
	if _, err := e.r.Reply(e.ctx, 1, "anna", text+"ж", nil); !errors.Is(err, router.ErrInvalid) {
		t.Fatalf("4097 characters: %v", err)
	}
}
