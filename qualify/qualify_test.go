package qualify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/qualify"
)

func ptr(i int) *int { return &i }

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func newRules(t *testing.T, cfg qualify.Config) *qualify.Rules {
	t.Helper()
	q, err := qualify.NewRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

var ignoreExplanation = cmpopts.IgnoreFields(qualify.Result{}, "Explanation")

func TestRules(t *testing.T) {
	cfg := qualify.Config{DefaultPriority: 1, Rules: []qualify.Rule{
		{Name: "price", Keywords: []string{"price", "цена"}, Priority: ptr(5), Tags: []string{"price"}},
		{Name: "urgent", Regex: `\burgent(ly)?\b`, Priority: ptr(8), Tags: []string{"urgent", "price"}},
		{Name: "low", Keywords: []string{"just looking"}, Priority: ptr(0), Tags: []string{"browsing"}},
		{Name: "spam", Keywords: []string{"casino"}, Channels: []string{"form"}, Spam: true, Tags: []string{"spam"}},
		{Name: "jobs", Words: []string{"vacancy"}, NotALead: true, Priority: ptr(9), Tags: []string{"job"}},
	}}
	q := newRules(t, cfg)
	for _, tc := range []struct {
		name, channel, text string
		want                qualify.Result
		decided             string
	}{
		{"no rule", "telegram", "hello", qualify.Result{Priority: 1}, ""},
		{"keyword any case", "telegram", "What is the PRICE?", qualify.Result{Priority: 5, Tags: []string{"price"}}, "price"},
		{"cyrillic keyword", "telegram", "Какая ЦЕНА?", qualify.Result{Priority: 5, Tags: []string{"price"}}, "price"},
		{"highest priority wins, tags merged and sorted", "telegram", "price, urgently", qualify.Result{Priority: 8, Tags: []string{"price", "urgent"}}, "urgent"},
		{"a matching rule may lower the default", "telegram", "just looking", qualify.Result{Priority: 0, Tags: []string{"browsing"}}, "low"},
		{"spam rule limited to its channel", "telegram", "casino", qualify.Result{Priority: 1}, ""},
		{"spam", "form", "best casino", qualify.Result{Priority: 1, Tags: []string{"spam"}, Spam: true}, "spam"},
		{"not a lead decides over a higher priority", "form", "urgent: any vacancy?", qualify.Result{Priority: 9, Tags: []string{"job", "price", "urgent"}, Spam: true}, "jobs"},
		{"the first not-a-lead rule decides", "form", "casino vacancies", qualify.Result{Priority: 9, Tags: []string{"job", "spam"}, Spam: true}, "spam"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := q.Qualify(context.Background(), channels.Inbound{Channel: tc.channel, Text: tc.text})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, ignoreExplanation); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if got.Explanation.DecidedBy != tc.decided {
				t.Fatalf("decided by %q, want %q (%v)", got.Explanation.DecidedBy, tc.decided, got.Explanation.Lines())
			}
		})
	}
}

