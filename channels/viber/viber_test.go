package viber

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/locale"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

const (
	testToken = "4b5ba7e2a94d6a21-7dd1c0d64e3b54d8-1f1b2c3d4e5f6a7b"
	testBot   = "shop"
	userID    = "3SQNc4FPUQmysaM/AQEhXg=="
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// apiCall is one request the fake Viber API received.
type apiCall struct {
	Method string
	Token  string
	Body   map[string]any
}

// fakeAPI is the Viber REST Bot API: POST /pa/<method> with JSON bodies, answered by reply
// (default: send_ok.json / set_webhook_ok.json).
type fakeAPI struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	calls []apiCall
	reply func(method string, n int) (int, string)
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := strings.TrimPrefix(r.URL.Path, "/pa/")
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.calls = append(f.calls, apiCall{Method: method, Token: r.Header.Get(AuthHeader), Body: body})
		n := 0
		for _, c := range f.calls {
			if c.Method == method {
				n++
			}
		}
		reply := f.reply
		f.mu.Unlock()
		status, out := http.StatusOK, ""
		if reply != nil {
			status, out = reply(method, n)
		}
		if out == "" {
			switch method {
			case "send_message":
				out = string(fixture(t, "send_ok.json"))
			case "set_webhook":
				out = string(fixture(t, "set_webhook_ok.json"))
			default:
				out = `{"status":3,"status_message":"badData"}`
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) sent(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// alerts records channel alerts.
type alerts struct {
	mu   sync.Mutex
	list []string
}

func (a *alerts) Alert(_ context.Context, channel, account, reason string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, channel+"/"+account+": "+reason)
	return nil
}

func (a *alerts) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.list...)
}

type env struct {
	*channeltest.Env
	api    *fakeAPI
	ch     *Channel
	srv    http.Handler
	alerts *alerts
	reg    *prometheus.Registry
	logs   *bytes.Buffer
}

func testConfig(apiURL string) Config {
	cfg := Config{Enabled: true, APIURL: apiURL + "/pa", Bots: []Bot{{Name: testBot, Token: testToken,
		WebhookURL: "https://leads.example.com/webhooks/viber/shop", SenderName: "Меблі Осло",
		SenderAvatar: "https://leads.example.com/avatar.jpg"}}}
	cfg.Defaults()
	return cfg
}

func newEnv(t *testing.T) *env {
	ce := channeltest.NewEnv(t)
	return newEnvWith(t, ce, ce.Deps())
}

func newEnvWith(t *testing.T, ce *channeltest.Env, d channels.Deps) *env {
	e := &env{Env: ce, api: newFakeAPI(t), alerts: &alerts{}, reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}}
	d.Alerter, d.Registerer = e.alerts, e.reg
	d.Log = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := testConfig(e.api.srv.URL)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ch, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	e.ch, e.srv = ch, ch.Handler()
	return e
}

