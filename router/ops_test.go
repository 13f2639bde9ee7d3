package router_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// opsEnv: two lead-managers (capacity 2) and a supervisor.
func opsEnv(t *testing.T) *env {
	return newEnv(t, opts{cfg: router.Config{OfferTimeout: 30 * time.Second, FirstResponse: 2 * time.Minute, MaxOffers: 5, Retention: time.Hour},
		managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "boris", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor}}})
}

// lastAudit is the newest audit entry.
func (e *env) lastAudit() router.AuditEntry {
	e.t.Helper()
	log, err := e.r.AuditLog(e.ctx, 1)
	if err != nil || len(log) != 1 {
		e.t.Fatalf("audit log: %v %v", log, err)
	}
	return log[0]
}

func (e *env) load(m string) int {
	e.t.Helper()
	v, err := e.r.Manager(e.ctx, m)
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Load
}

// Every supervisor action refuses a lead-manager (and changes nothing), and is audited with
// ids only when a supervisor does it.
func TestSupervisorActionsAuthorisedAndAudited(t *testing.T) {
	e := opsEnv(t)
	e.online("anna", "boris")
	e.inbound("c1", "first")  // 1: offered
	e.inbound("c2", "second") // 2
	e.inbound("c3", "third")  // 3
	e.inbound("c4", "fourth") // 4
	e.inbound("c5", "fifth")  // 5: waiting (both full)
	e.inbound("c6", "sixth")  // 6: waiting
	if c := e.conv(6); c.State != router.StateWaiting {
		t.Fatalf("conversation 6 is %s, want waiting", c.State)
	}
	holder := e.conv(1).OfferTo
	other := map[string]string{"anna": "boris", "boris": "anna"}[holder]
	for _, c := range []struct {
		action, manager string
		lead            int64
		do              func(by string) error
	}{
		{router.AuditFront, "", 6, func(by string) error { return e.r.MoveToFront(e.ctx, by, 6) }},
		{router.AuditReassign, other, 1, func(by string) error { return e.r.Reassign(e.ctx, by, 1, other) }},
		{router.AuditClose, "", 6, func(by string) error { return e.r.CloseLead(e.ctx, by, 6) }},
		{router.AuditOffline, "anna", 0, func(by string) error { return e.r.ForceOffline(e.ctx, by, "anna") }},
	} {
		t.Run(c.action, func(t *testing.T) {
			before, _ := e.r.AuditLog(e.ctx, 1000)
			if err := c.do("anna"); !errors.Is(err, router.ErrForbidden) {
				t.Fatalf("a lead-manager's %s: %v, want forbidden", c.action, err)
			}
			if after, _ := e.r.AuditLog(e.ctx, 1000); len(after) != len(before) {
				t.Fatalf("a refused action was audited: %+v", after[0])
			}
			if err := c.do("sue"); err != nil {
				t.Fatal(err)
			}
			a := e.lastAudit()
			if a.By != "sue" || a.Action != c.action || a.Lead != c.lead || (c.manager != "" && a.Manager != c.manager) || a.At.IsZero() {
				t.Fatalf("audit entry %+v, want %s of %d by sue", a, c.action, c.lead)
			}
			e.settle()
		})
	}
	if c := e.conv(6); c.State != router.StateClosed {
		t.Fatalf("conversation 6 is %s after the supervisor closed it", c.State)
	}
	if v, _ := e.r.Manager(e.ctx, "anna"); v.Online || v.Load != 0 {
		t.Fatalf("anna after being forced offline: online %v, load %d", v.Online, v.Load)
	}
	for _, k := range e.sender.kinds() {
		if k == "close" {
			t.Fatal("a supervisor's close sent the polite-close text")
		}
	}
}

