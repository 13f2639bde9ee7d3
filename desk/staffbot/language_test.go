package staffbot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
)

// customerSays queues a private message from the customer (Olga Petrova) to the shop bot.
func (w *world) customerSays(text string) {
	w.mu.Lock()
	w.msgN++
	id := w.msgN
	w.mu.Unlock()
	w.pushRaw(tokenShop, map[string]any{"message": map[string]any{"message_id": id, "date": w.clk.Now().Unix(), "text": text,
		"from": map[string]any{"id": customer, "is_bot": false, "first_name": "Olga", "last_name": "Petrova", "language_code": "ru"},
		"chat": map[string]any{"id": customer, "type": "private", "first_name": "Olga", "last_name": "Petrova"}}})
}

// buttonTexts are the labels of an inline keyboard, row by row ("a | b / c").
func buttonTexts(t *testing.T, markup string) string {
	t.Helper()
	var k struct {
		InlineKeyboard [][]struct {
			Text string `json:"text"`
		} `json:"inline_keyboard"`
	}
	if markup == "" {
		return ""
	}
	if err := json.Unmarshal([]byte(markup), &k); err != nil {
		t.Fatalf("reply_markup %q: %v", markup, err)
	}
	var rows []string
	for _, r := range k.InlineKeyboard {
		var labels []string
		for _, b := range r {
			labels = append(labels, b.Text)
		}
		rows = append(rows, strings.Join(labels, " | "))
	}
	return strings.Join(rows, " / ")
}

// since returns the calls made after the first n.
func (w *world) since(n int) []telegramtest.Call { return w.srv.Calls("")[n:] }

// seen is what a manager sees of one step: messages sent, messages edited, toasts.
func (w *world) seen(t *testing.T, calls []telegramtest.Call, chat int64) []string {
	t.Helper()
	var out []string
	for _, c := range calls {
		switch {
		case c.Method == "sendMessage" && c.ChatID() == chat:
			out = append(out, "send: "+c.Params.Get("text")+buttonsSuffix(t, c))
		case c.Method == "editMessageText" && c.ChatID() == chat:
			out = append(out, "edit: "+c.Params.Get("text")+buttonsSuffix(t, c))
		case c.Method == "editMessageReplyMarkup" && c.ChatID() == chat:
			out = append(out, "edit buttons:"+buttonsSuffix(t, c))
		case c.Method == "answerCallbackQuery":
			out = append(out, "toast: "+c.Params.Get("text"))
		}
	}
	return out
}

func buttonsSuffix(t *testing.T, c telegramtest.Call) string {
	if b := buttonTexts(t, c.Params.Get("reply_markup")); b != "" {
		return "\n[" + b + "]"
	}
	return ""
}

