package staffbot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
	"github.com/lidorub/lidorub/router"
)

// salesWorld is a world with the sales manager Sveta online, in lang ("" = the Russian
// default, "en" = anna and sveta read English).
func salesWorld(t *testing.T, lang string) *world {
	t.Helper()
	name := "Анна"
	if lang == "en" {
		name = "Anna"
	}
	return newWorldWith(t, false, setup{locale: ruCatalogue(t), annaLocale: lang, annaName: name, sales: true, svetaLang: lang})
}

// takenLead: the customer writes, Anna takes the lead and answers; it returns Anna's card.
func (w *world) takenLead(t *testing.T, first, second, reply string) telegramtest.Call {
	t.Helper()
	w.customerSays(first)
	w.pump()
	w.clk.Advance(2 * time.Minute)
	w.online(anna, sveta)
	offer := w.offers(anna)
	if len(offer) != 1 {
		t.Fatalf("%d offers to anna", len(offer))
	}
	w.tap(anna, offer[0].MessageID, callbackData(t, offer[0].Params.Get("reply_markup"), "t:"))
	w.pump()
	ph, em := "+79161234567", "olga@example.com"
	c, err := w.rt.Conversation(w.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.rt.CorrectContact(w.ctx, router.ContactRef{Channel: c.Channel, Account: c.Account, ContactID: c.ContactID}, "anna",
		router.ContactCorrection{Phone: &ph, Email: &em}); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(30 * time.Second)
	w.customerSays(second)
	w.pump()
	w.clk.Advance(30 * time.Second)
	w.managerSays(anna, reply, 0)
	w.pump()
	return offer[0]
}

// salesCards are the messages with an Accept button sent to chat.
func (w *world) salesCards(chat int64) []telegramtest.Call {
	var out []telegramtest.Call
	for _, c := range w.sent(chat) {
		if strings.Contains(c.Params.Get("reply_markup"), `"sa:`) {
			out = append(out, c)
		}
	}
	return out
}

// handOff: Anna taps Hot and answers the prompt with note ("" = Skip note); it returns Sveta's
// sales card.
func (w *world) handOff(t *testing.T, card telegramtest.Call, note string) telegramtest.Call {
	t.Helper()
	w.tap(anna, card.MessageID, "q:1:h")
	w.pump()
	prompt := w.sent(anna)[len(w.sent(anna))-1]
	if note == "" {
		w.tap(anna, prompt.MessageID, callbackData(t, prompt.Params.Get("reply_markup"), "n:1:"))
	} else {
		w.managerSays(anna, note, prompt.MessageID) // a reply to the prompt (a plain message works too)
	}
	w.pump()
	cards := w.salesCards(sveta)
	if len(cards) != 1 {
		t.Fatalf("sveta got %d sales cards", len(cards))
	}
	return cards[0]
}

func (w *world) conv(t *testing.T) *router.Conversation {
	t.Helper()
	c, err := w.rt.Conversation(w.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSalesLeadInManagersLanguage: a lead from Hot with a note to Won with an amount, exactly
// as the lead-manager and the sales manager see it, in Russian (the default) and English.
func TestSalesLeadInManagersLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang                              string
		first, second, reply, note, later string
		salesReply, amount                string
		want                              map[string]string // step → what is seen, items separated by "~~"
	}{
		{lang: "", first: "Здравствуйте! Сколько стоит тур на Бали на двоих?", second: "А в рассрочку можно?",
			reply: "Ольга, добрый день! Тур на двоих — 240 000 ₽, рассрочка есть.", note: "Хочет Бали в марте, бюджет 250 000 ₽",
			later: "Когда можно созвониться?", salesReply: "Ольга, позвоню в 15:00!", amount: "150 000",
			want: map[string]string{
				"hot": `toast: 
~~
send: 📝 Лид #1 (горячий) уйдёт в продажи. Напишите заметку для менеджера продаж (ответом на это сообщение или просто сюда) или нажмите «Без заметки».
[➡️ Без заметки]`,
				"note": `edit buttons:
~~
edit buttons:
~~
send: 📤 Лид #1 · Telegram · Olga Petrova (горячий) передан в продажи с вашей заметкой.`,
				"card": `send: 💼 Лид для продаж #1 · Telegram
Olga Petrova · +79161234567 · olga@example.com
Передал(а): Анна · горячий
📝 Заметка: Хочет Бали в марте, бюджет 250 000 ₽
⏱ Ждёт: 4 минуты, в продажах: меньше минуты

Переписка:
10:00 · Клиент: Здравствуйте! Сколько стоит тур на Бали на двоих?
10:00 · Автоответ: Спасибо за сообщение! Менеджер ответит вам в течение минуты.
10:02 · Примечание: anna исправил(а) номер телефона клиента по его просьбе
10:02 · Примечание: anna исправил(а) адрес e-mail клиента по его просьбе
10:02 · Клиент: А в рассрочку можно?
10:03 · Анна: Ольга, добрый день! Тур на двоих — 240 000 ₽, рассрочка есть.
[✅ Принять | ↩️ Отклонить]`,
				"accept": `toast: ✅ Лид #1 ваш. Свяжитесь с клиентом.
~~
edit: ✅ Вы приняли лид #1 · Telegram
Olga Petrova · +79161234567 · olga@example.com
Передал(а): Анна · горячий
📝 Заметка: Хочет Бали в марте, бюджет 250 000 ₽
⏱ Ждёт: 5 минут, в продажах: 1 минуту
Ответьте на это сообщение (или просто напишите сюда) — ответ уйдёт клиенту и отметит контакт. /c 1 снова сделает лид активным.

Переписка:
10:00 · Клиент: Здравствуйте! Сколько стоит тур на Бали на двоих?
10:00 · Автоответ: Спасибо за сообщение! Менеджер ответит вам в течение минуты.
10:02 · Примечание: anna исправил(а) номер телефона клиента по его просьбе
10:02 · Примечание: anna исправил(а) адрес e-mail клиента по его просьбе
10:02 · Клиент: А в рассрочку можно?
10:03 · Анна: Ольга, добрый день! Тур на двоих — 240 000 ₽, рассрочка есть.
[📞 Связался | 🏆 Сделка | ❌ Отказ / 📜 История]`,
				"accept again": `toast: Эта кнопка лида #1 уже не действует.`,
				"contacted": `toast: Контакт с клиентом по лиду #1 отмечен.
~~
edit buttons:
[🏆 Сделка | ❌ Отказ / 📜 История]`,
				"customer": `send: 💬 #1 · Telegram · Olga Petrova
Когда можно созвониться?`,
				"won": `toast: 
~~
send: 🏆 Сумма сделки по лиду #1, RUB? Напишите число (например, 150 000) или нажмите «Без суммы».
[➡️ Без суммы]
~~
send: Не понял сумму. Напишите число, например 150 000 или 150 000,50, или нажмите «Без суммы».
~~
edit buttons:
~~
edit buttons:
~~
send: 🏆 Сделка по лиду #1 · Telegram · Olga Petrova выиграна: 150 000 RUB. Поздравляем!`,
				"won again": `toast: Эта кнопка лида #1 уже не действует.
~~
edit buttons:`,
			}},
		{lang: "en", first: "Hello! How much is a tour to Bali for two?", second: "Can I pay in instalments?",
			reply: "Hi Olga! A tour for two is 2,400 EUR.", note: "Wants Bali in March, budget 2,500 EUR",
			later: "When can we talk?", salesReply: "Olga, I will call at 3 pm!", amount: "150000.5",
			want: map[string]string{
				"hot": `toast: 
~~
send: 📝 Lead #1 (hot) goes to sales. Write a note for the sales manager (reply to this message or just write here), or tap “Skip note”.
[➡️ Skip note]`,
				"note": `edit buttons:
~~
edit buttons:
~~
send: 📤 Lead #1 · Telegram · Olga Petrova (hot) went to sales with your note.`,
				"card": `send: 💼 Sales lead #1 · Telegram
Olga Petrova · +79161234567 · olga@example.com
Handed off by Anna · hot
📝 Note: Wants Bali in March, budget 2,500 EUR
⏱ Waiting: 4 minutes, in sales: less than a minute

Conversation:
10:00 · Customer: Hello! How much is a tour to Bali for two?
10:00 · Auto-reply: Спасибо за сообщение! Менеджер ответит вам в течение минуты.
10:02 · Note: anna corrected the customer's phone number at their request
10:02 · Note: anna corrected the customer's e-mail address at their request
10:02 · Customer: Can I pay in instalments?
10:03 · Anna: Hi Olga! A tour for two is 2,400 EUR.
[✅ Accept | ↩️ Reject]`,
				"accept": `toast: ✅ Lead #1 is yours. Contact the customer.
~~
edit: ✅ You accepted lead #1 · Telegram
Olga Petrova · +79161234567 · olga@example.com
Handed off by Anna · hot
📝 Note: Wants Bali in March, budget 2,500 EUR
⏱ Waiting: 5 minutes, in sales: 1 minute
Reply to this message (or just write here) to answer the customer; that marks them contacted. /c 1 makes it active again later.

Conversation:
10:00 · Customer: Hello! How much is a tour to Bali for two?
10:00 · Auto-reply: Спасибо за сообщение! Менеджер ответит вам в течение минуты.
10:02 · Note: anna corrected the customer's phone number at their request
10:02 · Note: anna corrected the customer's e-mail address at their request
10:02 · Customer: Can I pay in instalments?
10:03 · Anna: Hi Olga! A tour for two is 2,400 EUR.
[📞 Contacted | 🏆 Won | ❌ Lost / 📜 History]`,
				"accept again": `toast: This button of lead #1 is no longer valid.`,
				"contacted": `toast: Lead #1: the customer is marked contacted.
~~
edit buttons:
[🏆 Won | ❌ Lost / 📜 History]`,
				"customer": `send: 💬 #1 · Telegram · Olga Petrova
When can we talk?`,
				"won": `toast: 
~~
send: 🏆 The deal amount of lead #1, RUB? Write a number (e.g. 150000) or tap “Skip”.
[➡️ Skip]
~~
send: That is not an amount. Write a number such as 150000 or 150000.50, or tap “Skip”.
~~
edit buttons:
~~
edit buttons:
~~
send: 🏆 Lead #1 · Telegram · Olga Petrova won: 150,000.50 RUB. Congratulations!`,
				"won again": `toast: This button of lead #1 is no longer valid.
~~
edit buttons:`,
			}},
	} {
		t.Run(cmpOr(tc.lang, "ru"), func(t *testing.T) {
			w := salesWorld(t, tc.lang)
			card := w.takenLead(t, tc.first, tc.second, tc.reply)
			steps := map[string][]string{}

			n := len(w.srv.Calls(""))
			w.tap(anna, card.MessageID, "q:1:h")
			w.pump()
			steps["hot"] = w.seen(t, w.since(n), anna)
			if c := w.conv(t); c.HandedOff || c.ManagerID != "anna" {
				t.Fatalf("handed off before the note: %+v", c)
			}

			w.clk.Advance(time.Minute)
			n = len(w.srv.Calls(""))
			w.managerSays(anna, tc.note, 0)
			w.pump()
			steps["note"] = w.seen(t, w.since(n), anna)
			steps["card"] = w.seen(t, w.since(n), sveta)
			c := w.conv(t)
			if !c.HandedOff || c.HandoffNote != tc.note || c.SalesState != router.SalesOffered || c.SalesOfferTo != "sveta" {
				t.Fatalf("after the note: %+v", c)
			}
			if got := lastText(w.customerReplies()); got != tc.reply {
				t.Fatalf("the note reached the customer: %q", got)
			}
			sc := w.salesCards(sveta)
			if len(sc) != 1 {
				t.Fatalf("%d sales cards", len(sc))
			}
			accept := callbackData(t, sc[0].Params.Get("reply_markup"), "sa:")

			w.clk.Advance(time.Minute)
			n = len(w.srv.Calls(""))
			w.tap(sveta, sc[0].MessageID, accept)
			w.pump()
			steps["accept"] = w.seen(t, w.since(n), sveta)
			if c := w.conv(t); c.SalesState != router.SalesAccepted || c.ManagerID != "sveta" {
				t.Fatalf("after Accept: %+v", c)
			}
			// the same Accept again (a double tap): a toast, nothing done
			n = len(w.srv.Calls(""))
			w.tap(sveta, sc[0].MessageID, accept)
			w.pump()
			steps["accept again"] = w.seen(t, w.since(n), sveta)

			n = len(w.srv.Calls(""))
			w.tap(sveta, sc[0].MessageID, fmt.Sprintf("sc:1:%d", c.SalesOfferSeq))
			w.pump()
			steps["contacted"] = w.seen(t, w.since(n), sveta)
			if c := w.conv(t); c.SalesState != router.SalesContacted {
				t.Fatalf("after Contacted: %+v", c)
			}

			// the customer writes: forwarded to the sales manager, who answers by a reply
			n = len(w.srv.Calls(""))
			w.customerSays(tc.later)
			w.pump()
			steps["customer"] = w.seen(t, w.since(n), sveta)
			fwd := w.sent(sveta)
			w.managerSays(sveta, tc.salesReply, fwd[len(fwd)-1].MessageID)
			w.pump()
			if got := lastText(w.customerReplies()); got != tc.salesReply {
				t.Fatalf("the customer got %q", got)
			}

			n = len(w.srv.Calls(""))
			w.tap(sveta, sc[0].MessageID, fmt.Sprintf("sw:1:%d", c.SalesOfferSeq))
			w.pump()
			w.managerSays(sveta, "сто тысяч", 0)
			w.pump()
			w.managerSays(sveta, tc.amount, 0)
			w.pump()
			steps["won"] = w.seen(t, w.since(n), sveta)
			c = w.conv(t)
			if c.Outcome != router.OutcomeWon || c.Currency != "RUB" || (c.Amount != 150000 && c.Amount != 150000.5) {
				t.Fatalf("after Won: %+v", c)
			}
			// Won again from the old card: stale, the outcome stays
			n = len(w.srv.Calls(""))
			w.tap(sveta, sc[0].MessageID, fmt.Sprintf("sw:1:%d", c.SalesOfferSeq))
			w.pump()
			steps["won again"] = w.seen(t, w.since(n), sveta)

			for _, k := range []string{"hot", "note", "card", "accept", "accept again", "contacted", "customer", "won", "won again"} {
				got := strings.Join(steps[k], "\n~~\n")
				t.Logf("---- %s\n%s", k, got)
				if got != tc.want[k] {
					t.Errorf("%s: saw\n%s\n\nwant\n%s", k, got, tc.want[k])
				}
			}
		})
	}
}

// TestSalesRejectNotALead: Reject → the reasons → "not a real lead": the lead goes back to
// the lead-manager, who is told the reason; a stale Reject does nothing.
func TestSalesRejectNotALead(t *testing.T) {
	for _, lang := range []string{"", "en"} {
		t.Run(cmpOr(lang, "ru"), func(t *testing.T) {
			w := salesWorld(t, lang)
			card := w.handOff(t, w.takenLead(t, "Бали?", "На двоих", "Да, конечно."), "")
			c := w.conv(t)
			if !c.HandedOff || c.HandoffNote != "" || c.SalesOfferTo != "sveta" {
				t.Fatalf("after Skip note: %+v", c)
			}
			n := len(w.srv.Calls(""))
			w.tap(sveta, card.MessageID, callbackData(t, card.Params.Get("reply_markup"), "sr:"))
			w.pump()
			reasons := w.srv.Calls("editMessageReplyMarkup")
			kb := reasons[len(reasons)-1].Params.Get("reply_markup")
			labels := buttonTexts(t, kb)
			want := map[string]string{"": "Не наш регион / Дубликат / Недостаточно информации / Не настоящий лид / ◀️ Назад",
				"en": "Not our region / Duplicate / Not enough information / Not a real lead / ◀️ Back"}[lang]
			if labels != want {
				t.Fatalf("reasons keyboard %q, want %q", labels, want)
			}
			// a Reject of an earlier offer seq: stale
			w.tap(sveta, card.MessageID, fmt.Sprintf("sx:1:%d:not_a_real_lead", c.SalesOfferSeq-1))
			w.pump()
			if c := w.conv(t); c.SalesState != router.SalesOffered {
				t.Fatalf("a stale reject acted: %+v", c)
			}
			w.tap(sveta, card.MessageID, callbackData(t, kb, "sx:1:"+fmt.Sprint(c.SalesOfferSeq)+":not_a_real_lead"))
			w.pump()
			c = w.conv(t)
			if c.SalesState != router.SalesReturned || c.ManagerID != "anna" {
				t.Fatalf("after the rejection: %+v", c)
			}
			seenS := strings.Join(w.seen(t, w.since(n), sveta), "\n~~\n")
			seenA := strings.Join(w.seen(t, w.since(n), anna), "\n~~\n")
			t.Logf("sveta:\n%s\nanna:\n%s", seenS, seenA)
			wantS := map[string]string{"": "toast: Эта кнопка лида #1 уже не действует.", "en": "toast: This button of lead #1 is no longer valid."}[lang]
			wantA := map[string]string{"": "send: ↩️ Продажи вернули лид #1 · Telegram · Olga Petrova: Не настоящий лид. Лид снова ваш (/c 1).",
				"en": "send: ↩️ Sales returned lead #1 · Telegram · Olga Petrova: Not a real lead. It is yours again (/c 1)."}[lang]
			if !strings.Contains(seenS, wantS) || !strings.Contains(seenS, "#1") {
				t.Errorf("sveta saw\n%s\nwant a toast %q", seenS, wantS)
			}
			if !strings.Contains(seenA, wantA) {
				t.Errorf("anna saw\n%s\nwant\n%s", seenA, wantA)
			}
			// the lead is Anna's again: a plain message reaches the customer
			w.managerSays(anna, "Ольга, уточните, пожалуйста, даты.", 0)
			w.pump()
			if got := lastText(w.customerReplies()); got != "Ольга, уточните, пожалуйста, даты." {
				t.Fatalf("the customer got %q", got)
			}
		})
	}
}

// TestSalesLost: Accept → Lost → a loss reason: the outcome is recorded with the reason and
// the sales manager is told; Lost again from the card is stale.
func TestSalesLost(t *testing.T) {
	for _, lang := range []string{"", "en"} {
		t.Run(cmpOr(lang, "ru"), func(t *testing.T) {
			w := salesWorld(t, lang)
			card := w.handOff(t, w.takenLead(t, "Бали?", "На двоих", "Да, конечно."), "Дорого для них")
			if c := w.conv(t); c.HandoffNote != "Дорого для них" {
				t.Fatalf("note %q", c.HandoffNote)
			}
			if got := lastText(w.customerReplies()); got != "Да, конечно." {
				t.Fatalf("the note reached the customer: %q", got)
			}
			w.tap(sveta, card.MessageID, callbackData(t, card.Params.Get("reply_markup"), "sa:"))
			w.pump()
			seq := w.conv(t).SalesOfferSeq
			w.tap(sveta, card.MessageID, fmt.Sprintf("sl:1:%d", seq))
			w.pump()
			ks := w.srv.Calls("editMessageReplyMarkup")
			kb := ks[len(ks)-1].Params.Get("reply_markup")
			want := map[string]string{"": "Цена / Не отвечает / Выбрал конкурента / Передумал / Другое / ◀️ Назад",
				"en": "Price / No answer / Chose a competitor / Changed their mind / Other / ◀️ Back"}[lang]
			if got := buttonTexts(t, kb); got != want {
				t.Fatalf("loss reasons %q, want %q", got, want)
			}
			n := len(w.srv.Calls(""))
			lost := callbackData(t, kb, fmt.Sprintf("so:1:%d:price", seq))
			w.tap(sveta, card.MessageID, lost)
			w.pump()
			c := w.conv(t)
			if c.Outcome != router.OutcomeLost || c.LossReason != "price" {
				t.Fatalf("after Lost: %+v", c)
			}
			got := strings.Join(w.seen(t, w.since(n), sveta), "\n~~\n")
			t.Logf("sveta:\n%s", got)
			wantLost := map[string]string{"": "send: ❌ Лид #1 · Telegram · Olga Petrova закрыт как отказ: Цена.",
				"en": "send: ❌ Lead #1 · Telegram · Olga Petrova lost: Price."}[lang]
			if !strings.Contains(got, wantLost) {
				t.Errorf("sveta saw\n%s\nwant %q", got, wantLost)
			}
			n = len(w.srv.Calls(""))
			w.tap(sveta, card.MessageID, lost)
			w.pump()
			got = strings.Join(w.seen(t, w.since(n), sveta), "\n~~\n")
			if !strings.HasPrefix(got, "toast: ") || strings.Contains(got, "send:") {
				t.Errorf("Lost again: %s", got)
			}
			if c := w.conv(t); c.LossReason != "price" || c.Outcome != router.OutcomeLost {
				t.Fatalf("after a stale Lost: %+v", c)
			}
		})
	}
}

// TestSalesOfferLapses: an offer not accepted in time is withdrawn (offered to the only sales
// manager again: a new card with a new seq); the old card's Accept is stale, the new one works.
func TestSalesOfferLapses(t *testing.T) {
	w := salesWorld(t, "")
	card := w.handOff(t, w.takenLead(t, "Бали?", "На двоих", "Да, конечно."), "")
	w.clk.Advance(w.rt.SalesConfig().AcceptTimeout + time.Second)
	w.pump()
	var lapsed string
	for _, e := range w.srv.Calls("editMessageText") {
		if e.ChatID() == sveta && e.Params.Get("message_id") == fmt.Sprint(card.MessageID) {
			lapsed = e.Params.Get("text")
		}
	}
	if want := "⌛ Время на принятие лида #1 вышло. Других свободных менеджеров продаж нет — он снова предложен вам (новое сообщение ниже)."; lapsed != want {
		t.Fatalf("the lapsed card says %q, want %q", lapsed, want)
	}
	cards := w.salesCards(sveta)
	if len(cards) != 2 || w.conv(t).SalesOfferSeq != 2 {
		t.Fatalf("%d cards, conversation %+v", len(cards), w.conv(t))
	}
	n := len(w.srv.Calls(""))
	w.tap(sveta, card.MessageID, callbackData(t, card.Params.Get("reply_markup"), "sa:"))
	w.pump()
	if got := w.seen(t, w.since(n), sveta); len(got) == 0 || got[0] != "toast: Эта кнопка лида #1 уже не действует." {
		t.Fatalf("stale Accept: %q", got)
	}
	if c := w.conv(t); c.SalesState != router.SalesOffered {
		t.Fatalf("a lapsed offer was accepted: %+v", c)
	}
	w.tap(sveta, cards[1].MessageID, callbackData(t, cards[1].Params.Get("reply_markup"), "sa:1:2"))
	w.pump()
	if c := w.conv(t); c.SalesState != router.SalesAccepted || c.ManagerID != "sveta" {
		t.Fatalf("the new offer was not accepted: %+v", c)
	}
}

// TestSalesNoContact: an accepted lead whose customer is not contacted within first_contact is
// taken off the sales manager: the card says so and loses its buttons, and its Won is stale.
func TestSalesNoContact(t *testing.T) {
	w := salesWorld(t, "en")
	card := w.handOff(t, w.takenLead(t, "Bali?", "For two", "Sure."), "")
	w.tap(sveta, card.MessageID, callbackData(t, card.Params.Get("reply_markup"), "sa:"))
	w.pump()
	seq := w.conv(t).SalesOfferSeq
	n := len(w.srv.Calls(""))
	w.clk.Advance(w.rt.SalesConfig().FirstContact + time.Second)
	w.pump()
	got := w.seen(t, w.since(n), sveta)
	if len(got) == 0 || got[0] != "edit: ⌛ Lead #1 was taken off you: the customer was not contacted in time." {
		t.Fatalf("sveta saw %q", got)
	}
	if c := w.conv(t); c.SalesState == router.SalesAccepted && c.SalesOfferSeq == seq {
		t.Fatalf("still accepted: %+v", c)
	}
	n = len(w.srv.Calls(""))
	w.tap(sveta, card.MessageID, fmt.Sprintf("sw:1:%d", seq))
	w.pump()
	if got := w.seen(t, w.since(n), sveta); len(got) == 0 || got[0] != "toast: This button of lead #1 is no longer valid." {
		t.Fatalf("stale Won: %q", got)
	}
}
