package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/console"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/ledger"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// t0 is a Wednesday 10:00 UTC.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

const (
	olgaToken  = "olga-console-test-token-7f3a"
	annaToken  = "anna-console-test-token-2c9d"
	salesToken = "sam-console-test-token-81be"
)

// harness is a router on a real Redis with the console served by httptest.
type harness struct {
	t      *testing.T
	ctx    context.Context
	clock  *clock.Fake
	r      *router.Router
	ingest *store.Ingest
	srv    *httptest.Server
	rdb    redis.UniversalClient
	keys   store.Keys
	seq    int
}

func newHarness(t *testing.T, cfg console.Config) *harness {
	t.Helper()
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	h := &harness{t: t, ctx: context.Background(), clock: clock.NewFake(t0), rdb: rdb, keys: keys}
	ms := []router.Manager{
		{ID: "anna", Name: "Anna", Token: annaToken, Capacity: 2},
		{ID: "boris", Name: "Boris", Capacity: 2},
		{ID: "olga", Name: "Olga", Role: router.RoleSupervisor, Token: olgaToken, Locale: "en"},
	}
	if salesRole() {
		ms = append(ms, router.Manager{ID: "sam", Name: "Sam", Role: router.RoleSales, Token: salesToken, Capacity: 2})
	}
	router.ManagersDefaults(ms)
	var rcfg router.Config
	rcfg.Defaults()
	cat, err := locale.New("ru", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(nil, []string{"anna", "boris", "olga", "sam"})
	h.r, err = router.New(rcfg, ms, router.Templates{}, router.Deps{Redis: rdb, Keys: keys, Clock: h.clock,
		Log: testlog.Logger(), Metrics: m, Instance: "test", Locale: cat})
	if err != nil {
		t.Fatal(err)
	}
	h.ingest = store.NewIngest(rdb, keys, h.clock, m)
	cfg.Defaults()
	c, err := console.New(cfg, console.Deps{Desk: h.r, Ops: h.r, Reports: h.r, Managers: ms, Redis: rdb, Keys: keys, Clock: h.clock,
		Log: testlog.Logger(), Locale: cat, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, c.Handler())
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

// salesRole: the configuration accepts sales managers (the sales tier has landed).
func salesRole() bool {
	return router.ValidateManagers([]router.Manager{{ID: "sam", Role: router.RoleSales, Capacity: 1}}) == nil
}

// lead ingests one customer message and settles the router: a waiting lead.
func (h *harness) lead(contact, text string) {
	h.t.Helper()
	h.seq++
	in := channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: contact + "-" + string(rune('a'+h.seq)),
		ContactID: contact, DisplayName: "Customer " + contact, Text: text}
	if _, err := h.ingest.Ingest(h.ctx, in); err != nil {
		h.t.Fatal(err)
	}
	if err := h.r.Settle(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

// browser is an HTTP client with a cookie jar that does not follow redirects. The test
// server is plain HTTP, so the jar would not send the Secure cookie back: it is replayed by hand.
type browser struct {
	h       *harness
	c       *http.Client
	cookies map[string]*http.Cookie
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, cookies: map[string]*http.Cookie{}, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	code int
	hdr  http.Header
	body string
	set  []*http.Cookie
}

func (b *browser) do(method, path string, form url.Values) resp {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequestWithContext(b.h.ctx, method, b.h.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return resp{code: res.StatusCode, hdr: res.Header, body: string(data), set: res.Cookies()}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in %s", body)
	}
	return m[1]
}

// signIn opens the sign-in form and posts token.
func (b *browser) signIn(token string) resp {
	b.h.t.Helper()
	page := b.do("GET", "/console/login", nil)
	return b.do("POST", "/console/login", url.Values{"csrf": {csrfOf(b.h.t, page.body)}, "token": {token}})
}

// page GETs a console page as a signed-in supervisor and returns its body and CSRF token.
func (b *browser) page(path string) (resp, string) {
	b.h.t.Helper()
	r := b.do("GET", path, nil)
	if r.code != 200 {
		b.h.t.Fatalf("GET %s: %d %s", path, r.code, r.body)
	}
	m := csrfRE.FindStringSubmatch(r.body)
	if m == nil {
		return r, ""
	}
	return r, m[1]
}

func TestSignIn(t *testing.T) {
	h := newHarness(t, console.Config{})
	type signInCase struct {
		name, token string
		code        int
		text        string
	}
	cases := []signInCase{
		{"supervisor", olgaToken, http.StatusSeeOther, ""},
		{"lead-manager refused", annaToken, http.StatusForbidden, "только для супервизоров"},
		{"unknown token", "nope-nope-nope", http.StatusUnauthorized, "токен неизвестен"},
		{"empty token", "", http.StatusUnauthorized, "токен неизвестен"},
	}
	if salesRole() {
		cases = append(cases, signInCase{"sales manager refused", salesToken, http.StatusForbidden, "только для супервизоров"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := h.browser()
			r := b.signIn(tc.token)
			if r.code != tc.code || !strings.Contains(r.body, tc.text) {
				t.Fatalf("%d %s", r.code, r.body)
			}
			if tc.code != http.StatusSeeOther {
				if _, ok := b.cookies["lidorub_console"]; ok {
					t.Fatal("a session cookie for a refused token")
				}
				if r := b.do("GET", "/console/", nil); r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/console/login" {
					t.Fatalf("refused, yet GET /console/: %d %s", r.code, r.hdr.Get("Location"))
				}
				return
			}
			if r.hdr.Get("Location") != "/console/" {
				t.Fatalf("redirect to %q", r.hdr.Get("Location"))
			}
			ck := b.cookies["lidorub_console"]
			if ck == nil || len(ck.Value) < 40 || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode ||
				ck.Path != "/console/" || ck.MaxAge != int((12*time.Hour)/time.Second) {
				t.Fatalf("session cookie %+v", ck)
			}
			if r := b.do("GET", "/console/", nil); r.code != 200 || !strings.Contains(r.body, "Olga") {
				t.Fatalf("after sign-in: %d", r.code)
			}
		})
	}
}

// TestSignInFormKeepsItsLanguage: a refused sign-in answers in the language the form was shown in.
func TestSignInFormKeepsItsLanguage(t *testing.T) {
	h := newHarness(t, console.Config{})
	b := h.browser()
	page := b.do("GET", "/console/login?lang=en", nil)
	r := b.do("POST", "/console/login", url.Values{"csrf": {csrfOf(t, page.body)}, "token": {annaToken}, "lang": {"en"}})
	if r.code != http.StatusForbidden || !strings.Contains(r.body, "The console is for supervisors only") || !strings.Contains(r.body, `<html lang="en">`) {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

func TestSignInWithoutFormTokenIsForbidden(t *testing.T) {
	h := newHarness(t, console.Config{})
	b := h.browser()
	b.do("GET", "/console/login", nil)
	for _, csrf := range []string{"", "forged"} {
		if r := b.do("POST", "/console/login", url.Values{"csrf": {csrf}, "token": {olgaToken}}); r.code != http.StatusForbidden {
			t.Fatalf("csrf %q: %d", csrf, r.code)
		}
	}
}

func TestSecureCookieOff(t *testing.T) {
	cfg := console.Config{}
	cfg.Defaults()
	if !cfg.Secure(false) || cfg.Secure(true) {
		t.Fatal("auto: Secure unless loopback")
	}
	off := false
	cfg.SecureCookie = &off
	if cfg.Secure(false) {
		t.Fatal("secure_cookie: false")
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, console.Config{})
	b := h.browser()
	check := func(path string, r resp) {
		t.Helper()
		want := map[string]string{
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}
		for k, v := range want {
			if r.hdr.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, r.hdr.Get(k), v)
			}
		}
		csp := r.hdr.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
	for _, p := range []string{"/console/", "/console/login", "/console/static/style.css", "/console/static/live.js", "/console/nothing"} {
		check(p, b.do("GET", p, nil))
	}
	b.signIn(olgaToken)
	for _, p := range []string{"/console/", "/console/now.json", "/console/speed", "/console/leads/999"} {
		check(p, b.do("GET", p, nil))
	}
	check("POST action without CSRF", b.do("POST", "/console/actions/close", url.Values{"lead": {"1"}}))
	if r := b.do("GET", "/console/static/live.js", nil); !strings.Contains(r.hdr.Get("Content-Type"), "javascript") {
		t.Errorf("live.js served as %q", r.hdr.Get("Content-Type"))
	}
}

func TestCSRF(t *testing.T) {
	h := newHarness(t, console.Config{})
	h.lead("c1", "hello")
	b := h.browser()
	b.signIn(olgaToken)
	_, csrf := b.page("/console/")
	for _, tc := range []struct {
		name, path string
		form       url.Values
		code       int
	}{
		{"action without token", "/console/actions/front", url.Values{"lead": {"1"}, "back": {"/console/"}}, http.StatusForbidden},
		{"action with a forged token", "/console/actions/front", url.Values{"lead": {"1"}, "csrf": {"x" + csrf}}, http.StatusForbidden},
		{"correction without token", "/console/leads/1/contact", url.Values{"name": {"X"}}, http.StatusForbidden},
		{"sign-out without token", "/console/logout", url.Values{}, http.StatusForbidden},
		{"action with the token", "/console/actions/front", url.Values{"lead": {"1"}, "back": {"/console/"}, "csrf": {csrf}}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.do("POST", tc.path, tc.form)
			if r.code != tc.code {
				t.Fatalf("%d, want %d: %s", r.code, tc.code, r.body)
			}
			if tc.code == http.StatusForbidden && !strings.Contains(r.body, "The form has expired") {
				t.Fatalf("403 without the explanation: %s", r.body)
			}
		})
	}
	if c := h.r; c != nil {
		if cv, _ := c.Conversation(h.ctx, 1); cv.Name != "Customer c1" {
			t.Fatalf("a refused correction changed the name: %q", cv.Name)
		}
	}
}

func TestSessionExpiresAndSignOut(t *testing.T) {
	h := newHarness(t, console.Config{SessionTTL: time.Hour})
	b := h.browser()
	b.signIn(olgaToken)
	h.clock.Advance(59 * time.Minute)
	if r := b.do("GET", "/console/", nil); r.code != 200 {
		t.Fatalf("before expiry: %d", r.code)
	}
	h.clock.Advance(time.Minute)
	r := b.do("GET", "/console/", nil)
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/console/login" {
		t.Fatalf("expired: %d %q", r.code, r.hdr.Get("Location"))
	}
	if r := b.do("GET", "/console/now.json", nil); r.code != http.StatusUnauthorized {
		t.Fatalf("expired now.json: %d", r.code)
	}

	// Sign-out deletes the session: the old cookie no longer works.
	b.signIn(olgaToken)
	old := *b.cookies["lidorub_console"]
	_, csrf := b.page("/console/")
	if r := b.do("POST", "/console/logout", url.Values{"csrf": {csrf}}); r.code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.code)
	}
	if _, ok := b.cookies["lidorub_console"]; ok {
		t.Fatal("cookie not cleared")
	}
	b.cookies["lidorub_console"] = &old
	if r := b.do("GET", "/console/", nil); r.code != http.StatusSeeOther {
		t.Fatalf("the signed-out session still works: %d", r.code)
	}
}

