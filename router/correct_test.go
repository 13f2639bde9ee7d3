package router_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
)

func ptr(s string) *string { return &s }

// Correcting a phone reaches every conversation of the contact, moves them to the new
// number's index, notes it on each transcript without the old value, and leaves the old
// number nowhere under the prefix.
func TestCorrectContactEverywhere(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{Retention: time.Hour},
		managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "boris", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	e.online("anna")
	in := func(id string) channels.Inbound {
		return channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: id, ContactID: "tg-5150",
			DisplayName: "Nickname Zork", Text: "a sofa please", Phone: "+7 916 123-45-67", Email: "wrong@old.example"}
	}
	e.ingestMsg(in("m1"))
	e.closeConv(1, e.take(1))
	e.ingestMsg(in("m2"))
	if m := e.take(2); m != "anna" {
		t.Fatalf("conversation 2 taken by %s", m)
	}
	ref := router.ContactRef{Channel: channels.Telegram, Account: "shop", ContactID: "tg-5150"}
	needles := []string{"9161234567", "Nickname Zork", "wrong@old.example"}
	if hits, err := redistest.Find(e.ctx, e.rdb, e.keys.Prefix, needles); err != nil || len(hits) == 0 {
		t.Fatalf("the scan finds nothing before the correction: %v %v", hits, err)
	}

	// another manager, an unknown contact, another account: the same answer
	for _, c := range []struct {
		who string
		ref router.ContactRef
	}{
		{"boris", ref},
		{"sue", router.ContactRef{Channel: channels.Telegram, Account: "shop", ContactID: "nobody"}},
		{"sue", router.ContactRef{Channel: channels.Telegram, Account: "other", ContactID: "tg-5150"}},
	} {
		if _, err := e.r.CorrectContact(e.ctx, c.ref, c.who, router.ContactCorrection{Phone: ptr("+79037654321")}); !errors.Is(err, router.ErrNotFound) {
			t.Fatalf("%s correcting %+v: %v, want not found", c.who, c.ref, err)
		}
	}

	res, err := e.r.CorrectContact(e.ctx, ref, "anna", router.ContactCorrection{
		Name: ptr(" Zinaida Petrova "), Phone: ptr("+7 (903) 765-43-21"), Email: ptr("zina@new.example")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conversations) != 2 || res.ContactID != "tg-5150" {
		t.Fatalf("corrected %+v, want both conversations of the same contact", res)
	}
	e.settle()
	for _, id := range []int64{1, 2} {
		c := e.conv(id)
		if c.Phone != "+79037654321" || c.Name != "Zinaida Petrova" || c.Email != "zina@new.example" {
			t.Fatalf("conversation %d after the correction: name %q phone %q email %q", id, c.Name, c.Phone, c.Email)
		}
		tr, err := e.r.Transcript(e.ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		var notes []string
		for _, m := range tr {
			if m.Kind == "note" && m.ManagerID == "anna" {
				notes = append(notes, m.Text)
			}
		}
		want := []string{"anna corrected the customer's name at their request",
			"anna corrected the customer's phone number at their request",
			"anna corrected the customer's e-mail address at their request"}
		if strings.Join(notes, "|") != strings.Join(want, "|") {
			t.Fatalf("conversation %d notes %q, want %q", id, notes, want)
		}
	}
	// the new number finds the earlier conversation as a previous lead; the old one is gone
	if got := previousIDs(e.conv(2)); len(got) != 1 || got[0] != 1 {
		t.Fatalf("previous %v, want [1]", got)
	}
	hits, err := redistest.Find(e.ctx, e.rdb, e.keys.Prefix, needles)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) > 0 {
		t.Fatalf("old personal data left after the correction:\n%s", strings.Join(hits, "\n"))
	}
	for f, n := range map[string]float64{"name": 1, "phone": 1, "email": 1} {
		if v := testutil.ToFloat64(e.metrics.Corrections.WithLabelValues(f)); v != n {
			t.Fatalf("corrections{field=%s} = %v, want %v", f, v, n)
		}
	}

	// a supervisor clears the e-mail; erasing every conversation then leaves no index behind
	if _, err := e.r.CorrectContact(e.ctx, ref, "sue", router.ContactCorrection{Email: ptr("")}); err != nil {
		t.Fatal(err)
	}
	if c := e.conv(2); c.Email != "" {
		t.Fatalf("e-mail %q after clearing it", c.Email)
	}
	for _, id := range []int64{1, 2} {
		if err := e.r.Erase(e.ctx, id, "sue"); err != nil {
			t.Fatal(err)
		}
	}
	if ks := e.rdb.Keys(e.ctx, "{"+e.keys.Prefix+"}:hist:*").Val(); len(ks) != 0 {
		t.Fatalf("contact indexes left after erasing the corrected conversations: %v", ks)
	}
	if _, err := e.r.CorrectContact(e.ctx, ref, "sue", router.ContactCorrection{Name: ptr("x")}); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("correcting an erased contact: %v", err)
	}
}