// Reassign takes a lead from whoever holds it, in one step: an accept racing with it either
// lands first (and the lead is then taken from the acceptor) or finds the offer gone; the
// loads always add up.
func TestReassignRacesAcceptCleanly(t *testing.T) {
	e := opsEnv(t)
	e.online("anna")
	e.inbound("c1", "hello")
	e.online("boris")
	for round := 0; round < 10; round++ {
		holder := e.conv(1).OfferTo
		if e.conv(1).State == router.StateAssigned {
			holder = e.conv(1).ManagerID
		}
		target := map[string]string{"anna": "boris", "boris": "anna"}[holder]
		var wg sync.WaitGroup
		var acceptErr, reassignErr error
		wg.Add(2)
		go func() { defer wg.Done(); acceptErr = e.r.Accept(e.ctx, 1, holder) }()
		go func() { defer wg.Done(); reassignErr = e.r.Reassign(e.ctx, "sue", 1, target) }()
		wg.Wait()
		if reassignErr != nil {
			t.Fatalf("round %d: reassign: %v", round, reassignErr)
		}
		if acceptErr != nil && !errors.Is(acceptErr, router.ErrNotYours) {
			t.Fatalf("round %d: the losing accept: %v, want not yours", round, acceptErr)
		}
		c := e.conv(1)
		if c.State != router.StateOffered || c.OfferTo != target || c.ManagerID != "" {
			t.Fatalf("round %d: %s/%s/%s, want offered to %s", round, c.State, c.OfferTo, c.ManagerID, target)
		}
		if e.load(holder) != 0 || e.load(target) != 1 {
			t.Fatalf("round %d: loads %s=%d %s=%d, want 0 and 1", round, holder, e.load(holder), target, e.load(target))
		}
		if round%2 == 1 { // half the rounds: the target accepts, so the next reassign takes an accepted lead
			if err := e.r.Accept(e.ctx, 1, target); err != nil {
				t.Fatal(err)
			}
		}
	}
	// a lead the target holds already stays theirs
	c := e.conv(1)
	m := c.ManagerID
	if c.State == router.StateOffered {
		m = c.OfferTo
		if err := e.r.Accept(e.ctx, 1, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.r.Reassign(e.ctx, "sue", 1, m); err != nil {
		t.Fatal(err)
	}
	if after := e.conv(1); after.State != router.StateAssigned || after.ManagerID != m || e.load(m) != 1 {
		t.Fatalf("reassigned to its holder: %+v", after)
	}
	// the target must be an online lead-manager
	if err := e.r.Reassign(e.ctx, "sue", 1, "sue"); !errors.Is(err, router.ErrInvalid) {
		t.Fatalf("reassign to a supervisor: %v", err)
	}
	if err := e.r.Reassign(e.ctx, "sue", 1, "nobody"); !errors.Is(err, router.ErrInvalid) {
		t.Fatalf("reassign to nobody: %v", err)
	}
	if err := e.r.SetOnline(e.ctx, "anna", false); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Reassign(e.ctx, "sue", 1, "anna"); !errors.Is(err, router.ErrConflict) {
		t.Fatalf("reassign to an offline manager: %v", err)
	}
	if err := e.r.Reassign(e.ctx, "sue", 99, "boris"); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("reassign of no lead: %v", err)
	}
}

// Moving a waiting lead to the front makes it the next one offered.
func TestMoveToFrontIsOfferedFirst(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{OfferTimeout: 30 * time.Second},
		managers: []router.Manager{{ID: "anna", Capacity: 1}, {ID: "sue", Role: router.RoleSupervisor}}})
	e.inbound("c1", "one")
	e.inbound("c2", "two")
	e.inbound("c3", "three")
	if err := e.r.MoveToFront(e.ctx, "sue", 3); err != nil {
		t.Fatal(err)
	}
	if err := e.r.MoveToFront(e.ctx, "sue", 3); err != nil {
		t.Fatalf("at the head already: %v", err)
	}
	e.online("anna")
	if c := e.conv(3); c.OfferTo != "anna" {
		t.Fatalf("conversation 3 is %s, want offered to anna first", c.State)
	}
	if err := e.r.MoveToFront(e.ctx, "sue", 3); !errors.Is(err, router.ErrConflict) {
		t.Fatalf("moving an offered lead: %v, want conflict", err)
	}
	if err := e.r.MoveToFront(e.ctx, "sue", 42); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("moving no lead: %v, want not found", err)
	}
}

