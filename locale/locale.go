// Package locale is the message catalogue: every text a person reads (customer templates,
// staff-bot messages, buttons, toasts and command descriptions, delivery-failure notes) in
// every supported language, with CLDR plural rules and texts overridable from config.
//
// The built-in texts live in en.yaml and ru.yaml next to this file (embedded): one key per
// line, in the same order in both files, so a reviewer reads them side by side. A text is a
// string with named placeholders ({id}, {lead}, {reason}); a plural text is a mapping of CLDR
// plural forms (one, few, many, other) chosen by the number given as {n}. A word in braces is
// always a placeholder: texts have no literal braces.
//
// A Catalogue is immutable once built and safe for concurrent use.
package locale

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"

	"github.com/lidorub/lidorub/internal/conf"
)

// Supported languages, the first is the default of Config.Default.
const (
	EN = "en"
	RU = "ru"
)

var supported = []string{EN, RU}

// Supported returns the languages the catalogue has, e.g. [en ru].
func Supported() []string { return slices.Clone(supported) }

// IsSupported reports whether lang is exactly one of Supported (config values are strict;
// use Catalogue.Lang to map "ru-RU" or a Telegram language_code at run time).
func IsSupported(lang string) bool { return slices.Contains(supported, lang) }

// CheckLang is the config check of a language value (locale.default, a manager's or a
// channel account's locale): nil for "" (inherit) or a supported language, else an error to
// report at the value's YAML path, e.g. errs.Add(p+".locale", "%v", err).
func CheckLang(lang string) error {
	if lang == "" || IsSupported(lang) {
		return nil
	}
	return fmt.Errorf("must be one of %s (got %q)", strings.Join(supported, ", "), lang)
}

// Disabled as an override of a customer.* text means "send nothing" (as "-" in templates:
// today). T returns "" for it; callers skip empty texts.
const Disabled = "-"

// DisableablePrefix: only automatic customer messages may be switched off.
const DisableablePrefix = "customer."

//go:embed en.yaml ru.yaml
var files embed.FS

// text is one catalogue entry in one language.
type text struct {
	s     string                 // a plain text
	forms map[plural.Form]string // a plural text (s unused)
}

func (t text) plural() bool { return t.forms != nil }

// Catalogue holds the texts of every supported language.
type Catalogue struct {
	def   string
	texts map[string]map[string]text // lang → key → text
	keys  []string                   // sorted
	tags  map[string]language.Tag
}

// New builds the catalogue from the built-in texts and config overrides (lang → key → text,
// as locale.texts in the config file). def is the language used when a caller names none or
// an unsupported one. Errors name the YAML path (locale.default, locale.texts.ru.<key>).
func New(def string, overrides map[string]map[string]string) (*Catalogue, error) {
	c, err := builtin()
	if err != nil {
		return nil, err
	}
	var errs conf.Errors
	errs.Merge("locale", validate(c, def, overrides))
	if err := errs.Err(); err != nil {
		return nil, err
	}
	c.def = def
	for lang, m := range overrides {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys) // a whole plural text before its single forms (key < key.few)
		for _, k := range keys {
			c.override(lang, k, m[k])
		}
	}
	return c, nil
}

// builtin parses the embedded files.
func builtin() (*Catalogue, error) {
	c := &Catalogue{def: EN, texts: map[string]map[string]text{}, tags: map[string]language.Tag{}}
	for _, lang := range supported {
		data, err := files.ReadFile(lang + ".yaml")
		if err != nil {
			return nil, err
		}
		m, _, err := parseFile(lang, data)
		if err != nil {
			return nil, err
		}
		c.texts[lang] = m
		c.tags[lang] = language.MustParse(lang)
	}
	seen := map[string]bool{}
	for _, m := range c.texts {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				c.keys = append(c.keys, k)
			}
		}
	}
	sort.Strings(c.keys)
	return c, nil
}

// formNames are the CLDR plural form names used in the files and in overrides (key.few).
var formNames = map[string]plural.Form{
	"zero": plural.Zero, "one": plural.One, "two": plural.Two,
	"few": plural.Few, "many": plural.Many, "other": plural.Other,
}

func formName(f plural.Form) string {
	for n, v := range formNames {
		if v == f {
			return n
		}
	}
	return "other"
}

