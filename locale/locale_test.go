package locale

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// files parsed in file order, per language.
func parsed(t *testing.T) (map[string]map[string]text, map[string][]string) {
	t.Helper()
	texts, orders := map[string]map[string]text{}, map[string][]string{}
	for _, lang := range Supported() {
		data, err := files.ReadFile(lang + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		m, order, err := parseFile(lang, data)
		if err != nil {
			t.Fatal(err)
		}
		texts[lang], orders[lang] = m, order
	}
	return texts, orders
}

func mustNew(t *testing.T, def string, o map[string]map[string]string) *Catalogue {
	t.Helper()
	c, err := New(def, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEveryLocaleHasTheSameKeysInTheSameOrder(t *testing.T) {
	_, orders := parsed(t)
	for _, lang := range Supported()[1:] {
		if d := cmp.Diff(orders[EN], orders[lang]); d != "" {
			t.Errorf("keys of en.yaml (-) and %s.yaml (+) differ, or are in another order:\n%s", lang, d)
		}
	}
}

func TestPlaceholdersAreTheSameInEveryLocale(t *testing.T) {
	texts, orders := parsed(t)
	for _, key := range orders[EN] {
		want := texts[EN][key].names()
		for _, lang := range Supported()[1:] {
			tx, ok := texts[lang][key]
			if !ok {
				continue // reported by the key test
			}
			if got := tx.names(); !slices.Equal(got, want) {
				t.Errorf("%s: placeholders in en %v, in %s %v", key, want, lang, got)
			}
			if tx.plural() != texts[EN][key].plural() {
				t.Errorf("%s: plural in one locale and not in the other", key)
			}
		}
	}
}

func TestEveryTextIsWellFormed(t *testing.T) {
	texts, _ := parsed(t)
	for lang, m := range texts {
		tag := language.MustParse(lang)
		forms := formsOf(tag)
		for key, tx := range m {
			if _, form, isForm := cutForm(key); isForm {
				t.Errorf("%s %s: a key must not end in a plural form name (%s): overrides use key.%s", lang, key, form, form)
			}
			all := []string{tx.s}
			if tx.plural() {
				all = nil
				var got []plural.Form
				for f, s := range tx.forms {
					got = append(got, f)
					all = append(all, s)
					if formCovers(tag, f) > 1 && !strings.Contains(s, "{n}") {
						t.Errorf("%s %s.%s: the form stands for several numbers and must show {n}: %q", lang, key, formName(f), s)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, forms) {
					t.Errorf("%s %s: plural forms %v, the language uses %v", lang, key, got, forms)
				}
				if !slices.Contains(tx.names(), "n") {
					t.Errorf("%s %s: a plural text must use {n} in at least one form", lang, key)
				}
			}
			for _, s := range all {
				if strings.TrimSpace(s) == "" {
					t.Errorf("%s %s: empty text", lang, key)
				}
				if s == Disabled {
					t.Errorf("%s %s: a built-in text cannot be %q", lang, key, Disabled)
				}
				for _, br := range bracesRE.FindAllString(s, -1) {
					if !placeholderRE.MatchString(br) || placeholderRE.FindString(br) != br {
						t.Errorf("%s %s: stray brace %q", lang, key, br)
					}
				}
				if !utf8.ValidString(s) || strings.ContainsAny(s, "\t\r") {
					t.Errorf("%s %s: invalid characters", lang, key)
				}
			}
		}
	}
}

// Telegram limits: callback answers 0-200 characters, command descriptions 1-256.
func TestTelegramLimits(t *testing.T) {
	texts, _ := parsed(t)
	long := strings.Repeat("9", 10) // a long lead number
	for lang, m := range texts {
		for key, tx := range m {
			n := utf8.RuneCountInString(strings.ReplaceAll(tx.s, "{id}", long))
			switch {
			case strings.HasPrefix(key, "staff.toast.") && n > 200:
				t.Errorf("%s %s: %d characters, a callback answer holds 200", lang, key, n)
			case strings.HasPrefix(key, "staff.command.") && n > 256:
				t.Errorf("%s %s: %d characters, a command description holds 256", lang, key, n)
			}
		}
	}
}

func TestPluralForms(t *testing.T) {
	c := mustNew(t, RU, nil)
	tests := []struct {
		lang, key string
		n         int
		want      string
	}{
		{RU, "unit.minute", 0, "0 минут"},
		{RU, "unit.minute", 1, "1 минуту"},
		{RU, "unit.minute", 2, "2 минуты"},
		{RU, "unit.minute", 4, "4 минуты"},
		{RU, "unit.minute", 5, "5 минут"},
		{RU, "unit.minute", 11, "11 минут"},
		{RU, "unit.minute", 12, "12 минут"},
		{RU, "unit.minute", 21, "21 минуту"},
		{RU, "unit.minute", 22, "22 минуты"},
		{RU, "unit.minute", 101, "101 минуту"},
		{RU, "unit.minute", 111, "111 минут"},
		{RU, "unit.second", 1, "1 секунду"},
		{RU, "unit.second", 2, "2 секунды"},
		{RU, "unit.second", 5, "5 секунд"},
		{RU, "unit.second", 11, "11 секунд"},
		{RU, "unit.second", 21, "21 секунду"},
		{RU, "unit.second", 101, "101 секунду"},
		{RU, "unit.hour", 1, "1 час"},
		{RU, "unit.hour", 2, "2 часа"},
		{RU, "unit.hour", 5, "5 часов"},
		{RU, "unit.hour", 11, "11 часов"},
		{RU, "unit.hour", 21, "21 час"},
		{RU, "unit.hour", 101, "101 час"},
		{RU, "unit.day", 1, "1 день"},
		{RU, "unit.day", 2, "2 дня"},
		{RU, "unit.day", 5, "5 дней"},
		{RU, "unit.day", 11, "11 дней"},
		{RU, "unit.day", 21, "21 день"},
		{RU, "unit.day", 101, "101 день"},
		{RU, "failure.gave_up", 1, "канал раз за разом давал сбой; доставка прекращена после 1 попытки"},
		{RU, "failure.gave_up", 2, "канал раз за разом давал сбой; доставка прекращена после 2 попыток"},
		{RU, "failure.gave_up", 5, "канал раз за разом давал сбой; доставка прекращена после 5 попыток"},
		{RU, "failure.gave_up", 21, "канал раз за разом давал сбой; доставка прекращена после 21 попытки"},
		{RU, "staff.reply.too_long", 4096, "Не отправлено: сообщение длиннее 4096 символов."},
		{RU, "staff.reply.too_long", 1001, "Не отправлено: сообщение длиннее 1001 символа."},
		{RU, "staff.history.header", 1, "📜 Лид #7: 1 последнее сообщение"},
		{RU, "staff.history.header", 3, "📜 Лид #7: 3 последних сообщения"},
		{RU, "staff.history.header", 11, "📜 Лид #7: 11 последних сообщений"},
		{RU, "staff.history.header", 21, "📜 Лид #7: 21 последнее сообщение"},
		{EN, "unit.minute", 0, "0 minutes"},
		{EN, "unit.minute", 1, "1 minute"},
		{EN, "unit.minute", 2, "2 minutes"},
		{EN, "unit.minute", 21, "21 minutes"},
		{EN, "staff.history.header", 1, "📜 Lead #7: the last message"},
		{EN, "staff.history.header", 2, "📜 Lead #7: the last 2 messages"},
	}
	for _, tt := range tests {
		if got := c.Plural(tt.lang, tt.key, tt.n, "lead", "#7"); got != tt.want {
			t.Errorf("Plural(%s, %s, %d) = %q, want %q", tt.lang, tt.key, tt.n, got, tt.want)
		}
	}
}

func TestEscalationCountsOffers(t *testing.T) {
	c := mustNew(t, RU, nil)
	tests := []struct {
		lang string
		n    int
		want string
	}{
		{RU, 1, "🚨 Эскалация: лид #5 предлагали уже 1 раз, но никто так и не ответил."},
		{RU, 2, "🚨 Эскалация: лид #5 предлагали уже 2 раза, но никто так и не ответил."},
		{RU, 5, "🚨 Эскалация: лид #5 предлагали уже 5 раз, но никто так и не ответил."},
		{RU, 11, "🚨 Эскалация: лид #5 предлагали уже 11 раз, но никто так и не ответил."},
		{RU, 21, "🚨 Эскалация: лид #5 предлагали уже 21 раз, но никто так и не ответил."},
		{RU, 101, "🚨 Эскалация: лид #5 предлагали уже 101 раз, но никто так и не ответил."},
		{RU, 102, "🚨 Эскалация: лид #5 предлагали уже 102 раза, но никто так и не ответил."},
		{EN, 1, "🚨 Escalation: lead #5 was offered once and nobody has answered yet."},
		{EN, 2, "🚨 Escalation: lead #5 was offered 2 times and nobody has answered yet."},
	}
	for _, tt := range tests {
		// T with "n" among the arguments is the same as Plural
		if got := c.T(tt.lang, "staff.escalation.max_offers", "lead", "#5", "n", tt.n); got != tt.want {
			t.Errorf("%s n=%d: %q, want %q", tt.lang, tt.n, got, tt.want)
		}
	}
}

func TestT(t *testing.T) {
	c := mustNew(t, RU, nil)
	tests := []struct {
		name, lang, key string
		args            []any
		want            string
	}{
		{"ru", RU, "staff.toast.taken", []any{"id", 42}, "✅ Лид #42 ваш. Напишите ответ."},
		{"en", EN, "staff.toast.taken", []any{"id", int64(42)}, "✅ Lead #42 is yours. Write your answer."},
		{"unsupported language: the default", "de", "staff.button.take", nil, "✅ Взять"},
		{"empty language: the default", "", "staff.button.pass", nil, "↪️ Передать"},
		{"several placeholders", RU, "staff.lead", []any{"id", 7, "channel", "Telegram", "customer", "Анна"}, "#7 · Telegram · Анна"},
		{"missing argument stays visible", EN, "staff.toast.passed", nil, "Passed lead #{id}."},
		{"extra and odd arguments are ignored", EN, "staff.toast.passed", []any{"id", 3, "x", 1, "dangling"}, "Passed lead #3."},
		{"unknown key renders as itself", RU, "staff.nope", nil, "staff.nope"},
		{"plural without n: other form", RU, "unit.minute", nil, "{n} минуты"},
		{"n as a string (from a Msg)", RU, "unit.minute", []any{"n", "21"}, "21 минуту"},
		{"multi-line help", RU, "staff.help", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.T(tt.lang, tt.key, tt.args...)
			if tt.want == "" {
				if !strings.HasPrefix(got, "Команды:\n/online — ") || strings.Contains(got, "{") {
					t.Errorf("got %q", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLang(t *testing.T) {
	c := mustNew(t, RU, nil)
	tests := []struct {
		prefs []string
		want  string
	}{
		{nil, RU},
		{[]string{""}, RU},
		{[]string{"en"}, EN},
		{[]string{"", "en"}, EN},
		{[]string{"en-GB"}, EN},
		{[]string{"RU_ru"}, RU},
		{[]string{"de", "en"}, EN},
		{[]string{"uk"}, RU},
	}
	for _, tt := range tests {
		if got := c.Lang(tt.prefs...); got != tt.want {
			t.Errorf("Lang(%q) = %s, want %s", tt.prefs, got, tt.want)
		}
	}
	if c.Default() != RU || mustNew(t, EN, nil).Lang() != EN {
		t.Error("default language not kept")
	}
}

func TestDuration(t *testing.T) {
	c := mustNew(t, EN, nil)
	tests := []struct {
		lang string
		d    time.Duration
		want string
	}{
		{RU, 0, "0 секунд"},
		{RU, -time.Second, "0 секунд"},
		{RU, 1 * time.Second, "1 секунду"},
		{RU, 45 * time.Second, "45 секунд"},
		{RU, time.Minute + 30*time.Second, "1 минуту"},
		{RU, 21 * time.Minute, "21 минуту"},
		{RU, time.Hour, "1 час"},
		{RU, 2*time.Hour + 5*time.Minute, "2 часа 5 минут"},
		{RU, 49 * time.Hour, "2 дня 1 час"},
		{RU, 11 * 24 * time.Hour, "11 дней"},
		{EN, 1 * time.Second, "1 second"},
		{EN, 90 * time.Second, "1 minute"},
		{EN, 2*time.Hour + 1*time.Minute, "2 hours 1 minute"},
		{EN, 25 * time.Hour, "1 day 1 hour"},
	}
	for _, tt := range tests {
		if got := c.Duration(tt.lang, tt.d); got != tt.want {
			t.Errorf("Duration(%s, %v) = %q, want %q", tt.lang, tt.d, got, tt.want)
		}
	}
	if got := c.T(RU, "staff.escalation.waiting", "wait", c.Duration(RU, 21*time.Minute)); got != "Клиент ждёт уже 21 минуту." {
		t.Errorf("waiting: %q", got)
	}
}

func TestWhen(t *testing.T) {
	c := mustNew(t, EN, nil)
	now := time.Date(2026, 11, 27, 22, 10, 0, 0, time.UTC) // a Friday
	tests := []struct {
		lang string
		at   time.Time
		want string
	}{
		{RU, now.Add(30 * time.Minute), "сегодня в 22:40"},
		{RU, time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), "завтра в 09:00"},
		{RU, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "в понедельник в 09:00"},
		{RU, time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), "во вторник в 09:30"},
		{EN, time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), "tomorrow at 09:00"},
		{EN, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "on Monday at 09:00"},
	}
	for _, tt := range tests {
		if got := c.When(tt.lang, now, tt.at); got != tt.want {
			t.Errorf("When(%s, %v) = %q, want %q", tt.lang, tt.at, got, tt.want)
		}
	}
	got := c.T(RU, "customer.off_hours_until", "when", c.When(RU, now, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)))
	if got != "Спасибо за сообщение! Сейчас никто из менеджеров не может ответить — мы ответим вам в понедельник в 09:00." {
		t.Errorf("off hours: %q", got)
	}
}

func TestOverridesApply(t *testing.T) {
	c := mustNew(t, RU, map[string]map[string]string{
		RU: {
			"customer.auto_ack":                "Здравствуйте! Ответим за пару минут.",
			"customer.close":                   Disabled,
			"staff.button.take":                "✅ Беру",
			"staff.toast.taken":                "Лид #{id} ваш",
			"staff.escalation.max_offers.many": "🚨 {lead}: {n} предложений без ответа",
			"unit.hour":                        "{n} ч",
			"unit.hour.one":                    "{n} час",
		},
		EN: {"staff.toast.passed": "Passed."},
	})
	tests := []struct {
		lang, key string
		args      []any
		want      string
	}{
		{RU, "customer.auto_ack", nil, "Здравствуйте! Ответим за пару минут."},
		{RU, "customer.close", nil, ""},
		{EN, "customer.close", nil, "Thank you for your interest! If you have any more questions, just write to us."},
		{RU, "staff.button.take", nil, "✅ Беру"},
		{RU, "staff.toast.taken", []any{"id", 9}, "Лид #9 ваш"},
		{EN, "staff.toast.passed", []any{"id", 9}, "Passed."},
		{RU, "staff.escalation.max_offers", []any{"lead", "#1", "n", 5}, "🚨 #1: 5 предложений без ответа"},
		{RU, "staff.escalation.max_offers", []any{"lead", "#1", "n", 2}, "🚨 Эскалация: лид #1 предлагали уже 2 раза, но никто так и не ответил."},
		{RU, "unit.hour", []any{"n", 1}, "1 час"}, // the form overrides the whole text
		{RU, "unit.hour", []any{"n", 21}, "21 час"},
		{RU, "unit.hour", []any{"n", 5}, "5 ч"},
	}
	for _, tt := range tests {
		if got := c.T(tt.lang, tt.key, tt.args...); got != tt.want {
			t.Errorf("T(%s, %s) = %q, want %q", tt.lang, tt.key, got, tt.want)
		}
	}
	// overrides belong to one catalogue only
	if got := mustNew(t, RU, nil).T(RU, "staff.button.take"); got != "✅ Взять" {
		t.Errorf("an override leaked into another catalogue: %q", got)
	}
}

func TestOverridesRejected(t *testing.T) {
	tests := []struct {
		name string
		def  string
		o    map[string]map[string]string
		want string
	}{
		{"unknown default", "de", nil,
			`locale.default: must be one of en, ru (got "de")`},
		{"unknown language", RU, map[string]map[string]string{"de": {"staff.button.take": "Nehmen"}},
			"locale.texts.de: unknown language (supported: en, ru)"},
		{"unknown key", RU, map[string]map[string]string{RU: {"staff.button.grab": "Хватай"}},
			"locale.texts.ru.staff.button.grab: unknown text key (the keys are listed in locale/en.yaml)"},
		{"unknown placeholder", RU, map[string]map[string]string{RU: {"staff.toast.taken": "Лид {lead} ваш"}},
			"locale.texts.ru.staff.toast.taken: unknown placeholder {lead}; this text can use {id}"},
		{"placeholder in a text without any", EN, map[string]map[string]string{EN: {"staff.button.take": "Take {id}"}},
			"locale.texts.en.staff.button.take: unknown placeholder {id}; this text has no placeholders"},
		{"stray brace", RU, map[string]map[string]string{RU: {"staff.toast.taken": "Лид #{ID} ваш"}},
			"locale.texts.ru.staff.toast.taken: {ID} is not a placeholder: braces hold a placeholder name such as {id}; this text can use {id}"},
		{"unbalanced brace", RU, map[string]map[string]string{RU: {"staff.toast.taken": "Лид #{id ваш"}},
			"locale.texts.ru.staff.toast.taken: { is not a placeholder: braces hold a placeholder name such as {id}; this text can use {id}"},
		{"empty staff text", RU, map[string]map[string]string{RU: {"staff.button.take": " "}},
			"locale.texts.ru.staff.button.take: must not be empty"},
		{"empty customer text", RU, map[string]map[string]string{RU: {"customer.close": ""}},
			`locale.texts.ru.customer.close: must not be empty (use "-" to send nothing)`},
		{"staff text switched off", RU, map[string]map[string]string{RU: {"staff.online": "-"}},
			`locale.texts.ru.staff.online: only customer.* texts can be switched off with "-"`},
		{"form the language does not use", EN, map[string]map[string]string{EN: {"unit.minute.few": "{n} minutes"}},
			`locale.texts.en.unit.minute.few: unit.minute has no plural form "few" in en (its forms: one, other)`},
		{"form of a plain text", RU, map[string]map[string]string{RU: {"staff.button.take.one": "Взять"}},
			"locale.texts.ru.staff.button.take.one: staff.button.take is not a plural text: set staff.button.take itself"},
		{"plural override without the number", RU, map[string]map[string]string{RU: {"unit.minute": "минуты"}},
			"locale.texts.ru.unit.minute: must show the number as {n} (this text is used for several numbers)"},
		{"plural form for many numbers without the number", RU, map[string]map[string]string{RU: {"unit.minute.one": "минуту"}},
			"locale.texts.ru.unit.minute.one: must show the number as {n} (this text is used for several numbers)"},
		{"plural placeholder beyond n", RU, map[string]map[string]string{RU: {"unit.minute.many": "{n} мин {lead}"}},
			"locale.texts.ru.unit.minute.many: unknown placeholder {lead}; this text can use {n}"},
		{"several errors, all reported in path order", RU, map[string]map[string]string{RU: {"b.x": "x", "a.x": "x"}, EN: {"c.x": "x"}},
			"locale.texts.en.c.x: unknown text key (the keys are listed in locale/en.yaml)\n" +
				"locale.texts.ru.a.x: unknown text key (the keys are listed in locale/en.yaml)\n" +
				"locale.texts.ru.b.x: unknown text key (the keys are listed in locale/en.yaml)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.def, tt.o)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

func TestOverrideOfOneFormThatStandsForOneNumber(t *testing.T) {
	// English "one" is only 1: it may leave out {n} ("once")
	c := mustNew(t, EN, map[string]map[string]string{EN: {"unit.minute.one": "a minute"}})
	if got := c.Duration(EN, time.Minute); got != "a minute" {
		t.Errorf("got %q", got)
	}
}

func TestConfig(t *testing.T) {
	var c Config
	c.Defaults()
	if c.Default != EN {
		t.Errorf("default language %q", c.Default)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	c = Config{Default: "fr", Texts: map[string]map[string]string{RU: {"staff.button.take": "{x}"}}}
	want := `default: must be one of en, ru (got "fr")` + "\n" +
		"texts.ru.staff.button.take: unknown placeholder {x}; this text has no placeholders"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate (paths relative to locale):\n%v\nwant\n%s", err, want)
	}
	c = Config{Default: RU, Texts: map[string]map[string]string{RU: {"staff.button.take": "Беру"}}}
	cat, err := c.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.T("", "staff.button.take"); got != "Беру" {
		t.Errorf("got %q", got)
	}
}

func TestAdoptLegacyTemplates(t *testing.T) {
	c := Config{Default: RU, Texts: map[string]map[string]string{RU: {"customer.close": "Пока!"}}}
	c.Adopt("customer.auto_ack", "Здравствуйте!")
	c.Adopt("customer.close", "Thank you for your interest!") // locale.texts wins
	c.Adopt("customer.off_hours", "")                         // not set in templates:
	c.Adopt("customer.off_hours_until", Disabled)
	want := map[string]map[string]string{RU: {
		"customer.auto_ack": "Здравствуйте!", "customer.close": "Пока!", "customer.off_hours_until": Disabled}}
	if d := cmp.Diff(want, c.Texts); d != "" {
		t.Errorf("texts (-want +got):\n%s", d)
	}
	cat, err := c.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	if cat.T(RU, "customer.off_hours_until", "when", "завтра") != "" || cat.T(EN, "customer.auto_ack") == "Здравствуйте!" {
		t.Error("adopted texts applied wrongly")
	}
	var empty Config
	empty.Defaults()
	empty.Adopt("customer.close", "Bye")
	if empty.Texts[EN]["customer.close"] != "Bye" {
		t.Errorf("adopt into an empty section: %v", empty.Texts)
	}
}

func TestCheckLang(t *testing.T) {
	for _, ok := range []string{"", "ru", "en"} {
		if err := CheckLang(ok); err != nil {
			t.Errorf("CheckLang(%q): %v", ok, err)
		}
	}
	if err := CheckLang("ru-RU"); err == nil || err.Error() != `must be one of en, ru (got "ru-RU")` {
		t.Errorf("CheckLang(ru-RU): %v", err)
	}
	if !slices.Equal(Supported(), []string{"en", "ru"}) {
		t.Errorf("Supported() = %v", Supported())
	}
}

func TestMsgAndError(t *testing.T) {
	c := mustNew(t, RU, nil)
	m := M("failure.telegram.blocked", "detail", "Forbidden: bot was blocked by the user")
	back, ok := Decode(m.Encode())
	if !ok || !cmp.Equal(back, m) {
		t.Fatalf("Decode(Encode) = %+v, %v", back, ok)
	}
	if got := c.Render(RU, back); got != "клиент заблокировал бота или ему нельзя написать (Telegram: Forbidden: bot was blocked by the user)" {
		t.Errorf("ru: %q", got)
	}
	if _, ok := Decode("the customer blocked the bot"); ok {
		t.Error("a plain reason decoded as a Msg")
	}
	if got := c.Render(RU, M("failure.gave_up", "n", 21)); got != "канал раз за разом давал сбой; доставка прекращена после 21 попытки" {
		t.Errorf("plural Msg: %q", got)
	}

	cause := errors.New("graph error 551")
	err := fmt.Errorf("send: %w", Wrap(cause, "failure.instagram.unavailable", "detail", "code 551"))
	if got := err.Error(); got != "send: Instagram refused the message: this person is not available right now (code 551)" {
		t.Errorf("English text: %q", got)
	}
	var le *Error
	if !errors.As(err, &le) || !errors.Is(err, cause) {
		t.Fatal("the *Error or its cause is not found through wrapping")
	}
	if got := c.Render(RU, le.Msg); got != "Instagram отклонил сообщение: этот пользователь сейчас недоступен (code 551)" {
		t.Errorf("ru: %q", got)
	}
	if got := Errorf("failure.empty").Error(); got != "empty message" {
		t.Errorf("Errorf: %q", got)
	}
}

func TestNestedArguments(t *testing.T) {
	c := mustNew(t, EN, nil)
	age := 3*time.Hour + 20*time.Minute
	m := M("failure.wacloud.no_template", "since", M("failure.wacloud.since", "ago", age))
	back, ok := Decode(m.Encode()) // as it travels through Redis
	if !ok {
		t.Fatal("not decoded")
	}
	tests := []struct{ lang, want string }{
		{RU, "отправить в WhatsApp нельзя: ответ вне 24-часового окна обслуживания (клиент писал последний раз 3 часа 20 минут назад), а одобренный шаблон не настроен; дождитесь, когда клиент напишет снова"},
		{EN, "cannot send on WhatsApp: the reply is outside the 24-hour customer-service window (the customer last wrote 3 hours 20 minutes ago) and no approved template is configured; wait until the customer writes again"},
	}
	for _, tt := range tests {
		if got := c.Render(tt.lang, back); got != tt.want {
			t.Errorf("%s: %q", tt.lang, got)
		}
	}
	if got := m.String(); got != tests[1].want {
		t.Errorf("String: %q", got)
	}
	// T takes durations and Msgs directly
	if got := c.T(RU, "staff.offer.waiting", "wait", 90*time.Second); got != "Ждёт: 1 минуту" {
		t.Errorf("duration argument: %q", got)
	}
	if got := c.T(RU, "staff.reply.not_sent", "reason", M("failure.empty")); got != "Не отправлено: пустое сообщение" {
		t.Errorf("Msg argument: %q", got)
	}
	// text that looks like a nested argument stays text
	if got := c.T(EN, "staff.reply.not_sent", "reason", nestMark+"d60000000000"); got != "Not sent: "+nestMark+"d60000000000" {
		t.Errorf("a text argument was interpreted: %q", got)
	}
	if got := c.Render(EN, M("staff.reply.not_sent", "reason", nestMark+"d60000000000")); got != "Not sent: d60000000000" {
		t.Errorf("M keeps the mark in text: %q", got)
	}
	// nesting is bounded
	deep := M("failure.empty")
	for range 10 {
		deep = M("staff.reply.not_sent", "reason", deep)
	}
	if got := c.Render(EN, deep); !strings.HasSuffix(got, "staff.reply.not_sent") {
		t.Errorf("deep nesting: %q", got)
	}
}

func TestCatalogueIsSafeForConcurrentUse(t *testing.T) {
	c := mustNew(t, RU, map[string]map[string]string{RU: {"staff.button.take": "Беру"}})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				lang := Supported()[(i+j)%2]
				if c.Plural(lang, "unit.minute", j) == "" || c.T(lang, "staff.button.take") == "" {
					t.Error("empty text")
					return
				}
				_ = M("failure.empty").String()
			}
		})
	}
	wg.Wait()
}

func TestKeysAndHas(t *testing.T) {
	c := mustNew(t, EN, nil)
	keys := c.Keys()
	if !slices.IsSorted(keys) || len(keys) < 100 {
		t.Errorf("%d keys, sorted %v", len(keys), slices.IsSorted(keys))
	}
	if !c.Has("channel.telegram") || c.Has("channel.no_such_channel") {
		t.Error("Has")
	}
	if !c.IsPlural("unit.day") || c.IsPlural("staff.help") {
		t.Error("IsPlural")
	}
}
