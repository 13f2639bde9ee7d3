package locale_test

import (
	"fmt"
	"time"

	"github.com/lidorub/lidorub/locale"
)

// The Russian staff-bot texts of one lead, offer → take → reply → hot → closed, as the staff
// bot will compose them.
func Example() {
	cat, err := locale.New(locale.RU, nil)
	if err != nil {
		panic(err)
	}
	lang := cat.Lang("") // the manager has no locale of their own: locale.default
	lead := cat.T(lang, "staff.lead", "id", 42, "channel", cat.T(lang, "channel.telegram"), "customer", "Мария")

	fmt.Println(cat.T(lang, "staff.offer.title", "id", 42, "channel", cat.T(lang, "channel.telegram")))
	fmt.Println("Мария · +79991234567")
	fmt.Println(cat.T(lang, "staff.offer.source", "source", "utm_source=yandex"))
	fmt.Println(cat.T(lang, "staff.offer.waiting", "wait", 75*time.Second))
	fmt.Println(cat.T(lang, "staff.returning", "n", 2) + " (" + cat.T(lang, "staff.returning.won", "n", 1) + ", " + cat.T(lang, "staff.returning.lost", "n", 1) + ")")
	fmt.Println("» Здравствуйте, сколько стоит доставка в Казань?")
	fmt.Println("[" + cat.T(lang, "staff.button.take") + "] [" + cat.T(lang, "staff.button.pass") + "]")
	fmt.Println("---")
	fmt.Println(cat.T(lang, "staff.toast.taken", "id", 42))
	fmt.Println(cat.T(lang, "staff.assigned", "lead", lead, "id", 42))
	fmt.Println("[" + cat.T(lang, "staff.button.hot") + "] [" + cat.T(lang, "staff.button.warm") + "] [" + cat.T(lang, "staff.button.tourist") + "] [" + cat.T(lang, "staff.button.close") + "]")
	fmt.Println("---")
	fmt.Println(cat.T(lang, "staff.fwd.header", "lead", lead))
	fmt.Println("Спасибо, а если заказать сегодня?")
	fmt.Println("---")
	fmt.Println(cat.T(lang, "staff.toast.hot", "id", 42))
	fmt.Println(cat.T(lang, "sales.handoff", "lead", lead))
	fmt.Println(cat.T(lang, "staff.closed_qualified", "lead", lead, "qualification", cat.T(lang, "qual.hot")))
	// Output:
	// 🆕 Новый лид #42 · Telegram
	// Мария · +79991234567
	// Источник: utm_source=yandex
	// Ждёт: 1 минуту
	// 🔁 Клиент обращался раньше. Прежних лидов: 2 (успешно: 1, отказ: 1)
	// » Здравствуйте, сколько стоит доставка в Казань?
	// [✅ Взять] [↪️ Передать]
	// ---
	// ✅ Лид #42 ваш. Напишите ответ.
	// ✅ Вы взяли лид #42 · Telegram · Мария.
	// Ответьте на это сообщение (или просто напишите сюда) — ответ уйдёт клиенту. Команда /c 42 снова сделает этот лид активным.
	// [🔥 Горячий] [Тёплый] [Турист] [Закрыть]
	// ---
	// 💬 #42 · Telegram · Мария
	// Спасибо, а если заказать сегодня?
	// ---
	// Лид #42 отмечен как горячий.
	// 🔥 Горячий лид #42 · Telegram · Мария передан в отдел продаж.
	// 🔒 Лид #42 · Telegram · Мария закрыт. Квалификация: горячий.
}
