package console_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
)

// chromium finds Debian's chromium (installed by .ci/run). Missing, the test fails: the
// console is tested in a real browser or not at all.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium in PATH: install it (apt-get install -y chromium; .ci/run does)")
	return ""
}

// TestBrowser runs the console in headless Chromium against an in-process gateway built as
// `lidorub serve` builds it: the supervisor signs in, sees the waiting lead on Now, opens
// it, reassigns it from one lead-manager to another (shown on the page, audited), and a new lead
// appears on Now without a reload (live.js under the CSP). A screenshot of each page is
// saved (CONSOLE_SCREENSHOT_DIR, else a temporary directory) and its path logged.
func TestBrowser(t *testing.T) {
	execPath := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	_, prefix := redistest.New(t)
	cfg := &config.Config{InstanceID: "consolebrowser", Managers: []router.Manager{
		{ID: "anna", Name: "Anna", Token: annaToken},
		{ID: "boris", Name: "Boris", Token: "boris-console-browser-token-5e1d"},
		{ID: "olga", Name: "Olga", Role: router.RoleSupervisor, Token: olgaToken},
		{ID: "sam", Name: "Sam", Role: router.RoleSales, Token: salesToken},
	}}
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Prefix = prefix
	cfg.Locale.Default = "ru"
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := app.Build(ctx, cfg, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gwURL := "http://" + ln.Addr().String()
	runCtx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- g.Run(runCtx, ln) }()
	defer func() {
		stop()
		if err := <-stopped; err != nil {
			t.Errorf("gateway: %v", err)
		}
	}()
	// A customer writes; nobody is online, so the lead waits.
	ingest := func(contact, text string) {
		t.Helper()
		if _, err := g.Ingest.Ingest(ctx, channels.Inbound{Channel: channels.Form, Account: "default", MessageID: contact,
			ContactID: contact, DisplayName: "Ivan " + contact, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	ingest("+79990000001", "Перезвоните мне, пожалуйста")
	waitConv := func(id int64) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; {
			if c, err := g.Router.Conversation(ctx, id); err == nil && c.State == router.StateWaiting {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("lead %d not waiting within 15s", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitConv(1)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(execPath),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	waitJS := func(expr string) chromedp.Action[chromedp.Void] {
		p := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := p(ctx, tg)
			return chromedp.Void{}, err
		}
	}
	dir := t.TempDir()
	if d := os.Getenv("CONSOLE_SCREENSHOT_DIR"); d != "" {
		dir = d
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}

	// Signed out, the console shows the sign-in form; a lead-manager's token is refused.
	do("open the console", chromedp.Navigate(gwURL+"/console/"), chromedp.WaitVisible(chromedp.ID("token")))
	do("sign in as anna", chromedp.SendKeys(chromedp.ID("token"), annaToken+"\r"), chromedp.WaitVisible(chromedp.CSS(".flash.err")))
	if msg := eval(`document.querySelector('.flash.err').textContent`); msg != g.Locale.T("ru", "console.login.not_supervisor") {
		t.Fatalf("anna's sign-in: %q", msg)
	}
	if c := eval(`document.cookie`); c != "" {
		t.Fatalf("cookies readable by scripts: %q", c)
	}
	do("sign in as olga", chromedp.SendKeys(chromedp.ID("token"), olgaToken+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`tr.lead[data-id="1"]`)))
	if st := eval(`document.querySelector('tr.lead[data-id="1"] .badge').textContent`); st != "ждёт" {
		t.Fatalf("the lead's state on Now: %q", st)
	}
	if n := eval(`String(document.querySelectorAll('svg.chart rect.track').length)`); n != "3" {
		t.Fatalf("%s bars in the load chart, want 3 (anna, boris, sam)", n)
	}
	shot("console-now.png")

	// A new lead appears without a reload: live.js polls now.json (allowed by the CSP).
	eval(`window.__marker = 'same page'; ''`)
	ingest("+79990000002", "Сколько стоит доставка?")
	do("the new lead appears live", waitJS(`!!document.querySelector('tr.lead[data-id="2"]')`))
	if m := eval(`String(window.__marker)`); m != "same page" {
		t.Fatal("the page was reloaded")
	}

	// Boris comes online and is offered the waiting leads; then anna comes online (nothing is
	// left to offer her). The supervisor opens lead 1 and reassigns it from boris to anna.
	if err := g.Router.SetOnline(ctx, "boris", true); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := g.Router.Conversation(ctx, 1)
		if err == nil && c.State == router.StateOffered && c.OfferTo == "boris" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead 1 not offered to boris within 15s: %+v %v", c, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := g.Router.SetOnline(ctx, "anna", true); err != nil {
		t.Fatal(err)
	}
	do("open the lead", chromedp.Click(chromedp.CSS(`tr.lead[data-id="1"] a[href="/console/leads/1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.correct`)))
	if body := eval(`document.querySelector('ol.transcript').textContent`); !strings.Contains(body, "Перезвоните мне") {
		t.Fatalf("transcript: %q", body)
	}
	do("reassign", chromedp.SetValue(chromedp.CSS(`.actions select[name="to"]`), "anna"),
		chromedp.Click(chromedp.CSS(`.actions form.reassign button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	flash := eval(`document.querySelector('.flash').textContent`)
	if u.Path != "/console/leads/1" || u.Query().Get("ok") != "reassign" || flash != g.Locale.T("ru", "console.done.reassign") {
		t.Fatalf("after reassigning: %s, shown %q", loc, flash)
	}
	if c, err := g.Router.Conversation(ctx, 1); err != nil || c.State != router.StateOffered || c.OfferTo != "anna" {
		t.Fatalf("reassigned, yet %+v %v", c, err)
	}
	if a, err := g.Router.AuditLog(ctx, 10); err != nil || len(a) == 0 || a[0].Action != "reassign" || a[0].By != "olga" || a[0].Lead != 1 {
		t.Fatalf("the reassign is not audited: %+v %v", a, err)
	}
	if tl := eval(`document.querySelector('ol.timeline') ? document.querySelector('ol.timeline').textContent : document.body.textContent`); !strings.Contains(tl, "Anna") || !strings.Contains(tl, "причина: переназначен руководителем") ||
		!strings.Contains(tl, "переназначил(а): Olga") {
		t.Fatalf("the reassign is not on the lead's timeline: %q", tl)
	}
	t.Logf("reassigned from boris to anna: %q", flash)
	shot("console-lead.png")

	// Anna takes lead 1 and hands it off hot; sam (online) is offered it: one ledger entry.
	for _, id := range []string{"anna", "sam"} {
		if err := g.Router.SetOnline(ctx, id, true); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := g.Router.Conversation(ctx, 1)
		if err == nil && c.State == router.StateOffered && c.OfferTo == "anna" {
			if err := g.Router.Accept(ctx, 1, "anna"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err == nil && c.State == router.StateAssigned && c.ManagerID == "anna" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead 1 not with anna within 15s: %+v %v", c, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Anna reaches the customer (a web-form lead: "contacted" is its first reply), so the
	// Speed chart has an answered lead.
	if err := g.Router.MarkContacted(ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := g.Router.Handoff(ctx, 1, "anna", router.QualHot, "перезвонить после 18"); err != nil {
		t.Fatal(err)
	}
	do("the handed-off lead on Now", chromedp.Navigate(gwURL+"/console/"), chromedp.WaitVisible(chromedp.CSS(`tr.sales-lead[data-id="1"]`)))
	shot("console-now-sales.png")

	// Funnel: the chart with its seven bars, the table, and the CSV through the page's link
	// (fetched by the page itself: the session cookie goes with it).
	do("open Funnel", chromedp.Click(chromedp.CSS(`nav a[href="/console/funnel"]`)), chromedp.WaitVisible(chromedp.CSS(`figure.funnel svg.chart`)))
	if n := eval(`String(document.querySelectorAll('figure.funnel svg.chart rect.bar').length)`); n != "7" {
		t.Fatalf("%s bars in the funnel chart, want 7", n)
	}
	if w := eval(`document.querySelector('figure.funnel svg.chart rect.bar').getAttribute('width')`); w == "0.0" {
		t.Fatal("the funnel's first bar (leads) is empty")
	}
	if row := eval(`document.querySelector('table.funnel tr.total').textContent`); !strings.Contains(row, "Итого") {
		t.Fatalf("funnel total row: %q", row)
	}
	shot("console-funnel.png")
	csvText, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		"fetch(document.querySelector('a.csv').href).then(async r => r.headers.get('content-type') + '\\n' + await r.text())", chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	ctype, body, _ := strings.Cut(csvText, "\n")
	header, _, _ := strings.Cut(body, "\n")
	if !strings.HasPrefix(ctype, "text/csv") || !strings.HasPrefix(header, "group,leads,answered,answered_in_sla,") || !strings.Contains(body, "\nanna,") {
		t.Fatalf("CSV from the page's link: %q", csvText)
	}
	t.Logf("CSV header: %s", header)

	// Speed: the banded chart per channel for today and 7 days.
	do("open Speed", chromedp.Click(chromedp.CSS(`nav a[href="/console/speed"]`)), chromedp.WaitVisible(chromedp.CSS(`svg.chart.cumulative`)))
	if n := eval(`String(document.querySelectorAll('svg.chart.cumulative').length)`); n != "2" {
		t.Fatalf("%s speed charts, want 2 (today, 7 days)", n)
	}
	if w := eval(`document.querySelector('svg.chart.cumulative rect.band3:not([y="4"])').getAttribute('width')`); w == "0.0" {
		t.Fatal("the answered lead is not on the Speed chart")
	}
	shot("console-speed.png")

	// Audit: the honest ledger verifies.
	do("open Audit", chromedp.Click(chromedp.CSS(`nav a[href="/console/audit"]`)), chromedp.WaitVisible(chromedp.ID("verify")))
	if v := eval(`document.querySelector('#verify').className + ' ' + document.querySelector('#verify').textContent`); !strings.HasPrefix(v, "verify ok") {
		t.Fatalf("ledger verification: %q", v)
	}
	if n := eval(`String(document.querySelectorAll('tr.ledger-entry').length)`); n != "1" {
		t.Fatalf("%s ledger rows, want 1", n)
	}
	shot("console-audit.png")

	// Switch to English and sign out.
	do("english", chromedp.Navigate(gwURL+"/console/?lang=en"), chromedp.WaitVisible(chromedp.CSS(`tr.sales-lead[data-id="1"]`)))
	if h := eval(`document.querySelector('h1').firstChild.textContent.trim()`); h != "Now" {
		t.Fatalf("English heading %q", h)
	}
	do("sign out", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.ID("token")))
	do("signed out for good", chromedp.Navigate(gwURL+"/console/"), chromedp.WaitVisible(chromedp.ID("token")))
	fmt.Fprintln(os.Stderr, "console browser test: screenshots in", dir)
}