// post delivers body as Viber does, signed with sig.
func (e *env) post(t *testing.T, path string, body []byte, sig string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if sig != "" {
		r.Header.Set(SignatureHeader, sig)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

// deliver posts a fixture, correctly signed, and wants 200.
func (e *env) deliver(t *testing.T, name string) {
	t.Helper()
	b := fixture(t, name)
	if w := e.post(t, Path(testBot), b, Sign(testToken, b)); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("%s: %d %q, want an empty 200", name, w.Code, w.Body.String())
	}
}

func out(id, text string) channels.Outbound {
	return channels.Outbound{ID: id, ConversationID: "1", Channel: Name, Account: testBot, ContactID: userID,
		Kind: "reply", ManagerID: "anna", Text: text}
}

func TestSignature(t *testing.T) {
	body := fixture(t, "message_text.json")
	good := Sign(testToken, body)
	for _, tt := range []struct {
		name, header string
		want         bool
	}{
		{"right", good, true},
		{"upper-case hex", strings.ToUpper(good), true},
		{"missing", "", false},
		{"other token", Sign("another-token", body), false},
		{"truncated", good[:40], false},
		{"not hex", "sha256=" + good, false},
		{"body changed", Sign(testToken, append(bytes.Clone(body), ' ')), false},
	} {
		if got := VerifySignature(testToken, body, tt.header); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if VerifySignature("", body, Sign("", body)) {
		t.Error("an empty token verified a signature")
	}
}

func TestCallbacks(t *testing.T) {
	sent := time.Date(2026, 1, 12, 9, 59, 58, 0, time.UTC)
	tests := []struct {
		file string
		want channels.Inbound
	}{
		{"message_text.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "5741311803571721087", ContactID: userID, DisplayName: "Олена",
			Text: "Добрий день! Скільки коштує диван «Осло» з доставкою в Харків?", Meta: map[string]string{"language": "uk", "country": "UA"}}},
		{"message_picture.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "5741311803571721088", ContactID: userID, DisplayName: "Олена",
			Text: "Ось такий колір потрібен", Meta: map[string]string{"language": "uk", "country": "UA"},
			Attachments: []channels.Attachment{{Kind: "image", Ref: "https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0/5688fdffdb5c4f4d2a7dcfb6a5d5d0a8e1a3f5b77e4e8e8b1a0f2b2d2f5e95e0.jpg", Size: 182331, Name: "IMG_20260112_095950.jpg"}}}},
		{"message_contact.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "5741311803571721089", ContactID: userID, DisplayName: "Олена",
			Phone: "+380671234567", Meta: map[string]string{"language": "uk", "country": "UA"},
			Attachments: []channels.Attachment{{Kind: "contact", Ref: "+380671234567", Name: "Олена Коваль"}}}},
		// Written without a country code: read with default_region (RU).
		{"message_contact_national.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "5741311803571721090", ContactID: "01234567890A=", DisplayName: "Иван",
			Phone: "+79161234567", Meta: map[string]string{"language": "ru", "country": "RU"},
			Attachments: []channels.Attachment{{Kind: "contact", Ref: "+79161234567", Name: "Иван"}}}},
		{"message_location.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "5741311803571721091", ContactID: userID, DisplayName: "Олена",
			Attachments: []channels.Attachment{{Kind: "location", Ref: "49.99355,36.23078", Name: "Харків, вулиця Сумська, 10"}}}},
		{"message_file.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "5741311803571721092", ContactID: userID, DisplayName: "Олена",
			Attachments: []channels.Attachment{{Kind: "document", Ref: "https://dl-media.viber.com/1/share/2/long/files/plan.pdf", Size: 480123, Name: "план кухні.pdf"}}}},
		{"message_sticker.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "5741311803571721093", ContactID: userID, DisplayName: "Олена",
			Attachments: []channels.Attachment{{Kind: "sticker", Ref: "https://viber.github.io/docs/img/stickers/46105.png"}}}},
		{"delivered.json", channels.Inbound{Kind: channels.KindStatus, MessageID: "delivered:5741311803571722001", ContactID: userID,
			Meta: map[string]string{"ref": "5741311803571722001", "status": "delivered"}}},
		{"seen.json", channels.Inbound{Kind: channels.KindStatus, MessageID: "seen:5741311803571722001", ContactID: userID,
			Meta: map[string]string{"ref": "5741311803571722001", "status": "read"}}},
		{"failed.json", channels.Inbound{Kind: channels.KindStatus, MessageID: "failed:5741311803571722002", ContactID: userID,
			Meta: map[string]string{"ref": "5741311803571722002", "status": "failed", "error": "Viber reported the message as not delivered: failure description"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := newEnv(t)
			e.deliver(t, tt.file)
			got := e.Stored(t)
			if len(got) != 1 {
				t.Fatalf("%d items stored, want 1", len(got))
			}
			g, w := got[0], tt.want
			w.Channel, w.Account = Name, testBot
			if w.Kind == channels.KindMessage {
				w.SentAt = sent
			} else {
				w.SentAt = g.SentAt
			}
			g.ReceivedAt = time.Time{}
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			if !bytes.Equal(gj, wj) {
				t.Errorf("stored\n%s\nwant\n%s", gj, wj)
			}
		})
	}
}

func TestWebhookCheckAndUnknownEventsStoreNothing(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "webhook.json")
	other := []byte(`{"event":"client_status","timestamp":1768211990000,"message_token":1}`)
	if w := e.post(t, Path(testBot), other, Sign(testToken, other)); w.Code != http.StatusOK {
		t.Fatalf("unknown event: %d", w.Code)
	}
	if got := e.Stored(t); len(got) != 0 {
		t.Fatalf("%d items stored", len(got))
	}
	if v := testutil.ToFloat64(e.ch.m.callbacks.WithLabelValues(testBot, EventWebhook, cbIgnored)); v != 1 {
		t.Errorf("webhook check counted %v times", v)
	}
}

