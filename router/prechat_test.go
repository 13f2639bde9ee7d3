package router_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// English built-in pre-chat texts (locale/en.yaml).
const (
	pcIntro    = "While we connect you with a manager, a couple of quick questions will help us answer faster."
	pcName     = "What is your name?"
	pcInterest = "What are you interested in?"
	pcPhone    = "Leave your phone number if you would like us to call you back."
	pcInvalid  = "Sorry, I could not read that number. Please write it with the country code, for example +44 20 7946 0958."
	pcThanks   = "Thank you! A manager will be with you shortly."
)

var prechatOn = router.Config{PreChat: router.PreChat{Channels: []string{channels.Telegram, channels.Instagram}}}

// sentTo lists "kind: text" of everything sent to contact, in order.
func (e *env) sentTo(contact string) []string {
	e.sender.mu.Lock()
	defer e.sender.mu.Unlock()
	var out []string
	for _, o := range e.sender.sent {
		if o.ContactID == contact {
			out = append(out, o.Kind+": "+o.Text)
		}
	}
	return out
}

func TestPreChatAsksStoresAndNormalises(t *testing.T) {
	e := newEnv(t, opts{cfg: prechatOn})
	e.online("anna")
	e.inbound("c1", "hi, how much is the sofa?")
	c := e.conv(1)
	// the offer goes out exactly as without questions: at once, to the free manager
	if c.State != router.StateOffered || c.OfferTo != "anna" || !c.OfferedAt.Equal(t0) || c.Offers != 1 {
		t.Fatalf("offer with pre-chat on: %+v", c)
	}
	want := []string{"auto_ack: " + ackText, "prechat: " + pcIntro + "\n\n" + pcName}
	if diff := cmp.Diff(want, e.sentTo("c1")); diff != "" {
		t.Fatalf("sent (-want +got):\n%s", diff)
	}
	for _, step := range []struct{ answer, next string }{
		{"Olga", pcInterest},
		{"a green sofa", pcPhone},
		{"call me maybe", pcInvalid}, // asked again once
		{"8 (916) 123-45-67", pcThanks},
	} {
		e.inbound("c1", step.answer)
		sent := e.sentTo("c1")
		if got := sent[len(sent)-1]; got != "prechat: "+step.next {
			t.Fatalf("after %q sent %q, want %q", step.answer, got, step.next)
		}
	}
	e.inbound("c1", "anything else")
	if n := len(e.sentTo("c1")); n != 6 {
		t.Fatalf("%d messages sent after the questions ended, want 6: %q", n, e.sentTo("c1"))
	}
	c = e.conv(1)
	if diff := cmp.Diff(map[string]string{"name": "Olga", "interest": "a green sofa", "phone": "+79161234567"}, c.PreChat); diff != "" {
		t.Fatalf("answers (-want +got):\n%s", diff)
	}
	if c.Phone != "+79161234567" {
		t.Fatalf("the lead's phone %q, want the answer", c.Phone)
	}
	// the questions are in the transcript as automatic messages
	tr, err := e.r.Transcript(e.ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range tr {
		if m.Kind == "prechat" && m.Dir == "out" {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("%d pre-chat lines in the transcript, want 5", n)
	}
	// the offer was never redone because of the questions
	if c.Offers != 1 || c.OfferSeq != 1 {
		t.Fatalf("offers %d seq %d after the questions, want 1 1", c.Offers, c.OfferSeq)
	}
}

// A second invalid phone is not asked again: the questions move on without an answer.
func TestPreChatInvalidPhoneTwiceMovesOn(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{PreChat: router.PreChat{Channels: []string{channels.Telegram},
		Questions: []string{router.QuestionPhone, router.QuestionName}}}})
	e.inbound("c1", "hi")
	e.inbound("c1", "no")
	e.inbound("c1", "still no")
	want := []string{"auto_ack: " + ackText, "prechat: " + pcIntro + "\n\n" + pcPhone, "prechat: " + pcInvalid, "prechat: " + pcName}
	if diff := cmp.Diff(want, e.sentTo("c1")); diff != "" {
		t.Fatalf("sent (-want +got):\n%s", diff)
	}
	if _, ok := e.conv(1).PreChat["phone"]; ok {
		t.Fatalf("an invalid phone was stored: %v", e.conv(1).PreChat)
	}
}