// TestWordForms: words match every form of a word in Russian and English; keywords stay
// substrings.
func TestWordForms(t *testing.T) {
	q := newRules(t, qualify.Config{Rules: []qualify.Rule{
		{Name: "price", Words: []string{"стоимость", "сколько стоит", "цена", "почём", "price", "cost", "how much"}, Priority: ptr(5)},
		{Name: "delivery", Words: []string{"доставка", "доставить", "delivery", "deliver", "shipping"}, Priority: ptr(4)},
		{Name: "wholesale", Words: []string{"опт", "оптовый", "wholesale"}, Priority: ptr(7)},
		{Name: "stem", Words: []string{"доставк*", "ship*"}, Priority: ptr(1)},
		{Name: "substring", Keywords: []string{"цен"}, Priority: ptr(2)},
	}})
	for _, tc := range []struct {
		text string
		want []string // matching rules, in order
	}{
		{"Какая стоимость?", []string{"price"}},
		{"Уточните стоимости всех позиций", []string{"price"}},
		{"Сколько стоит?", []string{"price"}},
		{"сколько СТОЯТ кроссовки", []string{"price"}},
		{"Сколько у вас стоит доставка?", []string{"price", "delivery", "stem"}},
		{"сколько будет стоить", []string{"price"}},
		{"Цены на сайте актуальны?", []string{"price", "substring"}},
		{"По какой цене?", []string{"price", "substring"}},
		{"Почем килограмм?", []string{"price"}},
		{"Почём килограмм?", []string{"price"}},
		{"Доставку делаете?", []string{"delivery", "stem"}},
		{"Доставите завтра?", []string{"delivery"}},
		{"доставкой курьером", []string{"delivery", "stem"}},
		{"Продаёте оптом?", []string{"wholesale"}},
		{"оптовые цены", []string{"price", "wholesale", "substring"}},
		{"What are your prices?", []string{"price"}},
		{"pricing for teams", []string{"price"}},
		{"How much does it cost?", []string{"price"}},
		{"it costs too much", []string{"price"}},
		{"Do you deliver to Berlin?", []string{"delivery"}},
		{"deliveries on Sunday?", []string{"delivery"}},
		{"is shipping free", []string{"delivery", "stem"}},
		{"shipped yet?", []string{"delivery", "stem"}},
		{"wholesalers welcome", []string{"wholesale"}},
		{"Сто рублей", nil},                                       // стоит stems to сто; only the phrase «сколько стоит» is configured
		{"стоит ли ехать", nil},                                   // «стоит» alone: not a price question
		{"стоит сколько", nil},                                    // a phrase's words must come in order
		{"сколько нам с коллегами придется ждать, стоит ли", nil}, // more than two words apart
		{"оценка", []string{"substring"}},                         // keywords are substrings
		{"пропустить", nil},                                       // опт is a word, not a substring
		{"", nil},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got := q.Evaluate(qualify.Input{Inbound: channels.Inbound{Text: tc.text}})
			var names []string
			for _, m := range got.Explanation.Rules {
				names = append(names, m.Rule)
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Fatalf("matching rules (-want +got):\n%s\n%v", diff, got.Explanation.Lines())
			}
		})
	}
}

