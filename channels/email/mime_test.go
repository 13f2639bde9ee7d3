package email

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lidorub/lidorub/channels"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMapInbound(t *testing.T) {
	tests := []struct {
		file    string
		contact string
		name    string
		text    string
		msgID   string
		meta    map[string]string
		atts    []channels.Attachment
		ignore  string
	}{
		{file: "plain.eml", contact: "ivan@example.ru", name: "Иван Петров", msgID: "plain-1@mail.example.ru",
			text: "Вопрос по доставке\n\nЗдравствуйте! Сколько стоит доставка дивана «Оскар» в Тверь?\nСпасибо, Иван",
			meta: map[string]string{"message_id": "plain-1@mail.example.ru", "thread": "plain-1@mail.example.ru", "subject": "Вопрос по доставке"}},
		{file: "html_only.eml", contact: "buyer@corp.example", name: "Buyer", msgID: "html-1@corp.example",
			text: "Order\n\nHello,\n\nwe need 50 chairs by Friday.\nPrice list: our list (https://buyer.example/list)\n\n- oak\n- pine"},
		{file: "alternative.eml", contact: "anna@example.org", msgID: "alt-1@example.org", text: "Question\n\nPlain version wins."},
		{file: "cp1251.eml", contact: "petr@mail.example", name: "Пётр", msgID: "cp1251-1@mail.example",
			text: "Оптовый заказ\n\nДобрый день! Нужна консультация по оптовым ценам."},
		{file: "koi8r.eml", contact: "olga@example.net", msgID: "koi8-1@example.net",
			text: "Скидка\n\nПривет! Есть ли скидка для постоянных клиентов?"},
		{file: "attachments.eml", contact: "customer@example.com", name: "Real Customer", msgID: "att-1@example.com",
			text: "Estimate attached\n\nPlease see the estimate.",
			atts: []channels.Attachment{
				{Kind: "document", MIME: "application/pdf", Size: 1017, Name: "Смета.pdf"},
				{Kind: "image", MIME: "image/jpeg", Size: 300, Name: "photo.jpg"},
			}},
		{file: "reply.eml", contact: "ivan@example.ru", name: "Ivan Petrov", msgID: "reply-1@mail.example.ru",
			text: "Thanks, the price suits us.",
			meta: map[string]string{"message_id": "reply-1@mail.example.ru", "thread": "plain-1@mail.example.ru",
				"subject": "Re: Вопрос по доставке", "in_reply_to": "c1-r1.lidorub@shop.example", "quote_stripped": "1"}},
		{file: "autoreply.eml", ignore: "automatic: Auto-Submitted: auto-replied"},
		{file: "bulk.eml", ignore: "automatic: Precedence: bulk"},
		{file: "bounce.eml", ignore: "automatic: delivery report (multipart/report)"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := ParseMail(fixture(t, tt.file), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			in, ignore := MapInbound("sales", "sales@shop.example", m)
			if ignore != tt.ignore {
				t.Fatalf("ignore = %q, want %q", ignore, tt.ignore)
			}
			if ignore != "" {
				return
			}
			if in.Channel != Name || in.Account != "sales" || in.Kind != channels.KindMessage {
				t.Errorf("channel/account/kind = %s/%s/%s", in.Channel, in.Account, in.Kind)
			}
			if in.ContactID != tt.contact || in.Email != tt.contact {
				t.Errorf("contact = %q (email %q), want %q", in.ContactID, in.Email, tt.contact)
			}
			if in.DisplayName != tt.name {
				t.Errorf("name = %q, want %q", in.DisplayName, tt.name)
			}
			if in.MessageID != tt.msgID {
				t.Errorf("message id = %q, want %q", in.MessageID, tt.msgID)
			}
			if d := cmp.Diff(tt.text, in.Text); d != "" {
				t.Errorf("text (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.atts, in.Attachments); d != "" {
				t.Errorf("attachments (-want +got):\n%s", d)
			}
			if tt.meta != nil {
				if d := cmp.Diff(tt.meta, in.Meta); d != "" {
					t.Errorf("meta (-want +got):\n%s", d)
				}
			}
			if in.DedupeTTL != dedupeTTL {
				t.Errorf("dedupe ttl = %s", in.DedupeTTL)
			}
		})
	}
}

