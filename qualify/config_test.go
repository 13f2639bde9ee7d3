package qualify_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	lidorub "github.com/lidorub/lidorub"
	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/qualify"
)

// TestShippedRules: the example rules of config.yaml on the messages they are meant for,
// in Russian and English.
func TestShippedRules(t *testing.T) {
	cfg, err := config.Parse(lidorub.DefaultConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := newRules(t, cfg.Qualify)
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	weekdayNoon := time.Date(2026, 12, 1, 12, 0, 0, 0, moscow) // a Tuesday
	for _, tc := range []struct {
		name    string
		in      channels.Inbound
		verdict string
		decided string
	}{
		{"сколько стоит", channels.Inbound{Text: "Сколько стоит?"}, "priority 5, tag price", "price"},
		{"сколько у вас стоят", channels.Inbound{Text: "Добрый день! Сколько у вас стоят кроссовки 42 размера?"}, "priority 5, tag price", "price"},
		{"стоимости", channels.Inbound{Text: "Подскажите стоимости монтажа"}, "priority 5, tag price", "price"},
		{"цены", channels.Inbound{Text: "Какие цены на ремонт?"}, "priority 5, tag price", "price"},
		{"почем with ё", channels.Inbound{Text: "почём диван?"}, "priority 5, tag price", "price"},
		{"a hundred is not a price question", channels.Inbound{Text: "Нужно сто штук к пятнице"}, "priority 0, no tags", ""},
		{"price and delivery", channels.Inbound{Text: "Сколько стоит доставка в Казань?"}, "priority 5, tags logistics, price", "price"},
		{"доставку", channels.Inbound{Text: "Доставку в область делаете?"}, "priority 4, tag logistics", "delivery"},
		{"оптом", channels.Inbound{Text: "Хотим закупать оптом, какие цены?"}, "priority 7, tags price, wholesale", "wholesale"},
		{"job seeker", channels.Inbound{Text: "Здравствуйте, есть ли у вас вакансии? Отправлю резюме"}, "not a lead, tag job", "job_seekers"},
		{"ищу работу", channels.Inbound{Text: "Ищу работу менеджером"}, "not a lead, tag job", "job_seekers"},
		{"spam", channels.Inbound{Text: "Лучшее казино! Заработок без всяких вложений"}, "not a lead, tag spam", "spam"},
		{"spam link", channels.Inbound{Text: "see bit.ly/abc"}, "not a lead, tag spam", "spam"},
		{"English prices", channels.Inbound{Text: "What are your prices?"}, "priority 5, tag price", "price"},
		{"how much", channels.Inbound{Text: "How much is the blue one?"}, "priority 5, tag price", "price"},
		{"shipping", channels.Inbound{Text: "Do you ship to Germany? Shipping costs?"}, "priority 5, tags logistics, price", "price"},
		{"delivered", channels.Inbound{Text: "Can it be delivered tomorrow?"}, "priority 4, tag logistics", "delivery"},
		{"bulk", channels.Inbound{Text: "We'd like to buy in bulk"}, "priority 7, tag wholesale", "wholesale"},
		{"English job seeker", channels.Inbound{Text: "Are you hiring? I'd like to send my resume"}, "not a lead, tag job", "job_seekers"},
		{"paid ads", channels.Inbound{Channel: "form", Text: "Hello", Meta: map[string]string{"utm_source": "yandex", "utm_medium": "cpc"}}, "priority 6, tag ads", "paid_ads"},
		{"callback form", channels.Inbound{Channel: "form", Text: "Перезвоните", Phone: "+79161234567"}, "priority 6, tag callback", "callback"},
		{"phone elsewhere", channels.Inbound{Channel: "telegram", Text: "Перезвоните", Phone: "+79161234567"}, "priority 0, no tags", ""},
		{"at night", channels.Inbound{Text: "Здравствуйте", ReceivedAt: weekdayNoon.Add(10 * time.Hour)}, "priority 0, tag after_hours", ""},
		{"weekday noon", channels.Inbound{Text: "Здравствуйте", ReceivedAt: weekdayNoon}, "priority 0, no tags", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := q.Evaluate(qualify.Input{Inbound: tc.in})
			if diff := cmp.Diff([2]string{tc.verdict, tc.decided}, [2]string{got.Verdict(), got.Explanation.DecidedBy}); diff != "" {
				t.Errorf("verdict, decided by (-want +got):\n%s\n%v", diff, got.Explanation.Lines())
			}
		})
	}
}

// TestConfigErrors: mistakes in the qualify: section of a config file are reported with
// their YAML path, all at once.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"utm key typo", `
qualify:
  rules:
    - name: ads
      utm: {sorce: [google]}
`, `qualify.rules[0]: needs keywords, words, regex or a condition (channels, sources, utm, time, has_phone, has_email, messages)
qualify.rules[0].utm.sorce: unknown key (line 5); did you mean source?`},
		{"several at once", `
qualify:
  tz: Mars/Olympus
  rules:
    - name: price
      words: ["сколько *"]
    - name: night
      time:
        - {days: [weekend], from: "20:00"}
    - name: price
      has_phone: maybe
`, `qualify.rules[0].words[0]: * must follow the beginning of a word ("доставк*")
qualify.rules[1].time[0].days[0]: must be one of mon, tue, wed, thu, fri, sat, sun (got "weekend")
qualify.rules[1].time[0].to: is required with from
qualify.rules[2].has_phone: cannot parse "maybe" as true or false
qualify.rules[2].name: duplicates rules[0].name "price"
qualify.tz: unknown time zone "Mars/Olympus"`},
		{"messages", `
qualify:
  rules:
    - name: follow-up
      messages: {min: 3, max: 2}
`, "qualify.rules[0].messages.max: must not be less than messages.min"},
		{"a rule with nothing to match", `
qualify:
  rules:
    - name: empty
      tags: [x]
`, "qualify.rules[0]: needs keywords, words, regex or a condition (channels, sources, utm, time, has_phone, has_email, messages)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml), nil)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

// BenchmarkShippedRules: one message through the shipped rules (the router does this for
// every new conversation). go test -run - -bench ShippedRules -benchmem ./qualify
//
// short and long repeat their words (stems come from the cache after the first round);
// long-new has 200 words never seen before in every round (every word is stemmed).
func BenchmarkShippedRules(b *testing.B) {
	cfg, err := config.Parse(lidorub.DefaultConfig, nil)
	if err != nil {
		b.Fatal(err)
	}
	q, err := qualify.NewRules(cfg.Qualify)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	run := func(b *testing.B, text func(i int) string) {
		for i := 0; b.Loop(); i++ {
			if _, err := q.Qualify(b.Context(), channels.Inbound{Channel: "form", Text: text(i), ReceivedAt: at}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("short", func(b *testing.B) {
		run(b, func(int) string { return "Сколько стоит доставка в Казань?" })
	})
	long := strings.Repeat("Добрый день! Хотели бы уточнить условия оплаты и сроки изготовления, спасибо. ", 18)
	b.Run("long", func(b *testing.B) {
		run(b, func(int) string { return long })
	})
	words := strings.Fields(long)
	b.Run("long-new", func(b *testing.B) {
		run(b, func(i int) string {
			var sb strings.Builder
			for j, w := range words {
				fmt.Fprintf(&sb, "%s%dx%d ", w, i, j)
			}
			return sb.String()
		})
	})
}