func TestCorrectionValidation(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	ref := router.ContactRef{Channel: channels.Telegram, Account: "shop", ContactID: "c1"}
	for _, c := range []struct {
		corr  router.ContactCorrection
		field string
	}{
		{router.ContactCorrection{Phone: ptr("+7 916")}, "phone"},
		{router.ContactCorrection{Phone: ptr("8 916 123 45 67")}, "phone"},
		{router.ContactCorrection{Phone: ptr("call me")}, "phone"},
		{router.ContactCorrection{Email: ptr("zina@")}, "email"},
		{router.ContactCorrection{Email: ptr("Zina <zina@new.example>")}, "email"},
		{router.ContactCorrection{Email: ptr("zina@localhost")}, "email"},
		{router.ContactCorrection{Name: ptr("a\x00b")}, "name"},
		{router.ContactCorrection{Name: ptr(strings.Repeat("я", 201))}, "name"},
		{router.ContactCorrection{}, ""},
	} {
		_, err := e.r.CorrectContact(e.ctx, ref, "sue", c.corr)
		var fe *router.FieldError
		if !errors.Is(err, router.ErrInvalid) || (c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field)) {
			t.Errorf("%+v: %v, want invalid %s", c.corr, err, c.field)
		}
	}
}

// A form lead's contact id is its phone number: correcting the number moves the lead to the
// new contact (pointer, index), so the old number is nowhere and the customer's next form
// with the right number continues the same lead.
func TestCorrectFormLeadFollowsItsContactID(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{Retention: time.Hour},
		managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}})
	e.online("anna")
	form := func(id, ph string) channels.Inbound {
		return channels.Inbound{Channel: channels.Form, Account: "default", MessageID: id, ContactID: ph, Phone: ph,
			DisplayName: "Zinaida", Text: "call me about a sofa"}
	}
	e.ingestMsg(form("f1", "+79161234567"))
	e.take(1)
	ref := router.ContactRef{Channel: channels.Form, Account: "default", ContactID: "+79161234567"}
	if _, err := e.r.CorrectContact(e.ctx, ref, "sue", router.ContactCorrection{Phone: ptr("")}); !errors.Is(err, router.ErrInvalid) {
		t.Fatalf("clearing a form lead's phone (its contact id): %v", err)
	}
	res, err := e.r.CorrectContact(e.ctx, ref, "anna", router.ContactCorrection{Phone: ptr("+7 903 765 43 21")})
	if err != nil {
		t.Fatal(err)
	}
	if res.ContactID != "+79037654321" || len(res.Conversations) != 1 {
		t.Fatalf("result %+v", res)
	}
	e.settle()
	if c := e.conv(1); c.ContactID != "+79037654321" || c.Phone != "+79037654321" {
		t.Fatalf("after the correction: contact %q phone %q", c.ContactID, c.Phone)
	}
	if hits, err := redistest.Find(e.ctx, e.rdb, e.keys.Prefix, []string{"9161234567"}); err != nil || len(hits) > 0 {
		t.Fatalf("the old number is left (%v):\n%s", err, strings.Join(hits, "\n"))
	}
	// the old contact is gone; the new one is the lead's
	if _, err := e.r.CorrectContact(e.ctx, ref, "sue", router.ContactCorrection{Name: ptr("x")}); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("the old contact id after the correction: %v", err)
	}
	e.ingestMsg(form("f2", "+79037654321"))
	if _, err := e.r.Conversation(e.ctx, 2); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("the next form with the corrected number opened a new lead: %v", err)
	}
	tr, err := e.r.Transcript(e.ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if in := len(slices.DeleteFunc(tr, func(m router.Message) bool { return m.Dir != "in" })); in != 2 {
		t.Fatalf("lead 1 has %d customer messages, want both forms", in)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	if ks := e.rdb.Keys(e.ctx, "{"+e.keys.Prefix+"}:hist:*").Val(); len(ks) != 0 {
		t.Fatalf("contact indexes left after erasure: %v", ks)
	}
	if ks := e.rdb.Keys(e.ctx, "{"+e.keys.Prefix+"}:contact:*").Val(); len(ks) != 0 {
		t.Fatalf("contact pointers left after erasure: %v", ks)
	}
}