// TestLeadInManagersLanguage: one full lead (offer → Take → customer message and reply →
// Hot → /h) exactly as a manager sees it, in Russian (the default) and in English (the
// manager's own locale over a Russian default), against the fake Bot API.
func TestLeadInManagersLanguage(t *testing.T) {
	cat, err := locale.New(locale.RU, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang                 string
		name                 string
		first, second, reply string
		want                 map[string]string // step → what anna sees, items separated by "~~"
	}{
		{lang: "", name: "Анна",
			first: "Здравствуйте! Сколько стоит тур на Бали на двоих?", second: "А в рассрочку можно?",
			reply: "Ольга, добрый день! Тур на двоих — 240 000 ₽, рассрочка есть.",
			want: map[string]string{
				"online+offer": `send: 🟢 Вы в сети. Новые лиды будут приходить сюда.
~~
send: 🆕 Новый лид #1 · Telegram
Olga Petrova
Ждёт: 2 минуты

» Здравствуйте! Сколько стоит тур на Бали на двоих?
[✅ Взять | ↪️ Передать]`,
				"take": `toast: ✅ Лид #1 ваш. Напишите ответ.
~~
edit: ✅ Вы взяли лид #1 · Telegram · Olga Petrova.
Ответьте на это сообщение (или просто напишите сюда) — ответ уйдёт клиенту. Команда /c 1 снова сделает этот лид активным.

» Здравствуйте! Сколько стоит тур на Бали на двоих?
[🔥 Горячий | Тёплый | Турист / 📜 История | Закрыть]`,
				"customer": `send: 💬 #1 · Telegram · Olga Petrova
А в рассрочку можно?`,
				"reply": ``,
				"hot":   `toast: Лид #1 отмечен как горячий.`,
				"history": `send: 📜 Лид #1 · Telegram · Olga Petrova: 4 последних сообщения

10:00 · Клиент: Здравствуйте! Сколько стоит тур на Бали на двоих?
10:00 · Автоответ: Спасибо за сообщение! Менеджер ответит вам в течение минуты.
10:02 · Клиент: А в рассрочку можно?
10:03 · Анна: Ольга, добрый день! Тур на двоих — 240 000 ₽, рассрочка есть.`,
			},
		},
		{lang: "en", name: "Anna",
			first: "Hello! How much is a tour to Bali for two?", second: "Can I pay in instalments?",
			reply: "Hi Olga! A tour for two is 2,400 EUR; instalments are possible.",
			want: map[string]string{
				"online+offer": `send: 🟢 You are online. New leads will arrive here.
~~
send: 🆕 New lead #1 · Telegram
Olga Petrova
Waiting: 2 minutes

» Hello! How much is a tour to Bali for two?
[✅ Take | ↪️ Pass]`,
				"take": `toast: ✅ Lead #1 is yours. Write your answer.
~~
edit: ✅ You took lead #1 · Telegram · Olga Petrova.
Reply to this message (or just write here) to answer the customer. /c 1 makes it active again later.

» Hello! How much is a tour to Bali for two?
[🔥 Hot | Warm | Tourist / 📜 History | Close]`,
				"customer": `send: 💬 #1 · Telegram · Olga Petrova
Can I pay in instalments?`,
				"reply": ``,
				"hot":   `toast: Lead #1 marked hot.`,
				// the customer's account speaks the default language (ru): so does the auto-reply
				"history": `send: 📜 Lead #1 · Telegram · Olga Petrova: the last 4 messages

10:00 · Customer: Hello! How much is a tour to Bali for two?
10:00 · Auto-reply: Спасибо за сообщение! Менеджер ответит вам в течение минуты.
10:02 · Customer: Can I pay in instalments?
10:03 · Anna: Hi Olga! A tour for two is 2,400 EUR; instalments are possible.`,
			},
		},
	} {
		t.Run(cmpOr(tc.lang, "ru"), func(t *testing.T) {
			w := newWorldWith(t, false, setup{locale: cat, annaLocale: tc.lang, annaName: tc.name})
			w.customerSays(tc.first)
			w.pump() // nobody online: the lead waits in the queue
			w.clk.Advance(2 * time.Minute)

			n := len(w.srv.Calls(""))
			w.online(anna)
			steps := map[string][]string{}
			steps["online+offer"] = w.seen(t, w.since(n), anna)

			offer := w.offers(anna)
			if len(offer) != 1 {
				t.Fatalf("%d offers", len(offer))
			}
			n = len(w.srv.Calls(""))
			w.tap(anna, offer[0].MessageID, callbackData(t, offer[0].Params.Get("reply_markup"), "t:"))
			w.pump()
			steps["take"] = w.seen(t, w.since(n), anna)

			n = len(w.srv.Calls(""))
			w.clk.Advance(30 * time.Second)
			w.customerSays(tc.second)
			w.pump()
			steps["customer"] = w.seen(t, w.since(n), anna)
			fwd := w.sent(anna)
			n = len(w.srv.Calls(""))
			w.clk.Advance(30 * time.Second)
			w.managerSays(anna, tc.reply, fwd[len(fwd)-1].MessageID)
			w.pump()
			steps["reply"] = w.seen(t, w.since(n), anna)
			if got := lastText(w.customerReplies()); got != tc.reply {
				t.Fatalf("the customer got %q", got)
			}

			n = len(w.srv.Calls(""))
			w.tap(anna, offer[0].MessageID, "q:1:h")
			w.pump()
			steps["hot"] = w.seen(t, w.since(n), anna)

			n = len(w.srv.Calls(""))
			w.managerSays(anna, "/h 1", 0)
			w.pump()
			steps["history"] = w.seen(t, w.since(n), anna)
			for _, k := range []string{"online+offer", "take", "customer", "reply", "hot", "history"} {
				got := strings.Join(steps[k], "\n~~\n")
				t.Logf("---- %s\n%s", k, got)
				if got != tc.want[k] {
					t.Errorf("%s: anna saw\n%s\n\nwant\n%s", k, got, tc.want[k])
				}
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func ruCatalogue(t *testing.T) *locale.Catalogue {
	t.Helper()
	cat, err := locale.New(locale.RU, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestOfferTextsAreHonest: a lapsed offer that comes back to the same manager (nobody else
// is free) says so; one that went to a colleague first says that others did not take it.
func TestOfferTextsAreHonest(t *testing.T) {
	w := newWorldWith(t, false, setup{locale: ruCatalogue(t)})
	w.online(anna)
	w.customerSays("Здравствуйте! Сколько стоит тур?")
	w.pump()
	n := len(w.srv.Calls(""))
	w.clk.Advance(31 * time.Second) // the offer lapses; anna is the only one free
	w.pump()
	got := w.seen(t, w.since(n), anna)
	want := []string{
		"edit: ⌛ Лид #1: время на ответ вышло. Других свободных менеджеров нет, поэтому лид снова предложен вам — см. ниже.",
		`send: 🆕 Новый лид #1 · Telegram
Olga Petrova
Ждёт: меньше минуты
Предлагается вам повторно: других свободных менеджеров сейчас нет

» Здравствуйте! Сколько стоит тур?
[✅ Взять | ↪️ Передать]`,
	}
	if strings.Join(got, "\n~~\n") != strings.Join(want, "\n~~\n") {
		t.Fatalf("anna saw\n%s\n\nwant\n%s", strings.Join(got, "\n~~\n"), strings.Join(want, "\n~~\n"))
	}

	// boris comes online and anna passes: boris is told others did not take it
	w.online(boris)
	offer := w.offers(anna)
	w.tap(anna, offer[len(offer)-1].MessageID, callbackData(t, offer[len(offer)-1].Params.Get("reply_markup"), "p:"))
	w.pump()
	ob := w.offers(boris)
	if len(ob) != 1 {
		t.Fatalf("boris got %d offers", len(ob))
	}
	if text := ob[0].Params.Get("text"); !strings.Contains(text, "\nУже 3-е предложение: другие менеджеры не взяли\n") || strings.Contains(text, "повторно") {
		t.Fatalf("boris's offer:\n%s", text)
	}
}

// TestStaleButtonsAreRemoved: when a taken lead is taken back (no first reply in time) the
// card anna is looking at loses its buttons and says why, and the notice answers it; when
// a lead is closed its card keeps the customer's words but loses its buttons.
func TestStaleButtonsAreRemoved(t *testing.T) {
	w := newWorldWith(t, false, setup{locale: ruCatalogue(t)})
	w.online(anna)
	w.customerSays("Здравствуйте! Сколько стоит тур?")
	w.pump()
	offer := w.offers(anna)[0]
	w.tap(anna, offer.MessageID, callbackData(t, offer.Params.Get("reply_markup"), "t:"))
	w.pump()

	n := len(w.srv.Calls(""))
	w.clk.Advance(5*time.Minute + time.Second) // no first reply within first_response
	w.pump()
	var edit, notice *telegramtest.Call
	for _, c := range w.since(n) {
		switch {
		case c.Method == "editMessageText" && c.Params.Get("message_id") == fmt.Sprint(offer.MessageID):
			edit = &c
		case c.Method == "sendMessage" && c.ChatID() == anna && strings.HasPrefix(c.Params.Get("text"), "⚠️"):
			notice = &c
		}
	}
	if edit == nil || edit.Params.Get("text") != "⌛ Лид #1 · Telegram · Olga Petrova забрали: первый ответ не отправлен вовремя." ||
		strings.Contains(edit.Params.Get("reply_markup"), "q:") {
		t.Fatalf("the card was not retired: %+v", edit)
	}
	if notice == nil || notice.Params.Get("text") != "⚠️ Лид #1 забрали у вас (первый ответ не отправлен вовремя) и предложили другому менеджеру." ||
		notice.Params.Get("reply_to_message_id") != fmt.Sprint(offer.MessageID) {
		t.Fatalf("the notice does not answer the card: %+v", notice)
	}
	// a tap on the old card's button is refused and removes the buttons
	n = len(w.srv.Calls(""))
	w.tap(anna, offer.MessageID, "q:1:h")
	w.pump()
	if got := w.seen(t, w.since(n), anna); len(got) < 1 || got[0] != "toast: Лида #1 нет среди ваших открытых." {
		t.Fatalf("stale tap: %q", got)
	}

	// the re-offer is taken and the lead closed: the card loses its buttons, keeps the words
	offers := w.offers(anna)
	again := offers[len(offers)-1]
	w.tap(anna, again.MessageID, callbackData(t, again.Params.Get("reply_markup"), "t:"))
	w.pump()
	w.managerSays(anna, "Добрый день! 1200 евро.", 0)
	w.pump()
	n = len(w.srv.Calls(""))
	w.tap(anna, again.MessageID, "x:1")
	w.pump()
	got := w.seen(t, w.since(n), anna)
	want := []string{"toast: Лид #1 закрыт.", "edit buttons:", "send: 🔒 Лид #1 · Telegram · Olga Petrova закрыт."}
	if strings.Join(got, "\n~~\n") != strings.Join(want, "\n~~\n") {
		t.Fatalf("closing: anna saw %q, want %q", got, want)
	}
	// a reply to the closed lead's card is refused in anna's language
	m := len(w.srv.Calls(""))
	w.managerSays(anna, "Ещё вопрос", again.MessageID)
	w.pump()
	if got := w.seen(t, w.since(m), anna); len(got) != 1 || got[0] != "send: Лид #1 закрыт — сообщение не отправлено." {
		t.Fatalf("reply to a closed lead: %q", got)
	}
	for _, c := range w.since(n)[:m-n] {
		if c.Method == "editMessageReplyMarkup" && c.Params.Get("message_id") != fmt.Sprint(again.MessageID) {
			t.Fatalf("buttons removed from message %s, want the card %d", c.Params.Get("message_id"), again.MessageID)
		}
		if c.Method == "sendMessage" && c.Params.Get("reply_to_message_id") != fmt.Sprint(again.MessageID) {
			t.Fatalf("the closing notice does not answer the card: %v", c.Params)
		}
	}
}

// TestOfferShowsContext: the offer shows the source and UTM, tags, the matched rules, the
// pre-chat answers and a returning contact's previous leads, and the card after Take keeps
// them with the customer's words. The context fields are set directly (the router fills
// them in Desk.Conversation).
func TestOfferShowsContext(t *testing.T) {
	w := newWorldWith(t, false, setup{locale: ruCatalogue(t)})
	w.online(anna)
	w.customerSays("Здравствуйте! Сколько стоит тур на Бали?")
	w.pump()
	c, err := w.rt.Conversation(w.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	c.OfferSeq = 99
	c.Source = "bali-landing"
	c.Meta = map[string]string{"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "bali-winter"}
	c.Tags = []string{"price", "bali"}
	c.Explanation = []string{"«стоит» в правиле price → приоритет 5, тег price"}
	c.PreChat = map[string]string{"phone": "+79161234567", "name": "Ольга", "interest": "Бали, февраль"}
	c.Previous = []router.PreviousLead{
		{ID: 7, Channel: "telegram", State: router.StateClosed, Qualification: router.QualHot, Outcome: "won"},
		{ID: 3, Channel: "form", State: router.StateClosed, Qualification: router.QualTourist},
	}
	n := len(w.srv.Calls(""))
	if err := w.bot.Notify(w.ctx, router.Event{ID: "ctx-1", Type: router.EventOffer, ConversationID: 1, ManagerID: "anna",
		OfferSeq: 99, Conversation: c}); err != nil {
		t.Fatal(err)
	}
	context := `Источник: bali-landing · UTM yandex / cpc / bali-winter
Теги: price, bali
Сработали правила: «стоит» в правиле price → приоритет 5, тег price
Имя: Ольга
Интересует: Бали, февраль
Телефон для звонка: +79161234567
🔁 Клиент обращался раньше. Прежних лидов: 2 (успешно: 1)
/h 7 — горячий · /h 3 — турист`
	want := `send: 🆕 Новый лид #1 · Telegram
Olga Petrova
` + context + `
Ждёт: меньше минуты

» Здравствуйте! Сколько стоит тур на Бали?
[✅ Взять | ↪️ Передать]`
	if got := strings.Join(w.seen(t, w.since(n), anna), "\n~~\n"); got != want {
		t.Fatalf("offer:\n%s\n\nwant\n%s", got, want)
	}
	n = len(w.srv.Calls(""))
	c.State, c.ManagerID = router.StateAssigned, "anna"
	if err := w.bot.Notify(w.ctx, router.Event{ID: "ctx-2", Type: router.EventAssigned, ConversationID: 1, ManagerID: "anna",
		OfferSeq: 99, Conversation: c}); err != nil {
		t.Fatal(err)
	}
	want = `edit: ✅ Вы взяли лид #1 · Telegram · Olga Petrova.
Ответьте на это сообщение (или просто напишите сюда) — ответ уйдёт клиенту. Команда /c 1 снова сделает этот лид активным.
` + context + `

» Здравствуйте! Сколько стоит тур на Бали?
[🔥 Горячий | Тёплый | Турист / 📜 История | Закрыть]`
	if got := strings.Join(w.seen(t, w.since(n), anna), "\n~~\n"); got != want {
		t.Fatalf("after Take:\n%s\n\nwant\n%s", got, want)
	}
}

// TestHistoryCommandAndMenu: /h without a number and with a bad one explain the usage; the
// History button shows the lead's messages; the command menu is set in every language.
func TestHistoryCommandAndMenu(t *testing.T) {
	w := newWorldWith(t, false, setup{locale: ruCatalogue(t)})
	if err := w.bot.SetCommands(w.ctx); err != nil {
		t.Fatal(err)
	}
	menus := map[string]string{}
	for _, c := range w.srv.Calls("setMyCommands") {
		var cmds []struct{ Command, Description string }
		if err := json.Unmarshal([]byte(c.Params.Get("commands")), &cmds); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, x := range cmds {
			lines = append(lines, "/"+x.Command+" "+x.Description)
		}
		menus[c.Params.Get("language_code")] = strings.Join(lines, "\n")
		if !strings.Contains(c.Params.Get("scope"), "all_private_chats") {
			t.Errorf("scope %s", c.Params.Get("scope"))
		}
	}
	ru := `/online Получать новые лиды
/offline Не получать лиды
/status Ваш статус, ваши лиды и очередь
/list Ваши предложения и открытые лиды
/c Сделать лид N активным: /c N
/h Последние сообщения лида: /h N
/edit Исправить имя, телефон или e-mail клиента: /edit N
/help Как работает бот`
	if len(menus) != 3 || menus[""] != ru || menus["ru"] != ru || !strings.HasPrefix(menus["en"], "/online Receive new leads\n") ||
		!strings.Contains(menus["en"], "/h Last messages of a lead: /h N") {
		t.Fatalf("menus %q", menus)
	}

	w.online(anna)
	n := len(w.srv.Calls(""))
	w.managerSays(anna, "/h", 0)
	w.managerSays(anna, "/h abc", 0)
	w.managerSays(anna, "/h 42", 0)
	w.pump()
	want := []string{
		"send: Формат: /h N — последние сообщения лида #N (просто /h — вашего активного лида).",
		"send: Формат: /h N — последние сообщения лида #N (просто /h — вашего активного лида).",
		"send: Лида #42 больше нет.",
	}
	if got := w.seen(t, w.since(n), anna); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q", got)
	}
	w.customerSays("Добрый день")
	w.pump()
	offer := w.offers(anna)[0]
	w.tap(anna, offer.MessageID, callbackData(t, offer.Params.Get("reply_markup"), "t:"))
	w.pump()
	n = len(w.srv.Calls(""))
	w.tap(anna, offer.MessageID, callbackData(t, w.srv.Calls("editMessageText")[0].Params.Get("reply_markup"), "h:"))
	w.managerSays(anna, "/h", 0) // the active lead
	w.pump()
	h := `send: 📜 Лид #1 · Telegram · Olga Petrova: 2 последних сообщения

10:00 · Клиент: Добрый день
10:00 · Автоответ: Спасибо за сообщение! Менеджер ответит вам в течение минуты.`
	if got := strings.Join(w.seen(t, w.since(n), anna), "\n~~\n"); got != "toast: \n~~\n"+h+"\n~~\n"+h {
		t.Fatalf("history:\n%s", got)
	}
	// boris may not read anna's lead: as for the agent API, it does not exist for him
	n = len(w.srv.Calls(""))
	w.managerSays(boris, "/h 1", 0)
	w.pump()
	if got := w.seen(t, w.since(n), boris); len(got) != 1 || got[0] != "send: Лида #1 больше нет." {
		t.Fatalf("boris got %q", got)
	}
}

// TestStrangerIsRefusedInTheirLanguage: someone who is not a manager gets the refusal in
// their Telegram app's language.
func TestStrangerIsRefusedInTheirLanguage(t *testing.T) {
	w := newWorldWith(t, false, setup{locale: ruCatalogue(t)})
	for i, code := range []string{"en-GB", "ru", "de"} {
		w.pushRaw(w.staff, map[string]any{"message": map[string]any{"message_id": 900 + i, "date": 1772445600, "text": "hi",
			"from": map[string]any{"id": stranger, "is_bot": false, "first_name": "X", "language_code": code},
			"chat": map[string]any{"id": stranger, "type": "private"}}})
	}
	w.pump()
	want := []string{
		"send: Sorry, this bot is only for our team. If you have a question, please write to our customer bot.",
		"send: Извините, этот бот только для нашей команды. Если у вас есть вопрос, напишите, пожалуйста, нашему боту для клиентов.",
		"send: Извините, этот бот только для нашей команды. Если у вас есть вопрос, напишите, пожалуйста, нашему боту для клиентов.",
	}
	if got := w.seen(t, w.srv.Calls(""), stranger); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q", got)
	}
}

// TestReplyRefusalsInManagersLanguage: the desk's reasons for not sending a reply reach the
// manager from the catalogue.
func TestReplyRefusalsInManagersLanguage(t *testing.T) {
	w := newWorldWith(t, false, setup{locale: ruCatalogue(t)})
	w.online(anna)
	w.customerSays("Здравствуйте")
	w.pump()
	offer := w.offers(anna)[0]
	w.tap(anna, offer.MessageID, callbackData(t, offer.Params.Get("reply_markup"), "t:"))
	w.pump()
	n := len(w.srv.Calls(""))
	w.managerSays(anna, strings.Repeat("а", 4097), 0)
	w.pump()
	if got := w.seen(t, w.since(n), anna); len(got) != 1 || got[0] != "send: Не отправлено: сообщение длиннее 4096 символов." {
		t.Fatalf("too long: %q", got)
	}
}

// TestFailureNotesAndAlertsInReadersLanguage: a delivery failure and a channel alert, made
// by the channel as catalogue messages, reach each reader in their language: anna in
// English (her locale), the supervisors' chat in the default Russian; /h shows the note.
func TestFailureNotesAndAlertsInReadersLanguage(t *testing.T) {
	w := newWorldWith(t, false, setup{locale: ruCatalogue(t), annaLocale: "en"})
	w.online(anna)
	w.customerSays("Здравствуйте")
	w.pump()
	offer := w.offers(anna)[0]
	w.tap(anna, offer.MessageID, callbackData(t, offer.Params.Get("reply_markup"), "t:"))
	w.pump()
	w.srv.FailChat(customer, telegramtest.Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"})
	w.managerSays(anna, "Добрый день!", 0)
	w.pump()
	if got, want := lastText(w.sent(anna)), "⚠️ Your message to lead #1 · Telegram · Olga Petrova was not delivered: the customer blocked the bot or cannot be written to (Telegram: Forbidden: bot was blocked by the user)"; got != want {
		t.Fatalf("anna got\n%q\nwant\n%q", got, want)
	}
	if got, want := lastText(w.sent(supChat)), "⚠️ Ответ менеджера Anna по лиду #1 · Telegram · Olga Petrova не доставлен: клиент заблокировал бота или ему нельзя написать (Telegram: Forbidden: bot was blocked by the user)"; got != want {
		t.Fatalf("supervisors got\n%q\nwant\n%q", got, want)
	}
	w.managerSays(anna, "/h 1", 0)
	w.pump()
	if got := lastText(w.sent(anna)); !strings.HasSuffix(got, "\n10:00 · Anna: Добрый день!\n10:00 · Note: not delivered: the customer blocked the bot or cannot be written to (Telegram: Forbidden: bot was blocked by the user)") {
		t.Fatalf("/h shows\n%s", got)
	}
	if err := w.rt.Alert(w.ctx, "telegram", "shop", locale.M("alert.telegram.token").Encode()); err != nil {
		t.Fatal(err)
	}
	w.pump()
	if got, want := lastText(w.sent(supChat)), "🚨 Проблема с каналом: telegram/shop: Telegram отклонил токен бота (отозван или введён с ошибкой)"; got != want {
		t.Fatalf("alert %q, want %q", got, want)
	}
}

// TestStatusAndListInRussian: /status, /list and /c in the default Russian.
func TestStatusAndListInRussian(t *testing.T) {
	w := newWorldWith(t, false, setup{locale: ruCatalogue(t), annaName: "Анна"})
	w.online(anna)
	w.customerSays("Здравствуйте")
	w.pump()
	offer := w.offers(anna)[0]
	w.tap(anna, offer.MessageID, callbackData(t, offer.Params.Get("reply_markup"), "t:"))
	w.pump()
	w.tap(anna, offer.MessageID, "q:1:w")
	w.pump()
	n := len(w.srv.Calls(""))
	for _, cmd := range []string{"/status", "/list", "/c 1", "/c x", "/help"} {
		w.managerSays(anna, cmd, 0)
	}
	w.pump()
	got := w.seen(t, w.since(n), anna)
	want := []string{
		"send: Анна: 🟢 в сети\nЗагрузка: 1 из 5\nВ очереди: 0\nАктивный лид: #1\nПредложений: 0 · Открытых лидов: 1 (/list)",
		"send: 💬 #1 · Telegram · Olga Petrova · тёплый ◀ активный  → /c 1\nВ очереди: 0",
		"send: ▶️ Активный лид: #1 · Telegram · Olga Petrova. Обычные сообщения теперь уходят этому клиенту.\n[🔥 Горячий | Тёплый | Турист / 📜 История | Закрыть]",
		"send: Формат: /c N, где N — номер лида (см. /list).",
	}
	if len(got) != 5 || strings.Join(got[:4], "\n~~\n") != strings.Join(want, "\n~~\n") || !strings.Contains(got[4], "/h N — последние сообщения лида #N") {
		t.Fatalf("anna saw\n%s", strings.Join(got, "\n~~\n"))
	}
}