func TestConditions(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	// Sunday 29 November 2026, 21:30 in Moscow (18:30 UTC).
	sunEvening := time.Date(2026, 11, 29, 21, 30, 0, 0, moscow)
	monMorning := time.Date(2026, 11, 30, 8, 59, 0, 0, moscow)
	monNoon := time.Date(2026, 11, 30, 12, 0, 0, 0, moscow)
	satNight := time.Date(2026, 11, 28, 3, 0, 0, 0, moscow) // Friday's 22:00–06:00 window
	q := newRules(t, qualify.Config{TimeZone: "Europe/Moscow", Rules: []qualify.Rule{
		{Name: "telegram", Channels: []string{"telegram"}, Tags: []string{"tg"}},
		{Name: "ads", UTM: qualify.UTM{Source: []string{"google", "yandex*"}, Medium: []string{"cpc"}}, Tags: []string{"ads"}},
		{Name: "promo", Sources: []string{"promo_*"}, Tags: []string{"promo"}},
		{Name: "evenings", Time: []qualify.Window{{From: "20:00", To: "09:00"}}, Tags: []string{"evening"}},
		{Name: "weekend", Time: []qualify.Window{{Days: []string{"sat", "sun"}}}, Tags: []string{"weekend"}},
		{Name: "friday night", Time: []qualify.Window{{Days: []string{"fri"}, From: "22:00", To: "06:00"}}, Tags: []string{"friday"}},
		{Name: "weekday hours", Time: []qualify.Window{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "18:00"}}, Tags: []string{"office"}},
		{Name: "phone", HasPhone: yes(), Tags: []string{"phone"}},
		{Name: "no contact", HasPhone: no(), HasEmail: no(), Tags: []string{"anonymous"}},
		{Name: "email", HasEmail: yes(), Tags: []string{"email"}},
		{Name: "follow-up", Messages: qualify.Range{Min: 2}, Tags: []string{"follow_up"}},
		{Name: "first only", Messages: qualify.Range{Max: 1}, Words: []string{"price"}, Tags: []string{"first_price"}},
		{Name: "form price", Channels: []string{"form"}, Words: []string{"price"}, Priority: ptr(6), Tags: []string{"form_price"}},
	}})
	for _, tc := range []struct {
		name string
		in   qualify.Input
		want []string
	}{
		{"no time: no time condition holds", qualify.Input{Inbound: channels.Inbound{Channel: "form"}}, []string{"no contact"}},
		{"channel", qualify.Input{Inbound: channels.Inbound{Channel: "telegram"}}, []string{"telegram", "no contact"}},
		{"utm: every set parameter must match", qualify.Input{Inbound: channels.Inbound{Channel: "form",
			Meta: map[string]string{"utm_source": "google"}}}, []string{"no contact"}},
		{"utm source and medium, any case", qualify.Input{Inbound: channels.Inbound{Channel: "form",
			Meta: map[string]string{"utm_source": "Google", "utm_medium": "cpc"}}}, []string{"ads", "no contact"}},
		{"utm pattern", qualify.Input{Inbound: channels.Inbound{Channel: "form",
			Meta: map[string]string{"utm_source": "yandex.direct", "utm_medium": "CPC"}}}, []string{"ads", "no contact"}},
		{"utm other source", qualify.Input{Inbound: channels.Inbound{Channel: "form",
			Meta: map[string]string{"utm_source": "vk", "utm_medium": "cpc"}}}, []string{"no contact"}},
		{"source pattern", qualify.Input{Inbound: channels.Inbound{Channel: "telegram", Source: "promo_nov"}}, []string{"telegram", "promo", "no contact"}},
		{"source not matching", qualify.Input{Inbound: channels.Inbound{Channel: "telegram", Source: "site"}}, []string{"telegram", "no contact"}},
		{"sunday evening", qualify.Input{Inbound: channels.Inbound{Channel: "form"}, At: sunEvening}, []string{"evenings", "weekend", "no contact"}},
		{"received at is the default time", qualify.Input{Inbound: channels.Inbound{Channel: "form", ReceivedAt: sunEvening.UTC()}}, []string{"evenings", "weekend", "no contact"}},
		{"at wins over received at", qualify.Input{Inbound: channels.Inbound{Channel: "form", ReceivedAt: sunEvening}, At: monNoon}, []string{"weekday hours", "no contact"}},
		{"monday before nine is still evening", qualify.Input{Inbound: channels.Inbound{Channel: "form"}, At: monMorning}, []string{"evenings", "no contact"}},
		{"monday noon", qualify.Input{Inbound: channels.Inbound{Channel: "form"}, At: monNoon}, []string{"weekday hours", "no contact"}},
		{"the same instant in UTC", qualify.Input{Inbound: channels.Inbound{Channel: "form"}, At: monNoon.UTC()}, []string{"weekday hours", "no contact"}},
		{"a window over midnight belongs to the day it starts", qualify.Input{Inbound: channels.Inbound{Channel: "form"}, At: satNight}, []string{"evenings", "weekend", "friday night", "no contact"}},
		{"phone", qualify.Input{Inbound: channels.Inbound{Channel: "form", Phone: "+79161234567"}}, []string{"phone"}},
		{"email", qualify.Input{Inbound: channels.Inbound{Channel: "form", Email: "a@example.com"}}, []string{"email"}},
		{"second message", qualify.Input{Inbound: channels.Inbound{Channel: "form", Phone: "+7", Text: "price?"}, Messages: 2}, []string{"phone", "follow-up", "form price"}},
		{"first message", qualify.Input{Inbound: channels.Inbound{Channel: "form", Phone: "+7", Text: "price?"}, Messages: 1}, []string{"phone", "first only", "form price"}},
		{"zero messages means the first", qualify.Input{Inbound: channels.Inbound{Channel: "telegram", Phone: "+7", Text: "prices"}}, []string{"telegram", "phone", "first only"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := q.Evaluate(tc.in)
			var names []string
			for _, m := range got.Explanation.Rules {
				names = append(names, m.Rule)
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Fatalf("matching rules (-want +got):\n%s\n%v", diff, got.Explanation.Lines())
			}
		})
	}
}