func TestRejectedCallbacks(t *testing.T) {
	e := newEnv(t)
	body := fixture(t, "message_text.json")
	for _, tt := range []struct {
		name, path, sig string
		body            []byte
		want            int
	}{
		{"unknown bot", Path("other"), Sign(testToken, body), body, http.StatusNotFound},
		{"no signature", Path(testBot), "", body, http.StatusUnauthorized},
		{"signed with another token", Path(testBot), Sign("another-token", body), body, http.StatusUnauthorized},
		{"not a callback", Path(testBot), Sign(testToken, []byte(`{"x":1}`)), []byte(`{"x":1}`), http.StatusBadRequest},
		{"not JSON", Path(testBot), Sign(testToken, []byte(`<xml/>`)), []byte(`<xml/>`), http.StatusBadRequest},
		{"too large", Path(testBot), "", bytes.Repeat([]byte("a"), 2<<20), http.StatusRequestEntityTooLarge},
	} {
		w := e.post(t, tt.path, tt.body, tt.sig)
		if w.Code != tt.want || !strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("%s: %d %s, want %d with a JSON error", tt.name, w.Code, w.Body.String(), tt.want)
		}
	}
	if got := e.Stored(t); len(got) != 0 {
		t.Fatalf("%d items stored", len(got))
	}
	if v := testutil.ToFloat64(e.ch.m.callbacks.WithLabelValues(testBot, "other", cbBadSignature)); v != 2 {
		t.Errorf("bad signatures counted %v, want 2", v)
	}
	if strings.Contains(e.logs.String(), testToken) {
		t.Error("the token is in the logs")
	}
}

func TestConversationStartedNamesTheSourceOfTheFirstMessage(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "conversation_started.json")
	if got := e.Stored(t); len(got) != 0 {
		t.Fatalf("conversation_started stored %d items: opening the chat is not a lead", len(got))
	}
	e.deliver(t, "message_text.json")
	got := e.Stored(t)
	if len(got) != 1 || got[0].Source != "utm_campaign=winter_sale" || got[0].Meta["context"] != "utm_campaign=winter_sale" {
		t.Fatalf("first message after a deep link: %+v", got)
	}
}

func TestUnsubscribedFailsPermanentlyAndTellsTheManager(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.deliver(t, "message_text.json") // the customer wrote at 09:59:58
	if _, err := e.ch.Send(ctx, out("o1", "Добрий день! 12 900 грн з доставкою.")); err != nil {
		t.Fatalf("send before unsubscribing: %v", err)
	}
	e.deliver(t, "unsubscribed.json") // 10:00:00
	_, err := e.ch.Send(ctx, out("o2", "Чи актуально?"))
	var le *locale.Error
	if !channels.IsPermanent(err) || !errors.As(err, &le) || le.Msg.Key != "failure.viber.unsubscribed" {
		t.Fatalf("send after unsubscribed: %v, want the permanent failure.viber.unsubscribed", err)
	}
	if !strings.Contains(err.Error(), "unsubscribed") {
		t.Errorf("text for the manager: %q", err.Error())
	}
	if n := len(e.api.sent("send_message")); n != 1 {
		t.Fatalf("%d send_message calls, want 1 (nothing sent to an unsubscribed user)", n)
	}
	// A late retry of an older event changes nothing; a newer subscription lifts it.
	e.deliver(t, "message_text.json") // redelivered (09:59:58): older than the unsubscription
	if unsub, _ := e.ch.Unsubscribed(ctx, testBot, userID); !unsub {
		t.Fatal("a redelivered older message undid the unsubscription")
	}
	e.deliver(t, "subscribed.json") // 10:00:05
	if _, err := e.ch.Send(ctx, out("o3", "Дякуємо, що повернулися!")); err != nil {
		t.Fatalf("send after subscribing again: %v", err)
	}
	if v := testutil.ToFloat64(e.ch.m.sends.WithLabelValues(testBot, sendPermanent)); v != 1 {
		t.Errorf("permanent sends counted %v", v)
	}
}

