package staffbot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/store"
)

// phoneCall ingests a phone call as channels/calls makes it: the English Text for the API and
// the same line as a catalogue message in Call.Note.
func (w *world) phoneCall(id string, line locale.Msg, call channels.Call) {
	w.t.Helper()
	call.Note = line.Encode()
	in := channels.Inbound{Kind: channels.KindCall, Channel: "calls", Account: "generic", MessageID: id,
		ContactID: "+74951234567", Phone: "+74951234567", Source: "generic", SentAt: w.clk.Now(), ReceivedAt: w.clk.Now(),
		Text: line.String(), Call: &call}
	if _, err := store.NewIngest(w.rdb, w.keys, w.clk, nil).Ingest(w.ctx, in); err != nil {
		w.t.Fatal(err)
	}
}

// TestCallLinesInManagersLanguage: a phone call's line reads in the manager's language in the
// offer card, in the forwarded customer line and in /h, in Russian and in English.
func TestCallLinesInManagersLanguage(t *testing.T) {
	missed := locale.M("call.in.missed", "why", locale.M("call.why.no_answer"), "ring", 25*time.Second)
	answered := locale.M("call.in.answered", "who", "anna", "ring", 12*time.Second, "talk", 3*time.Minute)
	for _, tc := range []struct {
		annaLocale           string
		missed, answered     string
		englishMustNotAppear bool
	}{
		{annaLocale: "", missed: "Пропущенный звонок (нет ответа, вызов 25 секунд): перезвоните",
			answered: "Входящий звонок: ответил(а) anna через 12 секунд, разговор 3 минуты", englishMustNotAppear: true},
		{annaLocale: "en", missed: "Missed call (no answer, rang 25 seconds): call back",
			answered: "Incoming call answered by anna after 12 seconds, talked 3 minutes"},
	} {
		t.Run(cmpOr(tc.annaLocale, "ru"), func(t *testing.T) {
			w := newWorldWith(t, false, setup{locale: ruCatalogue(t), annaLocale: tc.annaLocale})
			w.online(anna)
			n := len(w.srv.Calls(""))
			w.phoneCall("c1:end", missed, channels.Call{Direction: channels.CallIn})
			w.pump()
			offers := w.offers(anna)
			if len(offers) != 1 {
				t.Fatalf("%d offers, want 1", len(offers))
			}
			if got := offers[0].Params.Get("text"); !strings.Contains(got, "» "+tc.missed) {
				t.Fatalf("offer card:\n%s\nwant the line %q", got, tc.missed)
			}
			w.tap(anna, offers[0].MessageID, callbackData(t, offers[0].Params.Get("reply_markup"), "t:"))
			w.pump()
			w.clk.Advance(time.Minute)
			w.phoneCall("c2:end", answered, channels.Call{Direction: channels.CallIn, Connected: true,
				ConnectedAt: w.clk.Now(), ManagerID: "anna"})
			w.pump()
			w.managerSays(anna, "/h", 0)
			w.pump()
			seen := strings.Join(w.seen(t, w.since(n), anna), "\n~~\n")
			for _, want := range []string{"\n" + tc.answered, ": " + tc.missed + "\n", ": " + tc.answered} {
				if !strings.Contains(seen, want) {
					t.Fatalf("anna saw:\n%s\n\nwant %q (forwarded line, then both calls in /h)", seen, want)
				}
			}
			if tc.englishMustNotAppear && (strings.Contains(seen, "Missed call") || strings.Contains(seen, "Incoming call")) {
				t.Fatalf("English call lines shown to a Russian reader:\n%s", seen)
			}
		})
	}
}