func TestExplanation(t *testing.T) {
	moscow, _ := time.LoadLocation("Europe/Moscow")
	q := newRules(t, qualify.Config{DefaultPriority: 2, TimeZone: "Europe/Moscow", Rules: []qualify.Rule{
		{Name: "delivery", Words: []string{"доставка"}, Priority: ptr(5), Tags: []string{"logistics"}},
		{Name: "price", Words: []string{"сколько стоит"}, Priority: ptr(5), Tags: []string{"price"}},
		{Name: "ads", Channels: []string{"form"}, UTM: qualify.UTM{Source: []string{"google*"}}, Priority: ptr(6), Tags: []string{"ads", "paid"}},
		{Name: "night", Time: []qualify.Window{{From: "20:00", To: "09:00"}}, Tags: []string{"night"}},
		{Name: "callback", HasPhone: yes(), Keywords: []string{"перезвон"}, Regex: `\+7\d{10}`, Tags: []string{"callback"}},
		{Name: "spam", Regex: `bit\.ly/\w+`, Spam: true},
		{Name: "follow-up", Messages: qualify.Range{Min: 2, Max: 3}},
	}})
	for _, tc := range []struct {
		name    string
		in      qualify.Input
		verdict string
		decided string
		lines   []string
	}{
		{"nothing", qualify.Input{Inbound: channels.Inbound{Text: "Здравствуйте"}}, "priority 2, no tags", "", nil},
		{"word form", qualify.Input{Inbound: channels.Inbound{Text: "Доставка есть?"}}, "priority 5, tag logistics", "delivery",
			[]string{"matched «Доставка» in rule delivery → priority 5, tag logistics"}},
		{"equal priorities: the first decides", qualify.Input{Inbound: channels.Inbound{Text: "Сколько у вас стоит доставку оформить?"}},
			"priority 5, tags logistics, price", "delivery", []string{
				"matched «доставку» (word «доставка») in rule delivery → priority 5, tag logistics",
				"matched «Сколько у вас стоит» (word «сколько стоит») in rule price → priority 5, tag price"}},
		{"conditions", qualify.Input{Inbound: channels.Inbound{Channel: "form", Text: "Hi", Meta: map[string]string{"utm_source": "google_ads"}},
			At: time.Date(2026, 11, 29, 23, 5, 0, 0, moscow), Messages: 2}, "priority 6, tags ads, night, paid", "ads", []string{
			"matched channel form, utm_source «google_ads» (google*) in rule ads → priority 6, tags ads, paid",
			"matched time sun 23:05 (20:00–09:00) in rule night → tag night",
			"matched message count 2 (2..3) in rule follow-up → no change"}},
		{"keyword and phone", qualify.Input{Inbound: channels.Inbound{Text: "Перезвоните мне", Phone: "+79161234567"}}, "priority 2, tag callback", "", []string{
			"matched «перезвон», a phone in rule callback → tag callback"}},
		{"regex", qualify.Input{Inbound: channels.Inbound{Text: "call +79161234567", Phone: "+79161234567"}}, "priority 2, tag callback", "", []string{
			"matched «+79161234567» (regex «\\+7\\d{10}»), a phone in rule callback → tag callback"}},
		{"not a lead", qualify.Input{Inbound: channels.Inbound{Text: "see bit.ly/xyz доставка"}}, "not a lead, tag logistics", "spam", []string{
			"matched «доставка» in rule delivery → priority 5, tag logistics",
			"matched «bit.ly/xyz» (regex «bit\\.ly/\\w+») in rule spam → not a lead"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := q.Evaluate(tc.in)
			if got.Verdict() != tc.verdict || got.Explanation.DecidedBy != tc.decided {
				t.Errorf("verdict %q decided by %q, want %q by %q", got.Verdict(), got.Explanation.DecidedBy, tc.verdict, tc.decided)
			}
			if diff := cmp.Diff(tc.lines, got.Explanation.Lines()); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			// The explanation is stored as JSON on the lead: it survives the round trip.
			b, err := json.Marshal(got.Explanation)
			if err != nil {
				t.Fatal(err)
			}
			var back qualify.Explanation
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got.Explanation.Lines(), back.Lines()); diff != "" {
				t.Errorf("after JSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  qualify.Config
		want string
	}{
		{"bad default", qualify.Config{DefaultPriority: 10}, "default_priority: must be between 0 and 9"},
		{"bad zone", qualify.Config{TimeZone: "Europe/Atlantis"}, `tz: unknown time zone "Europe/Atlantis"`},
		{"no name", qualify.Config{Rules: []qualify.Rule{{Keywords: []string{"x"}}}}, "rules[0].name: is required"},
		{"duplicate name", qualify.Config{Rules: []qualify.Rule{{Name: "a", Keywords: []string{"x"}}, {Name: "a", Keywords: []string{"y"}}}}, `rules[1].name: duplicates rules[0].name "a"`},
		{"nothing to match", qualify.Config{Rules: []qualify.Rule{{Name: "a", Tags: []string{"t"}}}}, "rules[0]: needs keywords, words, regex or a condition (channels, sources, utm, time, has_phone, has_email, messages)"},
		{"bad regex", qualify.Config{Rules: []qualify.Rule{{Name: "a", Regex: "("}}}, "rules[0].regex: invalid regular expression: error parsing regexp: missing closing ): `(?i)(`"},
		{"bad priority", qualify.Config{Rules: []qualify.Rule{{Name: "a", Keywords: []string{"x"}, Priority: ptr(-1)}}}, "rules[0].priority: must be between 0 and 9"},
		{"empty keyword", qualify.Config{Rules: []qualify.Rule{{Name: "a", Keywords: []string{" "}}}}, "rules[0].keywords[0]: must not be empty"},
		{"empty word", qualify.Config{Rules: []qualify.Rule{{Name: "a", Words: []string{"ok", ""}}}}, "rules[0].words[1]: must not be empty"},
		{"punctuation only", qualify.Config{Rules: []qualify.Rule{{Name: "a", Words: []string{"?!"}}}}, "rules[0].words[0]: has no letters or digits"},
		{"star inside", qualify.Config{Rules: []qualify.Rule{{Name: "a", Words: []string{"до*ставка"}}}}, `rules[0].words[0]: * may only end a word ("доставк*")`},
		{"lone star", qualify.Config{Rules: []qualify.Rule{{Name: "a", Words: []string{"сколько *"}}}}, `rules[0].words[0]: * must follow the beginning of a word ("доставк*")`},
		{"empty source", qualify.Config{Rules: []qualify.Rule{{Name: "a", Sources: []string{""}}}}, "rules[0].sources[0]: must not be empty"},
		{"empty utm", qualify.Config{Rules: []qualify.Rule{{Name: "a", UTM: qualify.UTM{Campaign: []string{"x", " "}}}}}, "rules[0].utm.campaign[1]: must not be empty"},
		{"bad day", qualify.Config{Rules: []qualify.Rule{{Name: "a", Time: []qualify.Window{{Days: []string{"monday"}}}}}}, `rules[0].time[0].days[0]: must be one of mon, tue, wed, thu, fri, sat, sun (got "monday")`},
		{"bad from", qualify.Config{Rules: []qualify.Rule{{Name: "a", Time: []qualify.Window{{}, {From: "9", To: "18:00"}}}}}, `rules[0].time[1].from: must be a time of day HH:MM (got "9")`},
		{"from alone", qualify.Config{Rules: []qualify.Rule{{Name: "a", Time: []qualify.Window{{From: "09:00"}}}}}, "rules[0].time[0].to: is required with from"},
		{"to alone", qualify.Config{Rules: []qualify.Rule{{Name: "a", Time: []qualify.Window{{To: "09:00"}}}}}, "rules[0].time[0].from: is required with to"},
		{"empty window", qualify.Config{Rules: []qualify.Rule{{Name: "a", Time: []qualify.Window{{From: "09:00", To: "09:00"}}}}}, "rules[0].time[0].to: must differ from from"},
		{"negative messages", qualify.Config{Rules: []qualify.Rule{{Name: "a", Messages: qualify.Range{Min: -1}}}}, "rules[0].messages.min: must not be negative"},
		{"max below min", qualify.Config{Rules: []qualify.Rule{{Name: "a", Messages: qualify.Range{Min: 3, Max: 2}}}}, "rules[0].messages.max: must not be less than messages.min"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
			if _, err := qualify.NewRules(tc.cfg); err == nil || err.Error() != tc.want {
				t.Fatalf("NewRules: got %v, want %s", err, tc.want)
			}
		})
	}
}

// TestWordLimit: words are looked for in the first 1000 words; keywords and regex in the
// whole text.
func TestWordLimit(t *testing.T) {
	q := newRules(t, qualify.Config{Rules: []qualify.Rule{
		{Name: "words", Words: []string{"доставка"}},
		{Name: "keywords", Keywords: []string{"доставка"}},
	}})
	for _, tc := range []struct {
		filler int
		want   []string
	}{
		{999, []string{"words", "keywords"}},
		{1000, []string{"keywords"}},
	} {
		text := strings.Repeat("слово ", tc.filler) + "доставка"
		var names []string
		for _, m := range q.Evaluate(qualify.Input{Inbound: channels.Inbound{Text: text}}).Explanation.Rules {
			names = append(names, m.Rule)
		}
		if diff := cmp.Diff(tc.want, names); diff != "" {
			t.Errorf("after %d words (-want +got):\n%s", tc.filler, diff)
		}
	}
}

// TestConcurrentUse: one Rules serves every router worker at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	q := newRules(t, qualify.Config{Rules: []qualify.Rule{
		{Name: "price", Words: []string{"стоимость", "сколько стоит", "price"}, Priority: ptr(5), Tags: []string{"price"}},
		{Name: "delivery", Words: []string{"доставка", "deliver"}, Priority: ptr(4), Tags: []string{"logistics"}},
	}})
	texts := []string{"Сколько стоит доставка?", "стоимости", "prices and delivery", "delivered", "привет", "hello"}
	want := make([]string, len(texts))
	for i, text := range texts {
		want[i] = q.Evaluate(qualify.Input{Inbound: channels.Inbound{Text: text}}).Verdict()
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(texts)*50)
	for g := range 8 {
		wg.Go(func() {
			for n := range 50 {
				i := (g + n) % len(texts)
				res, err := q.Qualify(context.Background(), channels.Inbound{Text: texts[i]})
				if err != nil || res.Verdict() != want[i] {
					errs <- fmt.Sprintf("%q: %q, %v; want %q", texts[i], res.Verdict(), err, want[i])
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// The router re-qualifies follow-ups through Requalifier: the same verdict as Evaluate,
// with the message count.
func TestRequalifyUsesTheMessageCount(t *testing.T) {
	var q qualify.Requalifier = newRules(t, qualify.Config{Rules: []qualify.Rule{
		{Name: "persistent", Messages: qualify.Range{Min: 2}, Priority: ptr(6), Tags: []string{"persistent"}},
	}})
	for _, tc := range []struct {
		n    int
		want string
	}{{1, "priority 0, no tags"}, {2, "priority 6, tag persistent"}, {5, "priority 6, tag persistent"}} {
		got, err := q.Requalify(context.Background(), qualify.Input{Inbound: channels.Inbound{Text: "hello"}, Messages: tc.n})
		if err != nil {
			t.Fatal(err)
		}
		if got.Verdict() != tc.want {
			t.Errorf("message %d: %s, want %s", tc.n, got.Verdict(), tc.want)
		}
	}
}
