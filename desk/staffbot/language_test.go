package staffbot_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
	"github.com/lidorub/lidorub/locale"
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