// deadLetterInbound makes the router dead-letter the next inbound entry as a crashed consumer
// would leave it: delivered to a consumer of the router's group that never acknowledged it,
// idle and delivered more than max_deliveries times, so the router's reclaim moves it to
// the dead-letter stream.
func (e *env) deadLetterInbound(in channels.Inbound) {
	e.t.Helper()
	if err := store.EnsureGroup(e.ctx, e.rdb, e.keys.Inbound(), "router"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.ingest.Ingest(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
	e.deadLetterNext(e.keys.Inbound(), "router")
}

// A dead-lettered inbound message is listed, replayed and applied once: replaying it a
// second time finds nothing, and a copy of an entry already applied is not applied again.
func TestDeadLetterReplayedOnce(t *testing.T) {
	e := opsEnv(t)
	e.deadLetterInbound(channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m1", ContactID: "c1", Text: "lost message"})
	if _, err := e.r.Conversation(e.ctx, 1); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("the dead-lettered message made a conversation: %v", err)
	}
	dl, err := e.r.DeadLetters(e.ctx, 10)
	if err != nil || len(dl) != 1 {
		t.Fatalf("dead letters %+v %v, want one", dl, err)
	}
	d := dl[0]
	if d.Stream != "inbound" || d.Deliveries < 5 || !strings.Contains(d.Fields["m"], "lost message") || d.Fields["source_id"] == "" {
		t.Fatalf("dead letter %+v", d)
	}
	raw, _ := e.rdb.XRange(e.ctx, store.DeadLetter(e.keys.Inbound()), d.ID, d.ID).Result()

	if err := e.r.ReplayDeadLetter(e.ctx, "anna", "inbound", d.ID); !errors.Is(err, router.ErrForbidden) {
		t.Fatalf("a lead-manager's replay: %v", err)
	}
	if err := e.r.ReplayDeadLetter(e.ctx, "sue", "inbound", d.ID); err != nil {
		t.Fatal(err)
	}
	if a := e.lastAudit(); a.Action != router.AuditReplay || a.By != "sue" || !strings.Contains(a.Detail, d.ID) {
		t.Fatalf("audit %+v", a)
	}
	if err := e.r.ReplayDeadLetter(e.ctx, "sue", "inbound", d.ID); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("second replay: %v, want not found", err)
	}
	e.settle()
	tr, err := e.r.Transcript(e.ctx, 1, 0)
	if err != nil || inbound(tr) != 1 || tr[0].Text != "lost message" {
		t.Fatalf("after the replay: %+v %v", tr, err)
	}
	// the same entry dead again (a copy: as if it died after it was applied) is applied once
	if err := e.rdb.XAdd(e.ctx, &redis.XAddArgs{Stream: store.DeadLetter(e.keys.Inbound()), Values: raw[0].Values}).Err(); err != nil {
		t.Fatal(err)
	}
	dl, _ = e.r.DeadLetters(e.ctx, 10)
	if err := e.r.ReplayDeadLetter(e.ctx, "sue", "inbound", dl[0].ID); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if tr, _ := e.r.Transcript(e.ctx, 1, 0); inbound(tr) != 1 || len(tr) != 2 {
		t.Fatalf("the message was applied twice: %+v", tr)
	}
	if _, err := e.r.Conversation(e.ctx, 2); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("a replayed copy made a second conversation: %v", err)
	}

	// discard
	e.deadLetterInbound(channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m2", ContactID: "c2", Text: "junk"})
	dl, _ = e.r.DeadLetters(e.ctx, 10)
	if len(dl) != 1 {
		t.Fatalf("dead letters %+v", dl)
	}
	if err := e.r.DiscardDeadLetter(e.ctx, "sue", "inbound", dl[0].ID); err != nil {
		t.Fatal(err)
	}
	if a := e.lastAudit(); a.Action != router.AuditDiscard {
		t.Fatalf("audit %+v", a)
	}
	if err := e.r.DiscardDeadLetter(e.ctx, "sue", "inbound", dl[0].ID); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("second discard: %v", err)
	}
	if err := e.r.DiscardDeadLetter(e.ctx, "sue", "nosuch", dl[0].ID); !errors.Is(err, router.ErrInvalid) {
		t.Fatalf("unknown stream: %v", err)
	}
	if dl, _ := e.r.DeadLetters(e.ctx, 10); len(dl) != 0 {
		t.Fatalf("dead letters left: %+v", dl)
	}
}