func TestPreChatStopsWhenAHumanReplies(t *testing.T) {
	e := newEnv(t, opts{cfg: prechatOn})
	e.online("anna")
	e.inbound("c1", "hi")
	e.inbound("c1", "Olga")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	// accepted but not yet answered: the questions go on
	e.inbound("c1", "sofas")
	if sent := e.sentTo("c1"); sent[len(sent)-1] != "prechat: "+pcPhone {
		t.Fatalf("accepted, not answered: last sent %q", sent[len(sent)-1])
	}
	if _, err := e.r.Reply(e.ctx, 1, "anna", "Hello Olga, I am Anna", nil); err != nil {
		t.Fatal(err)
	}
	e.settle()
	before := len(e.sentTo("c1"))
	e.inbound("c1", "+79161234567")
	sent := e.sentTo("c1")
	if len(sent) != before {
		t.Fatalf("sent after the manager's reply: %q", sent[before:])
	}
	if diff := cmp.Diff(map[string]string{"name": "Olga", "interest": "sofas"}, e.conv(1).PreChat); diff != "" {
		t.Fatalf("answers (-want +got):\n%s", diff)
	}
}

func TestPreChatSkipped(t *testing.T) {
	spam := &qualify.Config{Rules: []qualify.Rule{{Name: "spam", Keywords: []string{"casino"}, Spam: true}}}
	for _, tc := range []struct {
		name     string
		noSender bool
		in       channels.Inbound
	}{
		{"channel not configured", false, channels.Inbound{Channel: channels.WhatsAppCloud, Account: "1", ContactID: "79160000000", Text: "hi"}},
		{"Instagram comment: no automatic reply", false, channels.Inbound{Channel: channels.Instagram, Account: "ig", ContactID: "igs", Text: "price?", NoAutoReply: true}},
		{"no sender", true, channels.Inbound{Channel: channels.Telegram, Account: "shop", ContactID: "c1", Text: "hi"}},
		{"older than the 24-hour window", false, channels.Inbound{Channel: channels.Telegram, Account: "shop", ContactID: "c1", Text: "hi",
			ReceivedAt: t0.Add(-25 * time.Hour)}},
		{"not a lead", false, channels.Inbound{Channel: channels.Telegram, Account: "shop", ContactID: "c1", Text: "casino bonus"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, opts{cfg: prechatOn, noSender: tc.noSender, qualify: spam})
			e.online("anna")
			in := tc.in
			in.MessageID = "m1"
			e.ingestMsg(in)
			if !strings.Contains(in.Text, "casino") { // (the next message of a spammer is a new conversation)
				in.MessageID, in.Text = "m2", "Olga"
				e.ingestMsg(in)
			}
			for _, s := range e.sentTo(in.ContactID) {
				if strings.HasPrefix(s, "prechat:") {
					t.Fatalf("pre-chat question sent: %q", e.sentTo(in.ContactID))
				}
			}
			if c := e.conv(1); c.PreChat != nil {
				t.Fatalf("answers stored: %v", c.PreChat)
			}
		})
	}
}

func TestPreChatConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		pc   router.PreChat
		want string
	}{
		{router.PreChat{Channels: []string{"form"}}, "prechat.channels[0]: the web form cannot write to the customer: no questions can be asked there"},
		{router.PreChat{Channels: []string{"Tele gram"}}, `prechat.channels[0]: must be a channel name such as telegram (got "Tele gram")`},
		{router.PreChat{Channels: []string{"telegram", "telegram"}}, "prechat.channels[1]: telegram is listed twice"},
		{router.PreChat{Channels: []string{"telegram"}, Questions: []string{"name", "age"}}, `prechat.questions[1]: must be one of name, interest, phone (got "age")`},
		{router.PreChat{Channels: []string{"telegram"}, Questions: []string{"name", "name"}}, "prechat.questions[1]: name is asked twice"},
		{router.PreChat{Channels: []string{"telegram"}, PhoneRegion: "XX"}, `prechat.phone_region: must be a two-letter region code such as RU or GB (got "XX")`},
	} {
		cfg := router.Config{PreChat: tc.pc}
		cfg.Defaults()
		if err := cfg.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
}

