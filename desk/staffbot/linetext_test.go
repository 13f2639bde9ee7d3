package staffbot

import (
	"testing"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// TestLineTextShowsEditsAndDeletions: a transcript line the customer edited or deleted says
// so in the offer a manager reads.
func TestLineTextShowsEditsAndDeletions(t *testing.T) {
	for _, tc := range []struct {
		m    router.Message
		want string
	}{
		{router.Message{Text: "Есть серый диван?", Edited: true}, "Есть серый диван? (edited)"},
		{router.Message{Deleted: true}, "(deleted by the customer)"},
		{router.Message{Text: "Вот такой", Attachments: []channels.Attachment{{Kind: "image"}}}, "Вот такой [image]"},
	} {
		if got := lineText(tc.m); got != tc.want {
			t.Errorf("lineText(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}