// A reply that failed for good is resent by a supervisor under the same id, once.
func TestResendFailedReply(t *testing.T) {
	e := opsEnv(t)
	e.online("anna")
	e.inbound("c1", "hello")
	e.take(1)
	e.sender.fail = func(out channels.Outbound) error {
		if out.Kind == "reply" {
			return channels.Permanentf("blocked for now")
		}
		return nil
	}
	id, err := e.r.Reply(e.ctx, 1, "anna", "the price is 100", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.settle()
	if err := e.r.Resend(e.ctx, "anna", 1, id); !errors.Is(err, router.ErrForbidden) {
		t.Fatalf("a lead-manager's resend: %v", err)
	}
	e.sender.fail = nil
	if err := e.r.Resend(e.ctx, "sue", 1, id); err != nil {
		t.Fatal(err)
	}
	if a := e.lastAudit(); a.Action != router.AuditResend || a.Lead != 1 || a.Detail != "outbound="+id {
		t.Fatalf("audit %+v", a)
	}
	if err := e.r.Resend(e.ctx, "sue", 1, id); !errors.Is(err, router.ErrConflict) {
		t.Fatalf("second resend: %v, want conflict", err)
	}
	e.settle()
	if last := e.sender.last(); last.ID != id || last.Text != "the price is 100" || last.ManagerID != "anna" {
		t.Fatalf("sent %+v", last)
	}
	if c := e.conv(1); c.FirstReplyAt.IsZero() {
		t.Fatal("the resent reply did not end speed-to-lead")
	}
	if err := e.r.Resend(e.ctx, "sue", 1, "c1-r99"); !errors.Is(err, router.ErrConflict) {
		t.Fatalf("resend of an unknown message: %v", err)
	}
}

// Export by phone finds the person's conversations on two channels with transcripts,
// pre-chat answers and the web form's consent record; erasure by phone then leaves none of
// their data anywhere under the prefix.
func TestExportAndEraseByPhone(t *testing.T) {
	e := opsEnv(t)
	e.online("anna")
	e.ingestMsg(channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "t1", ContactID: "tg-777001",
		DisplayName: "Zorro Vegaskiy", Phone: "+7 916 555-44-33", Text: "a mahogany wardrobe please"})
	e.ingestMsg(channels.Inbound{Channel: channels.Form, Account: "default", MessageID: "f1", ContactID: "+79165554433",
		DisplayName: "Zorro Vegaskiy", Phone: "+79165554433", Email: "zorro@vega.example", Text: "call me about the wardrobe",
		Meta: map[string]string{"consent_at": t0.Format(time.RFC3339Nano), "policy_version": "3"}})
	e.inbound("c-other", "someone else")
	needles := []string{"5554433", "Vegaskiy", "mahogany", "tg-777001", "zorro@vega.example", "call me about"}
	if hits, err := redistest.Find(e.ctx, e.rdb, e.keys.Prefix, needles); err != nil || len(hits) == 0 {
		t.Fatalf("the scan finds nothing before erasure: %v %v", hits, err)
	}
	q := router.ContactQuery{Phone: "+7 916 555 44 33"}
	if _, err := e.r.ExportContact(e.ctx, "anna", q); !errors.Is(err, router.ErrForbidden) {
		t.Fatalf("a lead-manager's export: %v", err)
	}
	if _, err := e.r.ExportContact(e.ctx, "sue", router.ContactQuery{Phone: "not a phone"}); !errors.Is(err, router.ErrInvalid) {
		t.Fatalf("export by an invalid phone: %v", err)
	}
	if _, err := e.r.ExportContact(e.ctx, "sue", router.ContactQuery{Phone: "+79990000000"}); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("export of nobody: %v", err)
	}
	x, err := e.r.ExportContact(e.ctx, "sue", router.ContactQuery{Phone: "+79165554433"})
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Conversations) != 2 {
		t.Fatalf("export has %d conversations, want 2: %+v", len(x.Conversations), x)
	}
	tg, form := x.Conversations[0], x.Conversations[1]
	if tg.Conversation.Channel != channels.Telegram || tg.Conversation.Name != "Zorro Vegaskiy" || len(tg.Transcript) == 0 ||
		tg.Transcript[0].Text != "a mahogany wardrobe please" {
		t.Fatalf("telegram conversation %+v", tg)
	}
	if form.Consent == nil || !form.Consent.At.Equal(t0) || form.Consent.PolicyVersion != "3" || form.Conversation.Email != "zorro@vega.example" {
		t.Fatalf("form conversation %+v consent %+v", form.Conversation, form.Consent)
	}
	if a := e.lastAudit(); a.Action != router.AuditExport || a.Detail != "conversations=1,2" || strings.Contains(a.Detail, "5554433") {
		t.Fatalf("audit %+v", a)
	}
	// the same person by e-mail, and by channel contact
	if x, err := e.r.ExportContact(e.ctx, "sue", router.ContactQuery{Email: "Zorro@Vega.example"}); err != nil || len(x.Conversations) != 1 {
		t.Fatalf("export by e-mail: %+v %v", x, err)
	}
	if x, err := e.r.ExportContact(e.ctx, router.Operator, router.ContactQuery{Channel: channels.Telegram, Account: "shop", ContactID: "tg-777001"}); err != nil || len(x.Conversations) != 1 {
		t.Fatalf("export by contact: %+v %v", x, err)
	}

	ids, err := e.r.EraseContact(e.ctx, "sue", q)
	if err != nil || len(ids) != 2 {
		t.Fatalf("erase: %v %v", ids, err)
	}
	e.settle()
	hits, err := redistest.Find(e.ctx, e.rdb, e.keys.Prefix, needles)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) > 0 {
		t.Fatalf("personal data left after erasure by phone:\n%s", strings.Join(hits, "\n"))
	}
	if _, err := e.r.ExportContact(e.ctx, "sue", q); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("export after erasure: %v", err)
	}
	if c := e.conv(3); c.ContactID != "c-other" {
		t.Fatalf("another person's conversation: %+v", c)
	}
}

