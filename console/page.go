package console

import (
	"net/http"
	"time"

	"github.com/lidorub/lidorub/locale"
)

// page is what every template gets: the reader's language and texts, the signed-in
// supervisor, the CSRF token for forms, a flash result or error, and the page's own Data.
type page struct {
	c      *Console
	Lang   string
	Me     string // manager id ("" on the sign-in form)
	MeName string
	CSRF   string
	Active string // the navigation item of the page
	Path   string // the page's own path, where forms come back to
	Flash  string
	Error  string
	Now    time.Time
	Data   any
}

// lang is the reader's language: ?lang= (on the sign-in form, its lang field), else the session's choice, else the supervisor's
// managers[].locale, else locale.default.
func (c *Console) lang(r *http.Request, s *session) string {
	if l := r.URL.Query().Get("lang"); locale.IsSupported(l) {
		return l
	}
	if s == nil && r.Method == http.MethodPost { // the sign-in form carries the language it was shown in
		if l := r.PostFormValue("lang"); locale.IsSupported(l) {
			return l
		}
	}
	if s != nil {
		if s.Lang != "" {
			return s.Lang
		}
		if m, ok := c.byID[s.Manager]; ok && locale.IsSupported(m.Locale) {
			return m.Locale
		}
	}
	return c.d.Locale.Default()
}

func (c *Console) newPage(r *http.Request, s *session, active string) *page {
	p := &page{c: c, Lang: c.lang(r, s), Active: active, Path: r.URL.Path, Now: c.d.Clock.Now()}
	if s != nil {
		p.Me, p.CSRF = s.Manager, s.CSRF
		p.MeName = s.Manager
		if m, ok := c.byID[s.Manager]; ok && m.Name != "" {
			p.MeName = m.Name
		}
	}
	q := r.URL.Query()
	if k := q.Get("ok"); k != "" && validCode(k) {
		p.Flash = p.T("console.done." + k)
	}
	if k := q.Get("err"); k != "" && validCode(k) {
		p.Error = p.T("console.error." + k)
	}
	return p
}

// validCode: a result code in a redirect's query names a catalogue key; only known ones are shown.
func validCode(k string) bool {
	switch k {
	case "offline", "reassign", "front", "close", "corrected",
		"not_implemented", "not_found", "conflict", "unknown_manager", "invalid", "forbidden", "failed":
		return true
	}
	return false
}

// T renders a catalogue text in the reader's language. A key missing from the catalogue
// shows as ⟦key⟧ (the tests look for it).
func (p *page) T(key string, args ...any) string {
	if !p.c.d.Locale.Has(key) {
		return "⟦" + key + "⟧"
	}
	return p.c.d.Locale.T(p.Lang, key, args...)
}

// Age is how long ago t was, in words ("—" for a zero time).
func (p *page) Age(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := p.Now.Sub(t)
	if d < time.Second {
		d = time.Second
	}
	return p.c.d.Locale.Duration(p.Lang, d.Truncate(time.Second))
}

// Time is a clock time, with the date when not today.
func (p *page) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(p.Now.Location())
	if t.YearDay() == p.Now.YearDay() && t.Year() == p.Now.Year() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

// Manager is a manager's display name.
func (p *page) Manager(id string) string {
	if id == "" {
		return "—"
	}
	if m, ok := p.c.byID[id]; ok && m.Name != "" {
		return m.Name
	}
	return id
}

// Extra renders one extra field of a timeline stage in the reader's language: its label
// (console.extra.<key>) and its value — a manager's name, a reason's text (a configured sales
// reason, else console.reason.<id>), a qualification level, or the value itself (ids, amounts).
// A flag ("1") shows its label only.
func (p *page) Extra(k, v string) string {
	label := k
	if key := "console.extra." + k; p.c.d.Locale.Has(key) {
		label = p.T(key)
	}
	cat := p.c.d.Locale
	switch {
	case v == "1" && (k == "contacted" || k == "note_set" || k == "unanswered" || k == "call"):
		return label
	case k == "tier":
		return label
	case k == "by" || k == "reassigned_by":
		v = p.Manager(v)
	case k == "reason":
		if key := "sales.reason." + v + ".label"; cat.Has(key) {
			v = p.T(key)
		} else if key := "console.reason." + v; cat.Has(key) {
			v = p.T(key)
		}
	case k == "level":
		if key := "qual." + v; cat.Has(key) {
			v = p.T(key)
		}
	}
	return label + ": " + v
}

// Langs are the languages to switch to.
func (p *page) Langs() []string { return locale.Supported() }
