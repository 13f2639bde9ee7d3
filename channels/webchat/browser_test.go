package webchat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
)

// chromium finds Debian's chromium (installed by .ci/run). Missing, the test fails: the
// widget is tested in a real browser or not at all.
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

const annaToken = "anna-browser-token-5b1e0c"

// TestBrowser runs the widget in headless Chromium against an in-process gateway: the
// visitor opens the chat on a shop's page (another origin), agrees, writes; the lead is
// offered to the manager through the API, who takes it and answers through the API; the
// answer appears on the page; after a reload the conversation is still there.
func TestBrowser(t *testing.T) {
	execPath := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The shop's page, on its own origin.
	var gwURL string
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Диваны на заказ</title><style>body{font:16px system-ui,sans-serif;margin:40px;color:#222;background:#fafafa}</style></head>
<body><h1>Диваны на заказ</h1><p>Любой цвет и размер. Доставка по Москве.</p>
<script src="%s/webchat/webchat.js" data-lang="ru" data-color="#2d6a4f" async></script></body></html>`, gwURL)
	}))
	defer page.Close()

	// The gateway, built by the app package as `lidorub serve` builds it.
	_, prefix := redistest.New(t)
	cfg := &config.Config{InstanceID: "browsertest",
		Managers: []router.Manager{{ID: "anna", Name: "Anna", Token: annaToken}}}
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Prefix = prefix
	cfg.Channels.WebChat.Enabled = true
	cfg.Channels.WebChat.Secret = "browser-test-secret-0123456789abcdef"
	cfg.Channels.WebChat.AllowedOrigins = []string{page.URL}
	cfg.Channels.WebChat.PolicyURL = "https://shop.example/privacy"
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
	gwURL = "http://" + ln.Addr().String()
	runCtx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- g.Run(runCtx, ln) }()
	defer func() {
		stop()
		if err := <-stopped; err != nil {
			t.Errorf("gateway: %v", err)
		}
	}()
	api := func(method, path, body string, v any) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, gwURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+annaToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if v != nil {
			_ = json.Unmarshal(b, v)
		}
		return res.StatusCode
	}
	if code := api("PUT", "/api/v1/managers/anna/status", `{"online": true}`, nil); code != 200 {
		t.Fatalf("online: %d", code)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(execPath),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1024, 768))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	const question = "Здравствуйте! Есть диван <b>зелёный</b>?"
	const answer = "Да, есть! Привезём завтра 🚚"
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
	// waitText waits until a message bubble of the chat contains s.
	waitText := func(sel, s string) chromedp.Action[chromedp.Void] {
		p := chromedp.Poll[bool](fmt.Sprintf(`[...document.querySelectorAll(%q)].some(e => e.textContent.includes(%q))`, sel, s),
			chromedp.WithPollingTimeout(15*time.Second))
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := p(ctx, tg)
			return chromedp.Void{}, err
		}
	}
	do("open the page and the chat",
		chromedp.Navigate(page.URL),
		chromedp.WaitVisible(chromedp.CSS(".lrbc-btn")),
		chromedp.Click(chromedp.CSS(".lrbc-btn")),
		chromedp.WaitVisible(chromedp.ID("lrbc-text")),
	)
	// Without consent nothing leaves the page.
	do("send without consent",
		chromedp.SendKeys(chromedp.ID("lrbc-text"), "test"),
		chromedp.Click(chromedp.CSS(".lrbc-send")),
	)
	if status := eval(`document.querySelector('.lrbc-status').textContent`); !strings.Contains(status, "согласие") {
		t.Fatalf("status without consent: %q", status)
	}
	if keys := eval(`Object.keys(localStorage).join(",")`); keys != "" {
		t.Fatalf("a session was started without consent: %q", keys)
	}
	eval(`document.getElementById('lrbc-text').value = ''`)
	do("agree and write",
		chromedp.Click(chromedp.ID("lrbc-consent")),
		chromedp.SendKeys(chromedp.ID("lrbc-text"), question+"\r"),
		waitText(".lrbc-in", question),
	)

	// The lead is offered to Anna; she takes it and answers.
	var conv router.Conversation
	for deadline := time.Now().Add(15 * time.Second); ; {
		var o struct{ Offers []router.Conversation }
		api("GET", "/api/v1/managers/anna/conversations", "", &o)
		if len(o.Offers) == 1 {
			conv = o.Offers[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no offer within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if conv.Channel != "webchat" || !strings.Contains(conv.Meta["page_url"], page.URL) || conv.Meta["consent_at"] == "" {
		t.Fatalf("offered %+v", conv)
	}
	id := strconv.FormatInt(conv.ID, 10)
	if code := api("POST", "/api/v1/conversations/"+id+"/accept", "", nil); code != 200 {
		t.Fatalf("accept: %d", code)
	}
	if code := api("POST", "/api/v1/conversations/"+id+"/messages", fmt.Sprintf(`{"text": %q}`, answer), nil); code != 202 {
		t.Fatalf("reply: %d", code)
	}
	do("the answer appears", waitText(".lrbc-out", answer))

	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if d := os.Getenv("WEBCHAT_SCREENSHOT_DIR"); d != "" {
		dir = d
	}
	if err := os.WriteFile(filepath.Join(dir, "webchat.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", filepath.Join(dir, "webchat.png"))

	// After a reload the history is still there (the same token, from localStorage), and the
	// visitor's text was never taken for HTML.
	do("reload",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(".lrbc-btn")),
		chromedp.Click(chromedp.CSS(".lrbc-btn")),
		waitText(".lrbc-out", answer),
		waitText(".lrbc-in", question),
	)
	if n := eval(`String(document.querySelectorAll('.lrbc-log b').length)`); n != "0" {
		t.Fatal("the visitor's text was rendered as HTML")
	}
	if n := eval(`String(document.querySelectorAll('.lrbc-in').length)`); n != "1" {
		t.Fatalf("%s visitor messages after the reload, want 1", n)
	}
	// Keyboard: Escape closes the chat and gives the focus back to the launcher.
	do("escape", chromedp.KeyEvent(kb.Escape))
	if st := eval(`document.getElementById('lrbc-panel').hidden + ' ' + document.activeElement.className + ' ' + document.querySelector('.lrbc-btn').getAttribute('aria-expanded')`); st != "true lrbc-btn false" {
		t.Fatalf("after Escape: %q", st)
	}
	// On a phone the open chat fills the screen.
	do("phone", chromedp.EmulateViewport(390, 740), chromedp.Click(chromedp.CSS(".lrbc-btn")), chromedp.WaitVisible(chromedp.ID("lrbc-text")))
	if wh := eval(`(r => r.width + 'x' + r.height)(document.getElementById('lrbc-panel').getBoundingClientRect()) + ' ' + getComputedStyle(document.querySelector('.lrbc-btn')).display`); wh != "390x740 none" {
		t.Fatalf("the chat on a phone is %s, want 390x740 and the launcher hidden", wh)
	}
	shot, err = chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "webchat-phone.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	// The reply was reported delivered at the SSE write.
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := http.Get(gwURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), `lidorub_webchat_delivered_total{transport="sse"} `) &&
			!strings.Contains(string(b), `lidorub_webchat_delivered_total{transport="sse"} 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivery reported")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
