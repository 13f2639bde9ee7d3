package whatsappcloud

import (
	"testing"

	"github.com/lidorub/lidorub/locale"
)

// Lines the channel writes itself travel as catalogue messages (Inbound.Note), so a
// Russian-speaking manager reads them in Russian; Text stays the English rendering.
func TestChannelLinesInReadersLanguage(t *testing.T) {
	cat, err := locale.New("ru", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.deliver(t, "reaction_removed.json")
	got := e.inbound(t)
	if len(got) != 1 {
		t.Fatalf("got %+v", got)
	}
	msg, ok := locale.Decode(got[0].Note)
	if !ok {
		t.Fatalf("Note %q is not a catalogue message", got[0].Note)
	}
	if s := cat.Render("ru", msg); s != "(реакция удалена)" {
		t.Errorf("ru: %q", s)
	}
	if s := cat.Render("en", msg); s != got[0].Text {
		t.Errorf("en: %q, Text %q", s, got[0].Text)
	}
}