// inbound counts the customer's lines of a transcript.
func inbound(tr []router.Message) int {
	n := 0
	for _, m := range tr {
		if m.Dir == "in" {
			n++
		}
	}
	return n
}

// deadLetterNext dead-letters the next entry of stream as a crashed consumer of group would
// leave it (see deadLetterInbound) and returns its id in the dead-letter stream.
func (e *env) deadLetterNext(stream, group string) {
	e.t.Helper()
	if err := store.EnsureGroup(e.ctx, e.rdb, stream, group); err != nil {
		e.t.Fatal(err)
	}
	res, err := e.rdb.XReadGroup(e.ctx, &redis.XReadGroupArgs{Group: group, Consumer: "crashed",
		Streams: []string{stream, ">"}, Count: 1, Block: -1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		e.t.Fatalf("read: %v %v", res, err)
	}
	id := res[0].Messages[0].ID
	if err := e.rdb.Do(e.ctx, "XCLAIM", stream, group, "crashed", 0, id, "IDLE", 3600000, "RETRYCOUNT", 99).Err(); err != nil {
		e.t.Fatal(err)
	}
	e.settle()
}

// A dead-lettered reply is sent once when replayed, and a copy of it replayed after it was
// sent is not sent again (its delivery status is recorded).
func TestDeadLetterOutboundReplayedOnce(t *testing.T) {
	e := opsEnv(t)
	e.online("anna")
	e.inbound("c1", "hello")
	e.take(1)
	// the reply's outbound entry dies before the send worker reads it
	outID, err := e.r.Reply(e.ctx, 1, "anna", "the price is 200", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.deadLetterNext(e.outboundStream(), "send")
	sent := func() int {
		n := 0
		for _, o := range e.sender.all() {
			if o.ID == outID {
				n++
			}
		}
		return n
	}
	if sent() != 0 {
		t.Fatal("the dead-lettered reply was sent")
	}
	dl, err := e.r.DeadLetters(e.ctx, 10)
	if err != nil || len(dl) != 1 || dl[0].Stream != "outbound" || !strings.Contains(dl[0].Fields["o"], outID) {
		t.Fatalf("dead letters %+v %v", dl, err)
	}
	raw, _ := e.rdb.XRange(e.ctx, store.DeadLetter(e.outboundStream()), dl[0].ID, dl[0].ID).Result()
	if err := e.r.ReplayDeadLetter(e.ctx, "sue", "outbound", dl[0].ID); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if sent() != 1 {
		t.Fatalf("the replayed reply was sent %d times, want once", sent())
	}
	if err := e.rdb.XAdd(e.ctx, &redis.XAddArgs{Stream: store.DeadLetter(e.outboundStream()), Values: raw[0].Values}).Err(); err != nil {
		t.Fatal(err)
	}
	dl, _ = e.r.DeadLetters(e.ctx, 10)
	if err := e.r.ReplayDeadLetter(e.ctx, "sue", "outbound", dl[0].ID); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if sent() != 1 {
		t.Fatalf("a replayed copy of a sent reply was sent again (%d sends)", sent())
	}
}

// outboundStream is {P}:outbound.
func (e *env) outboundStream() string { return e.keys.Core("outbound") }

func (s *fakeSender) all() []channels.Outbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]channels.Outbound(nil), s.sent...)
}