func TestSendMessage(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("Дуже довгий опис дивана. ", 200) // > 7000 bytes: two parts
	o := out("o1", long)
	o.Attachments = []channels.Attachment{{Kind: "image", Ref: "https://leads.example.com/oslo.jpg"},
		{Kind: "document", Ref: "https://leads.example.com/price.pdf", Size: 52000, Name: "ціни.pdf"}}
	res, err := e.ch.Send(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ChannelMessageID != "5741311803571722001" {
		t.Errorf("channel message id %q", res.ChannelMessageID)
	}
	calls := e.api.sent("send_message")
	if len(calls) != 4 {
		t.Fatalf("%d send_message calls, want 2 text parts + picture + file", len(calls))
	}
	var text strings.Builder
	for i, c := range calls {
		if c.Token != testToken {
			t.Errorf("call %d: auth token header %q", i, c.Token)
		}
		b := c.Body
		if b["receiver"] != userID || b["tracking_data"] != "o1" || b["min_api_version"] != float64(1) {
			t.Errorf("call %d: %v", i, b)
		}
		if s, _ := b["sender"].(map[string]any); s["name"] != "Меблі Осло" || s["avatar"] != "https://leads.example.com/avatar.jpg" {
			t.Errorf("call %d: sender %v", i, b["sender"])
		}
		if i < 2 {
			if b["type"] != "text" || len(b["text"].(string)) > MaxTextBytes {
				t.Errorf("part %d: %v", i, b["type"])
			}
			text.WriteString(b["text"].(string))
		}
	}
	if text.String() != long {
		t.Error("the parts do not add up to the text")
	}
	if b := calls[2].Body; b["type"] != "picture" || b["media"] != "https://leads.example.com/oslo.jpg" {
		t.Errorf("picture: %v", b)
	}
	if b := calls[3].Body; b["type"] != "file" || b["size"] != float64(52000) || b["file_name"] != "ціни.pdf" {
		t.Errorf("file: %v", b)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		permanent bool
		retry     bool
		key       string
		alert     bool
	}{
		{"not subscribed", 200, "send_not_subscribed.json", true, false, "failure.viber.unsubscribed", false},
		{"too many requests", 200, "send_too_many.json", false, true, "", false},
		{"HTTP 429", 429, `{}`, false, true, "", false},
		{"invalid token", 200, "send_bad_token.json", true, false, "failure.viber.account", true},
		{"not registered", 200, `{"status":5,"status_message":"receiverNotRegistered"}`, true, false, "failure.viber.unreachable", false},
		{"bad data", 200, `{"status":3,"status_message":"badData"}`, true, false, "failure.viber.refused", false},
		{"webhook not set", 200, `{"status":10,"status_message":"webhookNotSet"}`, false, false, "", false},
		{"general error", 200, `{"status":99,"status_message":"generalError"}`, false, false, "", false},
		{"outage", 502, `<html>Bad Gateway</html>`, false, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			body := tt.body
			if strings.HasSuffix(body, ".json") {
				body = string(fixture(t, body))
			}
			e.api.reply = func(string, int) (int, string) { return tt.status, body }
			_, err := e.ch.Send(context.Background(), out("o1", "Добрий день!"))
			if err == nil {
				t.Fatal("no error")
			}
			var ra *channels.RetryAfterError
			if channels.IsPermanent(err) != tt.permanent || errors.As(err, &ra) != tt.retry {
				t.Fatalf("%v: permanent %v, retry-after %v", err, channels.IsPermanent(err), errors.As(err, &ra))
			}
			if tt.retry && ra.After <= 0 {
				t.Error("retry-after without a delay")
			}
			var le *locale.Error
			if tt.key != "" && (!errors.As(err, &le) || le.Msg.Key != tt.key) {
				t.Errorf("%v: want text %s", err, tt.key)
			}
			if got := len(e.alerts.all()) > 0; got != tt.alert {
				t.Errorf("alerted %v (%v)", got, e.alerts.all())
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("the token is in the error")
			}
		})
	}
	t.Run("not subscribed is remembered", func(t *testing.T) {
		e := newEnv(t)
		e.api.reply = func(string, int) (int, string) { return 200, string(fixture(t, "send_not_subscribed.json")) }
		_, _ = e.ch.Send(context.Background(), out("o1", "Добрий день!"))
		e.api.reply = nil
		if _, err := e.ch.Send(context.Background(), out("o2", "Добрий день!")); !channels.IsPermanent(err) {
			t.Fatalf("second send: %v", err)
		}
		if n := len(e.api.sent("send_message")); n != 1 {
			t.Errorf("%d send_message calls, want 1", n)
		}
	})
	t.Run("attachments Viber cannot send", func(t *testing.T) {
		e := newEnv(t)
		for _, a := range []channels.Attachment{{Kind: "image", Ref: "file_id_123"}, {Kind: "video", Ref: "https://x.example/v.mp4"}, {Kind: "sticker", Ref: "https://x.example/s.png"}} {
			o := out("o1", "")
			o.Attachments = []channels.Attachment{a}
			_, err := e.ch.Send(context.Background(), o)
			var le *locale.Error
			if !channels.IsPermanent(err) || !errors.As(err, &le) || le.Msg.Key != "failure.viber.attachment" {
				t.Errorf("%+v: %v", a, err)
			}
		}
		if n := len(e.api.sent("send_message")); n != 0 {
			t.Errorf("%d calls", n)
		}
	})
}

