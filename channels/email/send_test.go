package email

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
	"github.com/lidorub/lidorub/locale"
)

// sent is a message as the SMTP server received it, parsed back.
type sent struct {
	h    gomail.Header
	text string
	raw  string
}

func parseSent(t *testing.T, r received) sent {
	t.Helper()
	e, err := message.Read(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(e.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sent{h: gomail.Header{Header: e.Header}, text: string(b), raw: string(r.Data)}
}

func (s sent) ids(t *testing.T, key string) []string {
	t.Helper()
	l, err := s.h.MsgIDList(key)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type mailEnv struct {
	e    *channeltest.Env
	imap *imapServer
	smtp *smtpServer
	ch   *Channel
}

func newMailEnv(t *testing.T, smtpMode string) *mailEnv {
	t.Helper()
	e := channeltest.NewEnv(t)
	im := newIMAPServer(t, TLSNone)
	sm := newSMTPServer(t, smtpMode)
	ch := newTestChannel(t, testConfig(t, im.server(), sm.server(), AfterSeen), e.Deps())
	return &mailEnv{e: e, imap: im, smtp: sm, ch: ch}
}

func reply(convID, id, contact, text string) channels.Outbound {
	return channels.Outbound{ID: id, ConversationID: convID, Channel: Name, Account: "sales", ContactID: contact,
		Kind: "reply", ManagerID: "anna", Text: text, CreatedAt: time.Date(2026, 1, 12, 10, 0, 0, 0, time.UTC)}
}

func TestReplyThreading(t *testing.T) {
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			m := newMailEnv(t, mode)
			ctx := context.Background()
			m.imap.appendMail(t, "INBOX", fixture(t, "plain.eml"))
			syncOnce(t, m.ch)

			text := "Здравствуйте, Иван!\nДоставка в Тверь — 1 500 ₽, завтра.\n" + strings.Repeat("Длинная строка без переносов. ", 10)
			// the router sends with the conversation's meta: the first mail's
			first := reply("1", "c1-r1", "ivan@example.ru", text)
			first.Meta = m.e.Stored(t)[0].Meta
			res, err := m.ch.Send(ctx, first)
			if err != nil {
				t.Fatal(err)
			}
			got := m.smtp.received()
			if len(got) != 1 || got[0].From != testUser || !slices.Equal(got[0].To, []string{"ivan@example.ru"}) {
				t.Fatalf("envelope %+v", got)
			}
			s := parseSent(t, got[0])
			if from, _ := s.h.AddressList("From"); len(from) != 1 || from[0].Address != testUser || from[0].Name != "Shop Sales" {
				t.Errorf("From %v", from)
			}
			if subj, _ := s.h.Subject(); subj != "Re: Вопрос по доставке" {
				t.Errorf("subject %q", subj)
			}
			if !strings.Contains(s.raw, "Subject: =?utf-8?") {
				t.Errorf("subject not RFC 2047 encoded:\n%s", s.raw)
			}
			if id, _ := s.h.MessageID(); id != res.ChannelMessageID || !strings.HasSuffix(id, "@shop.example") {
				t.Errorf("Message-ID %q, send result %q", id, res.ChannelMessageID)
			}
			if irt := s.ids(t, "In-Reply-To"); !slices.Equal(irt, []string{"plain-1@mail.example.ru"}) {
				t.Errorf("In-Reply-To %v", irt)
			}
			if refs := s.ids(t, "References"); !slices.Equal(refs, []string{"plain-1@mail.example.ru"}) {
				t.Errorf("References %v", refs)
			}
			if s.h.Get("Auto-Submitted") != "" {
				t.Error("a manager's reply marked Auto-Submitted")
			}
			if ct := s.h.Get("Content-Type"); !strings.Contains(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "utf-8") ||
				s.h.Get("Content-Transfer-Encoding") != "quoted-printable" {
				t.Errorf("Content-Type %q, CTE %q", ct, s.h.Get("Content-Transfer-Encoding"))
			}
			for _, line := range strings.Split(s.raw, "\r\n") {
				if len(line) > 78 {
					t.Errorf("line of %d octets: %q", len(line), line)
				}
			}
			if want := strings.ReplaceAll(text, "\n", "\r\n") + "\r\n"; s.text != want {
				t.Errorf("body %q, want %q", s.text, want)
			}

			// The customer answers our message: same contact (so the same open conversation),
			// and the conversation it answers is named.
			ans := strings.NewReplacer("c1-r1.lidorub@shop.example", res.ChannelMessageID).Replace(string(fixture(t, "reply.eml")))
			m.imap.appendMail(t, "INBOX", []byte(ans))
			syncOnce(t, m.ch)
			st := m.e.Stored(t)
			if len(st) != 2 || st[1].ContactID != st[0].ContactID || st[1].Meta["reply_to_conversation"] != "1" ||
				st[1].Meta["thread"] != "plain-1@mail.example.ru" {
				t.Fatalf("the answer %+v", st[len(st)-1])
			}

			// Our next message answers the customer's answer and carries the whole chain.
			second := reply("1", "c1-r2", "ivan@example.ru", "Отлично, оформляем.")
			second.Meta = first.Meta
			if _, err := m.ch.Send(ctx, second); err != nil {
				t.Fatal(err)
			}
			s2 := parseSent(t, m.smtp.received()[1])
			if irt := s2.ids(t, "In-Reply-To"); !slices.Equal(irt, []string{"reply-1@mail.example.ru"}) {
				t.Errorf("second In-Reply-To %v", irt)
			}
			if refs := s2.ids(t, "References"); !slices.Equal(refs, []string{"plain-1@mail.example.ru", res.ChannelMessageID, "reply-1@mail.example.ru"}) {
				t.Errorf("second References %v", refs)
			}
			if subj, _ := s2.h.Subject(); subj != "Re: Вопрос по доставке" {
				t.Errorf("second subject %q", subj)
			}
		})
	}
}