func TestMessageWithoutIDIsKeyedByItsHeader(t *testing.T) {
	raw := fixture(t, "no_message_id.eml")
	a, err := ParseMail(raw, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ParseMail(raw, ParseOptions{})
	if !strings.HasPrefix(a.MessageID, "h:") || len(a.MessageID) != 66 || a.MessageID != b.MessageID {
		t.Fatalf("ids %q, %q: want one stable h:<sha256>", a.MessageID, b.MessageID)
	}
	other := strings.Replace(string(raw), "Subject: Hi", "Subject: Hello", 1)
	c, _ := ParseMail([]byte(other), ParseOptions{})
	if c.MessageID == a.MessageID {
		t.Fatal("a different header gave the same id")
	}
}

func TestOwnAndSenderlessMessagesAreIgnored(t *testing.T) {
	m, _ := ParseMail([]byte("From: Sales <SALES@shop.example>\r\nSubject: x\r\n\r\nloop"), ParseOptions{})
	if _, ignore := MapInbound("sales", "sales@shop.example", m); ignore != "sent from the mailbox itself" {
		t.Errorf("own message: ignore = %q", ignore)
	}
	m, _ = ParseMail([]byte("Subject: x\r\n\r\nno sender"), ParseOptions{})
	if _, ignore := MapInbound("sales", "sales@shop.example", m); ignore != errNoSender.Error() {
		t.Errorf("no sender: ignore = %q", ignore)
	}
}

func TestLongTextIsCut(t *testing.T) {
	raw := "From: a@b.example\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.Repeat("ж", 50)
	m, err := ParseMail([]byte(raw), ParseOptions{MaxTextChars: 10})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != strings.Repeat("ж", 10)+"…" || !m.Truncated {
		t.Fatalf("text %q truncated %v", m.Text, m.Truncated)
	}
}

func TestAutoHeaders(t *testing.T) {
	for _, h := range []string{
		"Auto-Submitted: auto-generated", "Precedence: junk", "Precedence: list", "Precedence: auto_reply",
		"X-Autorespond: 1", "X-Failed-Recipients: x@y.example", "Return-Path: <>",
	} {
		m, _ := ParseMail([]byte("From: a@b.example\r\n"+h+"\r\n\r\nhi"), ParseOptions{})
		if m.Auto == "" {
			t.Errorf("%s: not recognised as automatic", h)
		}
	}
	m, _ := ParseMail([]byte("From: postmaster@b.example\r\n\r\nhi"), ParseOptions{})
	if m.Auto == "" {
		t.Error("postmaster: not recognised as automatic")
	}
	m, _ = ParseMail([]byte("From: a@b.example\r\nAuto-Submitted: no\r\n\r\nhi"), ParseOptions{})
	if m.Auto != "" {
		t.Errorf("Auto-Submitted: no taken as automatic (%s)", m.Auto)
	}
}

func TestStripQuoted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Да, подходит.\n\nПн, 12 янв. 2026 г. в 12:30, Shop <sales@shop.example>:\nнаписал(а):\n> Доставка 1500 ₽\n>\n> --\n> Shop", "Да, подходит."},
		{"Ок\n\nпт, 5 апр. 2024 г. в 10:00, Shop <sales@shop.example>:\n\n> Цена 1500", "Ок"},
		{"Yes.\n\nOn Mon, Jan 12, 2026 Shop wrote:\n> price 1500\n> \n", "Yes."},
		{"> only a quote", "> only a quote"},
		{"> question one\nanswer one\n> question two\nanswer two", "> question one\nanswer one\n> question two\nanswer two"},
		{"no quote at all", "no quote at all"},
	}
	for _, tt := range tests {
		got, _ := stripQuoted(tt.in)
		if got != tt.want {
			t.Errorf("stripQuoted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