// parseFile reads one embedded language file; order is the keys in file order.
func parseFile(lang string, data []byte) (map[string]text, []string, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("locale: %s.yaml: %w", lang, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("locale: %s.yaml: the top level must be a mapping of keys", lang)
	}
	root := doc.Content[0]
	out := map[string]text{}
	var order []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, dup := out[k.Value]; dup {
			return nil, nil, fmt.Errorf("locale: %s.yaml line %d: duplicate key %s", lang, k.Line, k.Value)
		}
		switch v.Kind {
		case yaml.ScalarNode:
			out[k.Value] = text{s: v.Value}
		case yaml.MappingNode:
			t := text{forms: map[plural.Form]string{}}
			for j := 0; j+1 < len(v.Content); j += 2 {
				f, ok := formNames[v.Content[j].Value]
				if !ok {
					return nil, nil, fmt.Errorf("locale: %s.yaml line %d: %s: unknown plural form %q", lang, v.Content[j].Line, k.Value, v.Content[j].Value)
				}
				t.forms[f] = v.Content[j+1].Value
			}
			out[k.Value] = t
		default:
			return nil, nil, fmt.Errorf("locale: %s.yaml line %d: %s must be a text or a mapping of plural forms", lang, k.Line, k.Value)
		}
		order = append(order, k.Value)
	}
	return out, order, nil
}

// override applies one validated override.
func (c *Catalogue) override(lang, key, v string) {
	m := c.texts[lang]
	if t, ok := m[key]; ok {
		if t.plural() { // one text for every form
			forms := map[plural.Form]string{}
			for f := range t.forms {
				forms[f] = v
			}
			m[key] = text{forms: forms}
			return
		}
		m[key] = text{s: v}
		return
	}
	base, form, _ := cutForm(key)
	t := m[base]
	forms := cloneForms(t.forms)
	forms[formNames[form]] = v
	m[base] = text{forms: forms}
}

func cloneForms(m map[plural.Form]string) map[plural.Form]string {
	out := make(map[plural.Form]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// cutForm splits "key.few" into "key" and "few".
func cutForm(key string) (base, form string, ok bool) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return key, "", false
	}
	if _, ok := formNames[key[i+1:]]; !ok {
		return key, "", false
	}
	return key[:i], key[i+1:], true
}

// Default returns the catalogue's default language.
func (c *Catalogue) Default() string { return c.def }

// Keys returns every key, sorted.
func (c *Catalogue) Keys() []string { return slices.Clone(c.keys) }

// Has reports whether key exists (e.g. "channel."+name before showing a raw name).
func (c *Catalogue) Has(key string) bool {
	_, ok := c.texts[c.def][key]
	return ok
}

// IsPlural reports whether key is a plural text.
func (c *Catalogue) IsPlural(key string) bool { return c.texts[c.def][key].plural() }

// Lang picks the language for a reader: the first of prefs that is supported (exact, or its
// base language: "ru-RU", "RU", "ru_RU" → ru), else the default. Pass the most specific
// preference first: cat.Lang(manager.Locale, telegramLanguageCode).
func (c *Catalogue) Lang(prefs ...string) string {
	for _, p := range prefs {
		p = strings.ToLower(strings.TrimSpace(p))
		if i := strings.IndexAny(p, "-_"); i > 0 {
			p = p[:i]
		}
		if IsSupported(p) {
			return p
		}
	}
	return c.def
}

// T renders key in lang with args given as name/value pairs, like slog:
//
//	cat.T("ru", "staff.toast.taken", "id", 42)
//
// A plural text takes its form from the argument "n" (see Plural). An unsupported lang means
// the default language. An unknown key renders as the key itself and a placeholder without an
// argument stays as {name}, so a wiring mistake is visible rather than silent. A customer.*
// text switched off in config ("-") renders as "".
func (c *Catalogue) T(lang, key string, args ...any) string {
	return c.t(lang, key, pairs(args), 0)
}

func (c *Catalogue) t(lang, key string, vals map[string]any, depth int) string {
	m, ok := c.texts[lang]
	if !ok {
		lang, m = c.def, c.texts[c.def]
	}
	t, ok := m[key]
	if !ok && lang != c.def { // every key is in every language (tested); just in case
		lang = c.def
		t, ok = c.texts[c.def][key]
	}
	if !ok {
		return key
	}
	s := t.s
	if t.plural() {
		s = t.forms[c.form(lang, vals["n"])]
	}
	if s == Disabled {
		return ""
	}
	return c.fill(lang, s, vals, depth)
}

// Plural renders a plural text for the number n, which also fills {n}:
//
//	cat.Plural("ru", "unit.minute", 21) // "21 минуту"
func (c *Catalogue) Plural(lang, key string, n int, args ...any) string {
	return c.T(lang, key, append(slices.Clip(args), "n", n)...)
}

// form chooses the CLDR plural form of n (an integer, or a string of one) in lang.
func (c *Catalogue) form(lang string, n any) plural.Form {
	i, ok := toInt(n)
	if !ok {
		return plural.Other
	}
	if i < 0 {
		i = -i
	}
	return plural.Cardinal.MatchPlural(c.tags[lang], i, 0, 0, 0, 0)
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		return int(n), true
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

// pairs turns name/value pairs into a map of texts; a trailing name without value is dropped.
func pairs(args []any) map[string]any {
	m := make(map[string]any, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			m[k] = args[i+1]
		}
	}
	return m
}