func TestAutomaticMessages(t *testing.T) {
	m := newMailEnv(t, TLSStartTLS)
	out := channels.Outbound{ID: "c7-auto_ack", ConversationID: "7", Channel: Name, Account: "sales",
		ContactID: "new@example.org", Kind: "auto_ack", Text: "Спасибо! Ответим в течение минуты."}
	if _, err := m.ch.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	s := parseSent(t, m.smtp.received()[0])
	if s.h.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("Auto-Submitted %q: an automatic message must say so (no mail loops)", s.h.Get("Auto-Submitted"))
	}
	// no thread known: the configured subject, no In-Reply-To
	if subj, _ := s.h.Subject(); subj != "Your request" || s.h.Get("In-Reply-To") != "" {
		t.Errorf("subject %q, In-Reply-To %q", subj, s.h.Get("In-Reply-To"))
	}
	// the same outbound message sent again (a retry) has the same Message-ID
	id1, _ := s.h.MessageID()
	if _, err := m.ch.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	s2 := parseSent(t, m.smtp.received()[1])
	if id2, _ := s2.h.MessageID(); id2 != id1 {
		t.Errorf("a retry got Message-ID %q, first %q", id2, id1)
	}
}

func TestSMTPErrors(t *testing.T) {
	m := newMailEnv(t, TLSStartTLS)
	ctx := context.Background()
	out := reply("3", "c3-r1", "petr@mail.example", "ok")

	// 4xx: try later, retried by the outbound worker after retry_after
	m.smtp.fail(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted petr@mail.example, try later"}, nil)
	_, err := m.ch.Send(ctx, out)
	var ra *channels.RetryAfterError
	if !errors.As(err, &ra) || ra.After != time.Second || channels.IsPermanent(err) {
		t.Fatalf("451: %v, want a RetryAfterError of retry_after", err)
	}
	if strings.Contains(err.Error(), "petr@") {
		t.Errorf("the error repeats the server's text with the address: %v", err)
	}
	// the retry, once the server takes it again
	m.smtp.fail(nil, nil)
	if _, err := m.ch.Send(ctx, out); err != nil || len(m.smtp.received()) != 1 {
		t.Fatalf("retry: %v", err)
	}
	// 4xx on DATA too
	m.smtp.fail(nil, &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "insufficient storage"})
	if _, err := m.ch.Send(ctx, out); !errors.As(err, &ra) {
		t.Fatalf("452 on DATA: %v", err)
	}

	// 5xx: permanent, the manager is told why without the address
	m.smtp.fail(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<petr@mail.example>: no such user"}, nil)
	_, err = m.ch.Send(ctx, out)
	var le *locale.Error
	if !channels.IsPermanent(err) || !errors.As(err, &le) || le.Msg.Key != "failure.email.recipient" ||
		!strings.Contains(err.Error(), "SMTP 550 5.1.1") || strings.Contains(err.Error(), "petr@") {
		t.Fatalf("550: %v", err)
	}
	m.smtp.fail(nil, nil)

	// wrong password: permanent, with an alert
	alerts := &alertLog{}
	cfg := m.ch.cfg
	cfg.Mailboxes = slices.Clone(cfg.Mailboxes)
	cfg.Mailboxes[0].SMTP.Password = "wrong-password-1"
	d := m.e.Deps()
	d.Alerter = alerts
	bad := newTestChannel(t, cfg, d)
	_, err = bad.Send(ctx, out)
	if !channels.IsPermanent(err) || !errors.As(err, &le) || le.Msg.Key != "failure.email.login" || strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("535: %v", err)
	}
	if _, err := bad.Send(ctx, out); !channels.IsPermanent(err) {
		t.Fatalf("535 again: %v", err)
	}
	if len(alerts.reasons()) != 1 {
		t.Errorf("alerts %v: want one for the refused login, not one per message", alerts.reasons())
	}

	// no server: temporary
	cfg.Mailboxes[0].SMTP.Host = "127.0.0.1"
	cfg.Mailboxes[0].SMTP.Port = 1
	down := newTestChannel(t, cfg, m.e.Deps())
	if _, err = down.Send(ctx, out); err == nil || channels.IsPermanent(err) {
		t.Fatalf("connection refused: %v, want a temporary error", err)
	}
	for res, want := range map[string]float64{sendOK: 1, sendTemporary: 2, sendPermanent: 1} {
		if got := testutil.ToFloat64(m.ch.m.sends.WithLabelValues("sales", res)); got != want {
			t.Errorf("sends %s = %v, want %v", res, got, want)
		}
	}
}

