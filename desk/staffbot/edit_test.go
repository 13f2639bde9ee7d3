package staffbot_test

import (
	"strings"
	"testing"

	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
)

// TestEditFlow: /edit N → field button → the manager types the value (a bad one is
// explained) → Save corrects the lead; Cancel drops it; another manager's lead is refused.
// In both languages, against the fake Bot API.
func TestEditFlow(t *testing.T) {
	for _, c := range []struct {
		lang                                string
		cat                                 func(*testing.T) *locale.Catalogue
		notYours, choose, prompt, invalid   string
		confirm, done, cancelled, typedName string
	}{
		{"en", func(*testing.T) *locale.Catalogue { return nil },
			"Lead #1 is not one of your open leads (see /list).",
			"✏️ Lead #1: what does the customer want corrected?",
			"Lead #1: type the customer's new phone number. It is not sent to the customer; /cancel to stop.",
			"That is not a valid phone number: type it in international format, e.g. +7 916 123-45-67, or /cancel.",
			"Lead #1: the customer's new phone number:\n+79161234567\nSave it?",
			"✅ Lead #1: the customer's phone number is corrected in all their leads.",
			"Correction cancelled.", "Lead #1: the customer's new name:\nOlga P.\nSave it?"},
		{"ru", ruCatalogue,
			"Лида #1 нет среди ваших открытых (см. /list).",
			"✏️ Лид #1: что клиент просит исправить?",
			"Лид #1: введите заново номер телефона клиента. Клиенту это не отправляется; /cancel — отменить.",
			"Это не номер телефона: введите его в международном формате, например +7 916 123-45-67, или /cancel.",
			"Лид #1, новое значение (номер телефона):\n+79161234567\nСохранить?",
			"✅ Лид #1: исправлено (номер телефона) во всех лидах клиента.",
			"Исправление отменено.", "Лид #1, новое значение (имя):\nOlga P.\nСохранить?"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			w := newWorldWith(t, false, setup{locale: c.cat(t)})
			w.online(anna)
			w.pushFixture(tokenShop, "text.json")
			w.pump()
			offer := w.offers(anna)
			if len(offer) != 1 {
				t.Fatalf("anna has %d offers", len(offer))
			}
			w.tap(anna, offer[0].MessageID, callbackData(t, offer[0].Params.Get("reply_markup"), "t:"))
			w.pump()
			last := func(chat int64) telegramtest.Call {
				t.Helper()
				s := w.sent(chat)
				if len(s) == 0 {
					t.Fatalf("nothing sent to %d", chat)
				}
				return s[len(s)-1]
			}
			expect := func(chat int64, want string, prefix bool) telegramtest.Call {
				t.Helper()
				m := last(chat)
				got := m.Params.Get("text")
				if prefix && !strings.HasPrefix(got, want) || !prefix && got != want {
					t.Fatalf("told %q, want %q", got, want)
				}
				return m
			}
			customerBefore := len(w.sent(customer))

			w.managerSays(boris, "/edit 1", 0)
			w.pump()
			expect(boris, c.notYours, false)

			// choose the phone, type a bad number, then a good one, save
			w.managerSays(anna, "/edit 1", 0)
			w.pump()
			m := expect(anna, c.choose, true)
			w.tap(anna, m.MessageID, callbackData(t, m.Params.Get("reply_markup"), "e:1:p"))
			w.pump()
			expect(anna, c.prompt, false)
			w.managerSays(anna, "call me maybe", 0)
			w.pump()
			expect(anna, c.invalid, false)
			w.managerSays(anna, "+7 916 123-45-67", 0)
			w.pump()
			m = expect(anna, c.confirm, false)
			if conv, err := w.rt.Conversation(w.ctx, 1); err != nil || conv.Phone != "" {
				t.Fatalf("corrected before Save: %+v %v", conv, err)
			}
			w.tap(anna, m.MessageID, callbackData(t, m.Params.Get("reply_markup"), "e:1:y"))
			w.pump()
			expect(anna, c.done, false)
			conv, err := w.rt.Conversation(w.ctx, 1)
			if err != nil || conv.Phone != "+79161234567" || conv.Name != "Olga Petrova" {
				t.Fatalf("after Save: %+v %v", conv, err)
			}
			tr, err := w.rt.Transcript(w.ctx, 1, 0)
			if err != nil || len(tr) == 0 || tr[len(tr)-1].Kind != "note" || tr[len(tr)-1].ManagerID != "anna" ||
				!strings.Contains(tr[len(tr)-1].Text, "phone number") {
				t.Fatalf("transcript %+v %v", tr, err)
			}
			// Save again: nothing pending any more
			w.tap(anna, m.MessageID, callbackData(t, m.Params.Get("reply_markup"), "e:1:y"))
			w.pump()
			if conv, _ := w.rt.Conversation(w.ctx, 1); conv.Phone != "+79161234567" {
				t.Fatalf("a stale Save changed the lead: %+v", conv)
			}

			// the name, typed and then cancelled: unchanged
			w.managerSays(anna, "/edit", 0) // the active lead
			w.pump()
			m = expect(anna, c.choose, true)
			w.tap(anna, m.MessageID, callbackData(t, m.Params.Get("reply_markup"), "e:1:n"))
			w.pump()
			w.managerSays(anna, "Olga P.", 0)
			w.pump()
			m = expect(anna, c.typedName, false)
			w.tap(anna, m.MessageID, callbackData(t, m.Params.Get("reply_markup"), "e:1:c"))
			w.pump()
			if conv, _ := w.rt.Conversation(w.ctx, 1); conv.Name != "Olga Petrova" {
				t.Fatalf("a cancelled correction changed the name: %+v", conv)
			}
			// /cancel while waiting for a value: the next message goes to the customer again
			w.managerSays(anna, "/edit 1", 0)
			w.pump()
			m = last(anna)
			w.tap(anna, m.MessageID, callbackData(t, m.Params.Get("reply_markup"), "e:1:m"))
			w.pump()
			w.managerSays(anna, "/cancel", 0)
			w.pump()
			expect(anna, c.cancelled, false)
			if n := len(w.sent(customer)); n != customerBefore {
				t.Fatalf("the customer got %d messages during the corrections", n-customerBefore)
			}
			w.managerSays(anna, "Hello!", 0)
			w.pump()
			if n := len(w.sent(customer)); n != customerBefore+1 {
				t.Fatalf("after /cancel a plain message did not reach the customer")
			}
			if conv, _ := w.rt.Conversation(w.ctx, 1); conv.State != router.StateAssigned || conv.Email != "" {
				t.Fatalf("after /cancel: %+v", conv)
			}
		})
	}
}
