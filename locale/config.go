package locale

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/lidorub/lidorub/internal/conf"
)

// Config is the locale: section.
//
//	locale:
//	  default: ru
//	  texts:
//	    ru:
//	      customer.auto_ack: "Здравствуйте! Менеджер ответит в течение пары минут."
//	      customer.close: "-"                       # send nothing
//	      staff.button.take: "✅ Беру"
//	      staff.escalation.max_offers.few: "..."    # one plural form
type Config struct {
	// Default is the language of every text unless a manager (staff texts) or a channel
	// account (customer texts) sets its own: en or ru.
	Default string `yaml:"default"`
	// Texts overrides single built-in texts: language → key → text. The keys and their
	// placeholders are those of locale/en.yaml; a plural text is overridden whole (one text
	// for every number) or form by form (key.one, key.few, key.many, key.other).
	Texts map[string]map[string]string `yaml:"texts"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Default == "" {
		c.Default = EN
	}
}

// Validate checks the section; paths are relative to "locale".
func (c *Config) Validate() error {
	b, err := builtin()
	if err != nil {
		return err
	}
	return validate(b, c.Default, c.Texts)
}

// Adopt takes a text set elsewhere in the file (the older templates: section: auto_ack,
// off_hours, close) as an override of key in the default language, unless locale.texts
// already sets it there. Call it after Defaults; "" adopts nothing.
func (c *Config) Adopt(key, v string) {
	if v == "" {
		return
	}
	if c.Texts == nil {
		c.Texts = map[string]map[string]string{}
	}
	if c.Texts[c.Default] == nil {
		c.Texts[c.Default] = map[string]string{}
	}
	if _, set := c.Texts[c.Default][key]; !set {
		c.Texts[c.Default][key] = v
	}
}

// Catalogue builds the catalogue of a validated section.
func (c *Config) Catalogue() (*Catalogue, error) { return New(c.Default, c.Texts) }

var bracesRE = regexp.MustCompile(`\{[^{}]*\}|[{}]`)

// validate checks a default language and overrides against the built-in catalogue b; paths
// are relative to "locale".
func validate(b *Catalogue, def string, overrides map[string]map[string]string) error {
	var errs conf.Errors
	if !IsSupported(def) {
		errs.Add("default", "must be one of %s (got %q)", strings.Join(supported, ", "), def)
	}
	langs := make([]string, 0, len(overrides))
	for lang := range overrides {
		langs = append(langs, lang)
	}
	sort.Strings(langs)
	for _, lang := range langs {
		p := "texts." + lang
		m, ok := b.texts[lang]
		if !ok {
			errs.Add(p, "unknown language (supported: %s)", strings.Join(supported, ", "))
			continue
		}
		keys := make([]string, 0, len(overrides[lang]))
		for k := range overrides[lang] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			checkOverride(&errs, b, lang, m, p+"."+k, k, overrides[lang][k])
		}
	}
	return errs.Err()
}

func checkOverride(errs *conf.Errors, b *Catalogue, lang string, m map[string]text, path, key, v string) {
	t, ok := m[key]
	wantN := false // the text stands for several numbers: it must show {n}
	if ok && t.plural() {
		wantN = true
	}
	if !ok {
		base, form, isForm := cutForm(key)
		bt, found := m[base]
		switch {
		case isForm && found && bt.plural():
			f := formNames[form]
			if _, used := bt.forms[f]; !used {
				errs.Add(path, "%s has no plural form %q in %s (its forms: %s)", base, form, lang, strings.Join(formList(bt), ", "))
				return
			}
			t, wantN = bt, formCovers(b.tags[lang], f) > 1 && strings.Contains(bt.forms[f], "{n}")
		case isForm && found:
			errs.Add(path, "%s is not a plural text: set %s itself", base, base)
			return
		default:
			errs.Add(path, "unknown text key (the keys are listed in locale/en.yaml)")
			return
		}
	}
	if strings.TrimSpace(v) == "" {
		if strings.HasPrefix(key, DisableablePrefix) {
			errs.Add(path, "must not be empty (use %q to send nothing)", Disabled)
		} else {
			errs.Add(path, "must not be empty")
		}
		return
	}
	if v == Disabled {
		if !strings.HasPrefix(key, DisableablePrefix) {
			errs.Add(path, "only customer.* texts can be switched off with %q", Disabled)
		}
		return
	}
	allowed := map[string]bool{}
	for _, n := range t.names() {
		allowed[n] = true
	}
	if t.plural() {
		allowed["n"] = true
	}
	for _, br := range bracesRE.FindAllString(v, -1) {
		sm := placeholderRE.FindStringSubmatch(br)
		switch {
		case sm == nil || sm[0] != br:
			errs.Add(path, "%s is not a placeholder: braces hold a placeholder name such as {id}; %s", clip(br), canUse(t))
		case !allowed[sm[1]]:
			errs.Add(path, "unknown placeholder %s; %s", br, canUse(t))
		}
	}
	if wantN && !strings.Contains(v, "{n}") {
		errs.Add(path, "must show the number as {n} (this text is used for several numbers)")
	}
}

func canUse(t text) string {
	n := t.names()
	if len(n) == 0 {
		return "this text has no placeholders"
	}
	return fmt.Sprintf("this text can use {%s}", strings.Join(n, "}, {"))
}

func formList(t text) []string {
	var out []string
	for f := range t.forms {
		out = append(out, formName(f))
	}
	sort.Strings(out)
	return out
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