// Open conversations nobody touched for router.abandoned_retention (no customer message,
// accept or first reply) are erased with their data; one the customer wrote to meanwhile
// is kept.
func TestAbandonedOpenLeadsAreErased(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{Retention: time.Hour, AbandonedRetention: 48 * time.Hour},
		managers: []router.Manager{{ID: "anna", Capacity: 1}}})
	e.online("anna")
	e.inbound("c1", "zanzibar one") // 1: offered to anna, accepted
	e.take(1)
	e.inbound("c2", "zanzibar two") // 2: waiting
	e.inbound("c3", "still here")   // 3: waiting, the customer writes again later
	e.advance(47 * time.Hour)
	e.inbound("c3", "hello again?")
	if hits, err := redistest.Find(e.ctx, e.rdb, e.keys.Prefix, []string{"zanzibar"}); err != nil || len(hits) == 0 {
		t.Fatalf("the scan finds nothing before: %v %v", hits, err)
	}
	e.advance(2 * time.Hour)
	for _, id := range []int64{1, 2} {
		if _, err := e.r.Conversation(e.ctx, id); !errors.Is(err, router.ErrNotFound) {
			t.Errorf("abandoned conversation %d: %v, want erased", id, err)
		}
	}
	if c := e.conv(3); c.State == router.StateClosed {
		t.Fatalf("the active conversation: %+v", c)
	}
	if hits, err := redistest.Find(e.ctx, e.rdb, e.keys.Prefix, []string{"zanzibar"}); err != nil || len(hits) != 0 {
		t.Fatalf("data of abandoned conversations left: %v %v", hits, err)
	}
	if e.load("anna") > 1 {
		t.Fatalf("anna's load %d", e.load("anna"))
	}
}