func TestSignInRateLimited(t *testing.T) {
	h := newHarness(t, console.Config{SignInPerMinute: 6, SignInBurst: 3})
	b := h.browser()
	for i := range 3 {
		if r := b.signIn("wrong-token-" + string(rune('a'+i))); r.code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.code)
		}
	}
	r := b.signIn(olgaToken) // even the right token: the address is over its limit
	if r.code != http.StatusTooManyRequests || r.hdr.Get("Retry-After") != "10" || !strings.Contains(r.body, "Слишком много попыток входа") {
		t.Fatalf("4th attempt: %d %q %s", r.code, r.hdr.Get("Retry-After"), r.body)
	}
	h.clock.Advance(10 * time.Second)
	if r := b.signIn(olgaToken); r.code != http.StatusSeeOther {
		t.Fatalf("after the wait: %d", r.code)
	}
}

// TestPagesRenderInBothLanguages: every page, in ru and en, with a waiting lead, an offered
// one and an assigned one: no catalogue key missing, the lead on Now.
func TestPagesRenderInBothLanguages(t *testing.T) {
	h := newHarness(t, console.Config{})
	h.lead("c1", "first")
	h.clock.Advance(90 * time.Second)
	h.lead("c2", "second")
	if err := h.r.SetOnline(h.ctx, "anna", true); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Settle(h.ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Accept(h.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	h.lead("c3", "third")
	// Lead 1 goes to sales: sam is offered it (one ledger entry).
	if err := h.r.SetOnline(h.ctx, "sam", true); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Handoff(h.ctx, 1, "anna", router.QualHot, "call after 6"); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Settle(h.ctx); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	b.signIn(olgaToken)
	for _, lang := range []string{"en", "ru"} {
		for _, p := range []string{"/console/", "/console/leads/1", "/console/leads/3", "/console/speed", "/console/funnel", "/console/audit", "/console/now.json",
			"/console/funnel?by=sales_manager", "/console/funnel?by=channel", "/console/funnel?by=source"} {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			r, _ := b.page(p + sep + "lang=" + lang)
			if i := strings.Index(r.body, "⟦"); i >= 0 {
				t.Errorf("%s %s: missing text %s", lang, p, r.body[i:min(len(r.body), i+60)])
			}
			if p != "/console/now.json" && !strings.Contains(r.body, `<html lang="`+lang+`">`) {
				t.Errorf("%s %s: not in %s", lang, p, lang)
			}
		}
	}
	// ?lang= sticks to the session; Olga's own locale is en.
	r, _ := b.page("/console/")
	for _, want := range []string{"Очередь", "Активные предложения", `class="offer" data-id="2"`, `href="/console/leads/2"`, `class="offer" data-id="3"`, "предложен", "Anna", "2 из 2", `<svg class="chart hbar"`, // anna took lead 3 once lead 1 was handed off
		"Ждут отдела продаж", `<tr class="sales-lead" data-id="1">`, "предложен продажам", "Sam", "1 из 2"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("Now lacks %q", want)
		}
	}
	if strings.Contains(r.body, `<tr class="lead" data-id="1">`) {
		t.Error("the handed-off lead is in the first-tier queue")
	}
	// Speed: both periods, the chart, p50/p95 (lead 1 answered? no reply was sent: not reached).
	r, _ = b.page("/console/speed")
	for _, want := range []string{"Сегодня", "Последние 7 дней", `<svg class="chart cumulative"`, "telegram", "не достигнут", "Нарушения SLA по лид-менеджерам", "Anna"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("Speed lacks %q", want)
		}
	}
	// Funnel: the chart's seven bars, the table, the CSV link; the CSV is the API's.
	r, _ = b.page("/console/funnel?by=lead_manager")
	for _, want := range []string{`<svg class="chart hbar"`, "Переданы", "Anna", "Итого", `href="/console/funnel.csv?by=lead_manager&amp;from=2026-11-19&amp;to=2026-11-25"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("Funnel lacks %q", want)
		}
	}
	if n := strings.Count(r.body, `<rect class="track"`); n != 7 {
		t.Errorf("funnel chart of %d bars, want 7", n)
	}
	csv := b.do("GET", "/console/funnel.csv?by=lead_manager&from=2026-11-19&to=2026-11-25", nil)
	if csv.code != 200 || !strings.HasPrefix(csv.hdr.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(csv.body, "group,leads,answered,") || !strings.Contains(csv.body, "\nanna,1,") || !strings.Contains(csv.body, "\ntotal,3,") {
		t.Errorf("CSV: %d %s %q", csv.code, csv.hdr.Get("Content-Type"), csv.body)
	}
	if r := h.browser().do("GET", "/console/funnel.csv?by=lead_manager", nil); r.code == 200 || strings.Contains(r.body, "group,leads") {
		t.Errorf("CSV without a session: %d", r.code)
	}
	if r := b.do("GET", "/console/funnel?by=nobody", nil); r.code != 422 || !strings.Contains(r.body, "Неверный период") {
		t.Errorf("bad grouping: %d", r.code)
	}
	// Audit: the ledger entry and its verification.
	r, _ = b.page("/console/audit")
	for _, want := range []string{"Журнал передач", `class="verify ok"`, "Проверено: записей 1, seq 1–1", `data-seq="1"`, "round_robin", "Sam"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("Audit lacks %q", want)
		}
	}
	b2 := h.browser()
	b2.signIn(olgaToken)
	if r, _ := b2.page("/console/"); !strings.Contains(r.body, "Queue") || !strings.Contains(r.body, "oldest unanswered lead") {
		t.Error("olga's own language (en) not used")
	}
	// The lead page: card, transcript; the timeline not yet available is said so.
	r, _ = b2.page("/console/leads/1")
	for _, want := range []string{"Lead #1", "Customer c1", "first", "Timeline", "Transcript"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("Lead lacks %q", want)
		}
	}
	if _, err := h.r.Timeline(h.ctx, 1); err == router.ErrNotImplemented && !strings.Contains(r.body, "not available") {
		t.Error("the missing timeline is not explained")
	}
	if r := b2.do("GET", "/console/leads/999", nil); r.code != 404 || !strings.Contains(r.body, "No such lead") {
		t.Errorf("unknown lead: %d", r.code)
	}
}

func TestCorrectContact(t *testing.T) {
	h := newHarness(t, console.Config{})
	h.lead("c1", "hello")
	b := h.browser()
	b.signIn(olgaToken)
	_, csrf := b.page("/console/leads/1")
	r := b.do("POST", "/console/leads/1/contact", url.Values{"csrf": {csrf}, "name": {"Customer c1"}, "phone": {"not a phone"}, "email": {""}})
	if r.code != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="f-phone"[^>]*aria-invalid="true"`).MatchString(r.body) ||
		!strings.Contains(r.body, `<span id="e-phone" class="field-err">Not a valid phone number`) || !strings.Contains(r.body, `value="not a phone"`) {
		t.Fatalf("invalid phone: %d %s", r.code, r.body)
	}
	r = b.do("POST", "/console/leads/1/contact", url.Values{"csrf": {csrf}, "name": {"Ivan Petrov"}, "phone": {"+44 20 7946 0958"}, "email": {""}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/console/leads/1?ok=corrected" {
		t.Fatalf("correction: %d %q", r.code, r.hdr.Get("Location"))
	}
	cv, err := h.r.Conversation(h.ctx, 1)
	if err != nil || cv.Name != "Ivan Petrov" || cv.Phone != "+442079460958" {
		t.Fatalf("after correction: %+v %v", cv, err)
	}
	if r, _ := b.page("/console/leads/1?ok=corrected"); !strings.Contains(r.body, "The contact was corrected") {
		t.Fatal("no confirmation")
	}
}

// TestActions: every action comes back to its page with the result shown, done or refused
// (router.Ops's actions are stubs until they land: their error is shown cleanly).
func TestActions(t *testing.T) {
	h := newHarness(t, console.Config{})
	h.lead("c1", "hello")
	b := h.browser()
	b.signIn(olgaToken)
	_, csrf := b.page("/console/")
	resultRE := regexp.MustCompile(`^(/console/(?:leads/1)?)\?(ok|err)=([a-z_]+)$`)
	for _, tc := range []struct {
		action string
		form   url.Values
	}{
		{"reassign", url.Values{"lead": {"1"}, "to": {"anna"}, "back": {"/console/leads/1"}}},
		{"front", url.Values{"lead": {"1"}, "back": {"/console/"}}},
		{"offline", url.Values{"manager": {"anna"}, "back": {"https://evil.example/"}}},
		{"close", url.Values{"lead": {"1"}, "back": {"/console/"}}},
	} {
		tc.form.Set("csrf", csrf)
		r := b.do("POST", "/console/actions/"+tc.action, tc.form)
		m := resultRE.FindStringSubmatch(r.hdr.Get("Location"))
		if r.code != http.StatusSeeOther || m == nil {
			t.Fatalf("%s: %d %q", tc.action, r.code, r.hdr.Get("Location"))
		}
		if want := tc.form.Get("back"); strings.HasPrefix(want, "/console/") && m[1] != want {
			t.Fatalf("%s: back to %q, want %q", tc.action, m[1], want)
		}
		if m[2] == "ok" && m[3] != tc.action {
			t.Fatalf("%s: ok=%s", tc.action, m[3])
		}
		shown, _ := b.page(r.hdr.Get("Location"))
		cls := map[string]string{"ok": `class="flash ok"`, "err": `class="flash err"`}[m[2]]
		if !strings.Contains(shown.body, cls) {
			t.Fatalf("%s: result %s=%s not shown", tc.action, m[2], m[3])
		}
	}
	if r := b.do("POST", "/console/actions/explode", url.Values{"csrf": {csrf}}); r.code != http.StatusNotFound {
		t.Fatalf("unknown action: %d", r.code)
	}
}

// TestAuditShowsLedgerProblems: a ledger whose head was tampered with fails verification on
// the Audit page, the problem listed by seq and its row marked.
func TestAuditShowsLedgerProblems(t *testing.T) {
	h := newHarness(t, console.Config{})
	h.lead("c1", "first")
	for _, id := range []string{"anna", "sam"} {
		if err := h.r.SetOnline(h.ctx, id, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.r.Settle(h.ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Accept(h.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Handoff(h.ctx, 1, "anna", router.QualHot, ""); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	b.signIn(olgaToken)
	r, _ := b.page("/console/audit?lang=en")
	if !strings.Contains(r.body, `class="verify ok"`) || !strings.Contains(r.body, "the newest 1 entry is shown and verified") {
		t.Fatalf("honest ledger not verified:\n%s", r.body)
	}
	if err := h.rdb.HSet(h.ctx, ledger.KeysOf(h.keys).Head, "hash", "0000").Err(); err != nil {
		t.Fatal(err)
	}
	r, _ = b.page("/console/audit?lang=en")
	for _, want := range []string{`class="verify bad"`, "Verification failed: 1 problem(s).", "Seq 1 · the head of the chain does not match the last entry", `<tr class="ledger-entry bad" data-seq="1">`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("tampered ledger: Audit lacks %q", want)
		}
	}
}