// A redelivered answer (another instance applied it and died before acknowledging) asks the
// next question once.
func TestPreChatAnswerAppliedOnce(t *testing.T) {
	e := newEnv(t, opts{cfg: prechatOn})
	e.inbound("c1", "hi")
	res, err := e.ingest.Ingest(e.ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "a1",
		ContactID: "c1", Text: "Olga"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := e.rdb.XRange(e.ctx, e.keys.Inbound(), res.EntryID, res.EntryID).Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("entry: %v %v", msgs, err)
	}
	for i := 0; i < 2; i++ {
		if err := e.r.HandleInbound(e.ctx, store.Entry{Stream: e.keys.Inbound(), ID: msgs[0].ID, Values: msgs[0].Values}); err != nil {
			t.Fatal(err)
		}
	}
	e.settle()
	n := 0
	for _, s := range e.sentTo("c1") {
		if s == "prechat: "+pcInterest {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the next question was sent %d times: %q", n, e.sentTo("c1"))
	}
	if got := e.conv(1).PreChat["name"]; got != "Olga" {
		t.Fatalf("name %q", got)
	}
}

// A question queued just before the manager's first reply is not sent after it.
func TestPreChatQuestionQueuedBeforeAHumanReplyIsDropped(t *testing.T) {
	e := newEnv(t, opts{cfg: prechatOn})
	e.online("anna")
	e.inbound("c1", "hi")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	replied := false
	e.sender.fail = func(o channels.Outbound) error {
		if o.ContactID == "c9" && !replied { // sent before c1's next question: anna answers c1 now
			replied = true
			if _, err := e.r.Reply(e.ctx, 1, "anna", "Hello, I am Anna", nil); err != nil {
				t.Error(err)
			}
		}
		return nil
	}
	// one inbound read: a new lead c9 (its acknowledgement is queued first), then c1's answer
	for _, in := range []channels.Inbound{
		{Channel: channels.Telegram, Account: "shop", MessageID: "c9-1", ContactID: "c9", Text: "hi"},
		{Channel: channels.Telegram, Account: "shop", MessageID: "c1-2", ContactID: "c1", Text: "Olga"},
	} {
		if _, err := e.ingest.Ingest(e.ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	e.settle()
	if !replied {
		t.Fatal("the reply was not made")
	}
	for _, s := range e.sentTo("c1") {
		if s == "prechat: "+pcInterest {
			t.Fatalf("the next question went out after the manager's reply: %q", e.sentTo("c1"))
		}
	}
	if got := e.sentTo("c1"); got[len(got)-1] != "reply: Hello, I am Anna" {
		t.Fatalf("sent to c1: %q", got)
	}
	if got := e.conv(1).PreChat["name"]; got != "Olga" {
		t.Fatalf("the answer given before the reply is kept: %q", got)
	}
}

// The phone is not asked for when the lead has one (a WhatsApp number).
func TestPreChatSkipsTheKnownPhone(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{PreChat: router.PreChat{Channels: []string{channels.WhatsAppCloud},
		Questions: []string{router.QuestionPhone, router.QuestionName, router.QuestionInterest}}}})
	in := channels.Inbound{Channel: channels.WhatsAppCloud, Account: "1", ContactID: "79161234567", Phone: "+79161234567"}
	for i, text := range []string{"hi", "Olga", "sofas"} {
		in.MessageID, in.Text = "w"+itoa(i), text
		e.ingestMsg(in)
	}
	want := []string{"auto_ack: " + ackText, "prechat: " + pcIntro + "\n\n" + pcName, "prechat: " + pcInterest, "prechat: " + pcThanks}
	if diff := cmp.Diff(want, e.sentTo("79161234567")); diff != "" {
		t.Fatalf("sent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"name": "Olga", "interest": "sofas"}, e.conv(1).PreChat); diff != "" {
		t.Fatalf("answers (-want +got):\n%s", diff)
	}
}