var placeholderRE = regexp.MustCompile(`\{([a-z][a-z0-9_]*)\}`)

// fill replaces the placeholders of s. A time.Duration argument is written in words
// (Duration) and a Msg argument (or one nested by M) is rendered in the same language.
func (c *Catalogue) fill(lang, s string, vals map[string]any, depth int) string {
	if !strings.Contains(s, "{") {
		return s
	}
	return placeholderRE.ReplaceAllStringFunc(s, func(p string) string {
		v, ok := vals[p[1:len(p)-1]]
		if !ok {
			return p
		}
		return c.value(lang, v, depth)
	})
}

// maxNesting bounds Msg arguments inside Msg arguments.
const maxNesting = 3

func (c *Catalogue) value(lang string, v any, depth int) string {
	switch x := v.(type) {
	case time.Duration:
		return c.Duration(lang, x)
	case Msg:
		if depth < maxNesting {
			return c.render(lang, x, depth+1)
		}
		return x.Key
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// placeholders returns the set of placeholder names in s.
func placeholders(s string) map[string]bool {
	out := map[string]bool{}
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		out[m[1]] = true
	}
	return out
}

// names lists the placeholders of a text (every form of a plural one), sorted.
func (t text) names() []string {
	set := placeholders(t.s)
	for _, s := range t.forms {
		for k := range placeholders(s) {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Duration renders d in words, at most two units, rounded down: "45 секунд", "5 минут",
// "1 час 5 минут", "2 дня 3 часа". The forms are the ones used after "ждёт"/"назад"
// (accusative in Russian: «ждёт 1 минуту»). Negative durations render as zero seconds.
func (c *Catalogue) Duration(lang string, d time.Duration) string {
	if d < 0 {
		d = 0
	}
	unit := func(key string, n int64) string { return c.Plural(lang, key, int(n)) }
	two := func(k1 string, n1 int64, k2 string, n2 int64) string {
		if n2 == 0 {
			return unit(k1, n1)
		}
		return unit(k1, n1) + " " + unit(k2, n2)
	}
	switch {
	case d < time.Minute:
		return unit("unit.second", int64(d/time.Second))
	case d < time.Hour:
		return unit("unit.minute", int64(d/time.Minute))
	case d < 24*time.Hour:
		return two("unit.hour", int64(d/time.Hour), "unit.minute", int64(d%time.Hour/time.Minute))
	default:
		return two("unit.day", int64(d/(24*time.Hour)), "unit.hour", int64(d%(24*time.Hour)/time.Hour))
	}
}

// Weekday returns "в понедельник" / "on Monday" for an expected answer time.
func (c *Catalogue) Weekday(lang string, d time.Weekday) string {
	return c.T(lang, "time.on."+strings.ToLower(d.String()[:3]))
}

// When renders when something happens relative to now, both in the reader's time zone
// (the caller converts): "сегодня в 14:00", "завтра в 9:00", "в понедельник в 9:00".
// Anything from the day after tomorrow on names the weekday: meant for the next shift start,
// which is less than a week ahead.
func (c *Catalogue) When(lang string, now, at time.Time) string {
	clock := at.Format("15:04")
	y1, m1, d1 := now.Date()
	y2, m2, d2 := at.Date()
	day0 := time.Date(y1, m1, d1, 0, 0, 0, 0, time.UTC)
	day1 := time.Date(y2, m2, d2, 0, 0, 0, 0, time.UTC)
	switch days := int(day1.Sub(day0).Hours() / 24); days {
	case 0:
		return c.T(lang, "time.today_at", "time", clock)
	case 1:
		return c.T(lang, "time.tomorrow_at", "time", clock)
	default:
		return c.T(lang, "time.weekday_at", "day", c.Weekday(lang, at.Weekday()), "time", clock)
	}
}

// formsOf lists the plural forms lang uses for integers (from the CLDR rules), e.g.
// ru: one few many (other is for fractions, required too); en: one other.
func formsOf(tag language.Tag) []plural.Form {
	set := map[plural.Form]bool{plural.Other: true}
	for i := 0; i <= 1000; i++ {
		set[plural.Cardinal.MatchPlural(tag, i, 0, 0, 0, 0)] = true
	}
	var out []plural.Form
	for f := range set {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// formCovers reports whether the form stands for more than one integer in lang (then its
// text must show {n}: «{n} минуту» is used for 1, 21, 31...).
func formCovers(tag language.Tag, f plural.Form) int {
	n := 0
	for i := 0; i <= 1000; i++ {
		if plural.Cardinal.MatchPlural(tag, i, 0, 0, 0, 0) == f {
			n++
		}
	}
	return n
}
