package staffbot

import (
	"testing"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
)

// TestLineTextShowsEditsAndDeletions: a transcript line the customer edited or deleted says
// so in the offer a manager reads, in the manager's language.
func TestLineTextShowsEditsAndDeletions(t *testing.T) {
	cat, err := locale.New(locale.RU, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &Bot{cat: cat}
	for _, tc := range []struct {
		lang string
		m    router.Message
		want string
	}{
		{"en", router.Message{Text: "Есть серый диван?", Edited: true}, "Есть серый диван? (edited)"},
		{"en", router.Message{Deleted: true}, "(deleted by the customer)"},
		{"en", router.Message{Text: "Вот такой", Attachments: []channels.Attachment{{Kind: "image"}}}, "Вот такой [photo]"},
		{"ru", router.Message{Text: "Есть серый диван?", Edited: true}, "Есть серый диван? (изменено)"},
		{"ru", router.Message{Deleted: true}, "(удалено клиентом)"},
		{"ru", router.Message{Text: "Вот такой", Attachments: []channels.Attachment{{Kind: "image"}, {Kind: "document", Name: "прайс.pdf"}}}, "Вот такой [фото] [файл: прайс.pdf]"},
		{"ru", router.Message{Kind: "note", Text: "not delivered: empty message", Note: locale.M("note.not_delivered", "reason", locale.M("failure.empty")).Encode()}, "не доставлено: пустое сообщение"},
	} {
		if got := b.lineText(tc.lang, tc.m); got != tc.want {
			t.Errorf("lineText(%s, %+v) = %q, want %q", tc.lang, tc.m, got, tc.want)
		}
	}
}