func TestSendRejectsBadRecipient(t *testing.T) {
	m := newMailEnv(t, TLSNone)
	for _, c := range []string{"", "not an address", "Ivan <ivan@example.ru>", "a@b.example\r\nBcc: x@y.example"} {
		if _, err := m.ch.Send(context.Background(), reply("1", "r", c, "x")); !channels.IsPermanent(err) {
			t.Errorf("contact %q: %v, want a permanent error", c, err)
		}
	}
	out := reply("1", "r", "a@b.example", "x")
	out.Account = "nobody"
	if _, err := m.ch.Send(context.Background(), out); !channels.IsPermanent(err) {
		t.Errorf("unknown mailbox: %v", err)
	}
	if len(m.smtp.received()) != 0 {
		t.Fatal("something was sent")
	}
}

type alertLog struct {
	mu sync.Mutex
	l  []string
}

func (a *alertLog) Alert(_ context.Context, channel, account, reason string) error {
	a.mu.Lock()
	a.l = append(a.l, channel+"/"+account+": "+reason)
	a.mu.Unlock()
	return nil
}

func (a *alertLog) reasons() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.l...)
}

func TestEncodeSubject(t *testing.T) {
	for _, s := range []string{
		"Plain ASCII subject",
		"Re: Вопрос по доставке",
		"Request for quotation number 12345 — срочно, пожалуйста, до пятницы",
		"=?utf-8?q?looks_encoded?=",
		strings.Repeat("ж", 100),
	} {
		enc := encodeSubject(s)
		var h gomail.Header
		h.Set("Subject", enc)
		if got, err := h.Subject(); err != nil || got != s {
			t.Errorf("%q: encoded %q decodes to %q (%v)", s, enc, got, err)
		}
		var b bytes.Buffer
		w, _ := message.CreateWriter(&b, h.Header)
		w.Close()
		for _, line := range strings.Split(b.String(), "\r\n") {
			if len(line) > 78 {
				t.Errorf("%q: header line of %d octets", s, len(line))
			}
		}
	}
}

func TestThreadKeysCarryNoAddress(t *testing.T) {
	m := newMailEnv(t, TLSNone)
	m.imap.appendMail(t, "INBOX", fixture(t, "plain.eml"))
	syncOnce(t, m.ch)
	if _, err := m.ch.Send(context.Background(), reply("1", "c1-r1", "ivan@example.ru", "ok")); err != nil {
		t.Fatal(err)
	}
	keys, err := m.e.Redis.Keys(context.Background(), "*"+m.e.Keys.Prefix+":ch:email:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	threads := 0
	for _, k := range keys {
		if strings.Contains(strings.ToLower(k), "ivan") || strings.Contains(k, "example.ru") {
			t.Errorf("key %q names the customer", k)
		}
		if strings.Contains(k, ":thread:") {
			threads++
			v, _ := m.e.Redis.HGetAll(context.Background(), k).Result()
			for f, x := range v {
				if strings.Contains(x, "Вопрос") || strings.Contains(x, "ivan@") {
					t.Errorf("thread field %s = %q holds personal data", f, x)
				}
			}
		}
	}
	if threads != 1 || len(keys) < 3 {
		t.Fatalf("keys %v: want the position, one thread and one sent id", keys)
	}
}