func TestRunRegistersTheWebhookWithBackoff(t *testing.T) {
	e := newEnv(t)
	e.api.reply = func(method string, n int) (int, string) {
		switch n {
		case 1:
			return 503, "upstream unavailable"
		case 2:
			return 200, `{"status":1,"status_message":"invalidUrl"}`
		}
		return 200, ""
	}
	var waits []time.Duration
	e.ch.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	if err := e.ch.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := e.api.sent("set_webhook")
	if len(calls) != 3 || len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second {
		t.Fatalf("%d set_webhook calls, waits %v", len(calls), waits)
	}
	b := calls[2].Body
	if b["url"] != "https://leads.example.com/webhooks/viber/shop" || b["send_name"] != true || calls[2].Token != testToken {
		t.Errorf("set_webhook body %v", b)
	}
	if types, _ := b["event_types"].([]any); len(types) != len(EventTypes) {
		t.Errorf("event types %v", b["event_types"])
	}
	if v := testutil.ToFloat64(e.ch.m.registered.WithLabelValues(testBot)); v != 1 {
		t.Errorf("registered gauge %v", v)
	}
	if !strings.Contains(e.logs.String(), "viber set_webhook failed") || strings.Contains(e.logs.String(), testToken) {
		t.Errorf("logs: failures not logged, or the token logged:\n%s", e.logs.String())
	}
}

func TestRunStopsOnCancelAndAlertsOnABadToken(t *testing.T) {
	e := newEnv(t)
	e.api.reply = func(string, int) (int, string) { return 200, string(fixture(t, "send_bad_token.json")) }
	ctx, cancel := context.WithCancel(context.Background())
	e.ch.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	if err := e.ch.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if a := e.alerts.all(); len(a) != 1 || !strings.Contains(a[0], "invalidAuthToken") || strings.Contains(a[0], testToken) {
		t.Errorf("alerts %v", a)
	}
}

func TestBotsWithoutWebhookURLAreNotRegistered(t *testing.T) {
	ce := channeltest.NewEnv(t)
	api := newFakeAPI(t)
	cfg := testConfig(api.srv.URL)
	cfg.Bots[0].WebhookURL = ""
	ch, err := New(cfg, ce.Deps())
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Run(context.Background()); err != nil || len(api.sent("set_webhook")) != 0 {
		t.Fatalf("Run: %v, %d calls", err, len(api.sent("set_webhook")))
	}
}

func TestConfig(t *testing.T) {
	ok := func() Config { return testConfig("https://chatapi.viber.com") }
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"valid", func(*Config) {}, ""},
		{"disabled is not checked", func(c *Config) { c.Enabled = false; c.Bots = nil }, ""},
		{"no bots", func(c *Config) { c.Bots = nil }, "bots: at least one bot is required when enabled"},
		{"no token", func(c *Config) { c.Bots[0].Token = "" }, "bots[0].token: is required"},
		{"bad name", func(c *Config) { c.Bots[0].Name = "Shop Bot" }, "bots[0].name: must be 1-32 characters"},
		{"webhook not https", func(c *Config) { c.Bots[0].WebhookURL = "http://leads.example.com/webhooks/viber/shop" }, "bots[0].webhook_url: must be an https URL"},
		{"webhook other path", func(c *Config) { c.Bots[0].WebhookURL = "https://leads.example.com/viber" }, "bots[0].webhook_url: must end in /webhooks/viber/shop"},
		{"no sender name", func(c *Config) { c.Bots[0].SenderName = "" }, "bots[0].sender_name: is required"},
		{"long sender name", func(c *Config) { c.Bots[0].SenderName = strings.Repeat("я", 29) }, "bots[0].sender_name: must be at most 28 characters"},
		{"bad region", func(c *Config) { c.DefaultRegion = "XX" }, "default_region:"},
		{"duplicate", func(c *Config) { c.Bots = append(c.Bots, c.Bots[0]) }, "bots[1].name: duplicates bots[0].name"},
	}
	for _, tt := range tests {
		c := ok()
		tt.change(&c)
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		case err != nil && strings.Contains(err.Error(), testToken):
			t.Errorf("%s: the token is in the error", tt.name)
		}
	}
}
