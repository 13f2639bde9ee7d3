package vk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
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
	testToken   = "vk1.a.Xq3ZtR8sNd2LmP0wKf9cVbH7yJgTeU4o"
	testSecret  = "Zq8mT3vX9kP2rW7y"
	testConfirm = "a1b2c3d4"
	testComm    = "shop"
	groupID     = 229017813
	userID      = "123456789"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// sendCall is one messages.send the fake API received.
type sendCall struct {
	Token, V, Peer, RandomID, Message string
}

// fakeAPI is the VK API: POST /method/<name>, form-encoded, access_token and v in the body.
// Like VK, it sends a message once per random_id of a sender, answering the first message's
// id to a repeat (messages.send: random_id prevents sending the same message twice). reply, when set, answers a call instead (n counts the calls).
type fakeAPI struct {
	srv       *httptest.Server
	mu        sync.Mutex
	calls     []sendCall
	delivered []sendCall
	byRandom  map[string]int64
	reply     func(n int) (int, string)
	loseNext  bool // handle the next call, then answer 502 instead of its answer
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{byRandom: map[string]int64{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/method/messages.send" || r.Method != http.MethodPost || r.URL.RawQuery != "" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		c := sendCall{Token: form.Get("access_token"), V: form.Get("v"), Peer: form.Get("peer_id"), RandomID: form.Get("random_id"), Message: form.Get("message")}
		f.mu.Lock()
		f.calls = append(f.calls, c)
		n, reply := len(f.calls), f.reply
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if reply != nil {
			if status, body := reply(n); body != "" {
				w.WriteHeader(status)
				_, _ = io.WriteString(w, body)
				return
			}
		}
		if _, err := strconv.ParseInt(c.RandomID, 10, 32); err != nil || c.Token != testToken {
			_, _ = io.WriteString(w, `{"error":{"error_code":100,"error_msg":"One of the parameters specified was missing or invalid: random_id"}}`)
			return
		}
		f.mu.Lock()
		id, seen := f.byRandom[c.RandomID]
		if !seen {
			id = int64(276 + len(f.delivered))
			f.byRandom[c.RandomID] = id
			f.delivered = append(f.delivered, c)
		}
		lose := f.loseNext
		f.loseNext = false
		f.mu.Unlock()
		if lose {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, `{"response":%d}`, id)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) snapshot() (calls, delivered []sendCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sendCall(nil), f.calls...), append([]sendCall(nil), f.delivered...)
}

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

type env struct {
	*channeltest.Env
	api    *fakeAPI
	ch     *Channel
	srv    http.Handler
	alerts *alerts
	logs   *bytes.Buffer
}

func testConfig(apiURL string) Config {
	cfg := Config{Enabled: true, APIURL: apiURL + "/method", Communities: []Community{{Name: testComm, GroupID: groupID,
		Token: testToken, Confirmation: testConfirm, Secret: testSecret}}}
	cfg.Defaults()
	return cfg
}

func newEnv(t *testing.T) *env {
	ce := channeltest.NewEnv(t)
	return newEnvWith(t, ce, ce.Deps())
}

func newEnvWith(t *testing.T, ce *channeltest.Env, d channels.Deps) *env {
	e := &env{Env: ce, api: newFakeAPI(t), alerts: &alerts{}, logs: &bytes.Buffer{}}
	d.Alerter, d.Registerer = e.alerts, prometheus.NewRegistry()
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

func (e *env) post(t *testing.T, path string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

// deliver posts a fixture as VK does and wants "ok".
func (e *env) deliver(t *testing.T, name string) {
	t.Helper()
	if w := e.post(t, Path(testComm), fixture(t, name)); w.Code != http.StatusOK || w.Body.String() != "ok" {
		t.Fatalf("%s: %d %q, want 200 ok", name, w.Code, w.Body.String())
	}
}

func out(id, text string) channels.Outbound {
	return channels.Outbound{ID: id, ConversationID: "1", Channel: Name, Account: testComm, ContactID: userID,
		Kind: "reply", ManagerID: "anna", Text: text}
}

func TestConfirmation(t *testing.T) {
	e := newEnv(t)
	w := e.post(t, Path(testComm), fixture(t, "confirmation.json"))
	if w.Code != http.StatusOK || w.Body.String() != testConfirm || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("confirmation: %d %q %s", w.Code, w.Body.String(), w.Header().Get("Content-Type"))
	}
	for name, body := range map[string]string{
		"another group":       `{"type":"confirmation","group_id":1}`,
		"with a wrong secret": `{"type":"confirmation","group_id":229017813,"secret":"guess"}`,
	} {
		if w := e.post(t, Path(testComm), []byte(body)); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), testConfirm) {
			t.Errorf("%s: %d %q", name, w.Code, w.Body.String())
		}
	}
	if w := e.post(t, Path("other"), fixture(t, "confirmation.json")); w.Code != http.StatusNotFound {
		t.Errorf("unknown community: %d", w.Code)
	}
	if got := e.Stored(t); len(got) != 0 {
		t.Fatalf("%d items stored", len(got))
	}
}

func TestWrongSecretStoresNothing(t *testing.T) {
	e := newEnv(t)
	for name, change := range map[string]func(string) string{
		"wrong secret":   func(s string) string { return strings.Replace(s, testSecret, "Zq8mT3vX9kP2rW7z", 1) },
		"no secret":      func(s string) string { return strings.Replace(s, `,"secret":"`+testSecret+`"`, "", 1) },
		"another group":  func(s string) string { return strings.Replace(s, `"group_id":229017813`, `"group_id":229017814`, 1) },
		"secret as JSON": func(s string) string { return strings.Replace(s, `"secret":"`+testSecret+`"`, `"secret":null`, 1) },
	} {
		for _, f := range []string{"message_new.json", "message_deny.json"} {
			w := e.post(t, Path(testComm), []byte(change(string(fixture(t, f)))))
			if w.Code != http.StatusForbidden || w.Body.String() == "ok" {
				t.Errorf("%s %s: %d %q", name, f, w.Code, w.Body.String())
			}
		}
	}
	if got := e.Stored(t); len(got) != 0 {
		t.Fatalf("%d items stored", len(got))
	}
	if denied, _ := e.ch.Denied(context.Background(), testComm, userID); denied {
		t.Error("a forged message_deny was recorded")
	}
	if strings.Contains(e.logs.String(), testSecret) {
		t.Error("the secret is in the logs")
	}
}

func TestMessages(t *testing.T) {
	sent := time.Date(2026, 1, 12, 9, 59, 58, 0, time.UTC)
	tests := []struct {
		file string
		want channels.Inbound
	}{
		{"message_new.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "271", ContactID: userID,
			Text: "Здравствуйте! Сколько стоит диван «Осло» с доставкой по Москве?", SentAt: sent,
			Meta: map[string]string{"event_id": "3c1b9f4a2e7d5c8b0a6f1e2d3c4b5a69786f5e4d"}}},
		{"message_new_photo.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "272", ContactID: userID,
			Text: "Вот такой цвет нужен", SentAt: sent, Meta: map[string]string{"event_id": "5d2e8f1a3b4c6d7e8f9a0b1c2d3e4f5a6b7c8d9e"},
			Attachments: []channels.Attachment{{Kind: "image", Ref: "https://sun9-1.userapi.com/impg/w.jpg"},
				{Kind: "document", Ref: "https://vk.com/doc123456789_675432109?hash=abc&dl=xyz", Name: "планировка.pdf", Size: 480123},
				{Kind: "voice", Ref: "https://psv4.userapi.com/s/v1/amsg/voice.mp3"}}}},
		{"message_new_geo_ref.json", channels.Inbound{Kind: channels.KindMessage, MessageID: "273", ContactID: userID,
			Text: "Я здесь", SentAt: sent, Source: "winter_sale",
			Meta:        map[string]string{"event_id": "7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b", "ref": "winter_sale", "ref_source": "post_123", "payload": `{"button":"price"}`},
			Attachments: []channels.Attachment{{Kind: "location", Ref: "55.751244,37.618423", Name: "Москва, Красная площадь"}}}},
		{"message_edit.json", channels.Inbound{Kind: channels.KindEdit, MessageID: "edit:b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0", ContactID: userID,
			Text: "Здравствуйте! Сколько стоит диван «Осло» с доставкой по Москве и области?", SentAt: sent,
			Meta: map[string]string{"event_id": "b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0", "edited_id": "271"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := newEnv(t)
			e.deliver(t, tt.file)
			got := e.Stored(t)
			if len(got) != 1 {
				t.Fatalf("%d items stored", len(got))
			}
			g, w := got[0], tt.want
			w.Channel, w.Account = Name, testComm
			g.ReceivedAt = time.Time{}
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			if !bytes.Equal(gj, wj) {
				t.Errorf("stored\n%s\nwant\n%s", gj, wj)
			}
		})
	}
	t.Run("API before 5.103: the object is the message", func(t *testing.T) {
		e := newEnv(t)
		body := []byte(`{"type":"message_new","object":{"id":41,"date":1768211998,"out":0,"user_id":123456789,"from_id":123456789,"peer_id":123456789,"read_state":0,"title":"","body":"","text":"Добрый день","attachments":[]},"group_id":229017813,"event_id":"0a1b2c","secret":"` + testSecret + `"}`)
		if w := e.post(t, Path(testComm), body); w.Body.String() != "ok" {
			t.Fatalf("%d %q", w.Code, w.Body.String())
		}
		if got := e.Stored(t); len(got) != 1 || got[0].MessageID != "41" || got[0].Text != "Добрый день" {
			t.Fatalf("stored %+v", got)
		}
	})
	t.Run("ignored", func(t *testing.T) {
		e := newEnv(t)
		for _, f := range []string{"message_new_chat.json", "message_reply.json"} {
			e.deliver(t, f)
		}
		other := []byte(`{"group_id":229017813,"type":"wall_reply_new","event_id":"x1","v":"5.199","object":{"id":1},"secret":"` + testSecret + `"}`)
		if w := e.post(t, Path(testComm), other); w.Body.String() != "ok" {
			t.Fatalf("other type: %d %q", w.Code, w.Body.String())
		}
		if got := e.Stored(t); len(got) != 0 {
			t.Fatalf("%d items stored", len(got))
		}
	})
}

func TestDuplicateEventIsOneItem(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.deliver(t, "message_new.json")
	}
	e.deliver(t, "message_edit.json")
	e.deliver(t, "message_edit.json")
	got := e.Stored(t)
	if len(got) != 2 || got[0].MessageID != "271" || got[1].Meta["edited_id"] != got[0].MessageID {
		t.Fatalf("stored %+v, want the message and its edit once each", got)
	}
	if v := testutil.ToFloat64(e.ch.m.callbacks.WithLabelValues(testComm, TypeMessageNew, cbDuplicate)); v != 2 {
		t.Errorf("duplicates counted %v", v)
	}
}

func TestNotAnsweredOKWhenNotDurable(t *testing.T) {
	e := newEnv(t)
	e.IngestDown(true)
	if w := e.post(t, Path(testComm), fixture(t, "message_new.json")); w.Code == http.StatusOK || w.Body.String() == "ok" {
		t.Fatalf("answered %d %q while Redis was down", w.Code, w.Body.String())
	}
	e.IngestDown(false)
	e.deliver(t, "message_new.json")
	if got := e.Stored(t); len(got) != 1 {
		t.Fatalf("%d items after the retry", len(got))
	}
}

func TestSendWithRandomID(t *testing.T) {
	e := newEnv(t)
	res, err := e.ch.Send(context.Background(), out("o1", "Здравствуйте! 42 900 ₽ с доставкой."))
	if err != nil {
		t.Fatal(err)
	}
	calls, delivered := e.api.snapshot()
	if len(calls) != 1 || res.ChannelMessageID != "276" {
		t.Fatalf("%d calls, id %q", len(calls), res.ChannelMessageID)
	}
	c := calls[0]
	if c.Token != testToken || c.V != DefaultAPIVersion || c.Peer != userID || c.Message != "Здравствуйте! 42 900 ₽ с доставкой." ||
		c.RandomID != strconv.Itoa(int(RandomID("o1", 0))) || len(delivered) != 1 {
		t.Errorf("messages.send %+v", c)
	}
}

func TestRetriedSendKeepsItsRandomID(t *testing.T) {
	e := newEnv(t)
	// VK sent the message but its answer was lost (a proxy answered 502): the worker retries.
	e.api.mu.Lock()
	e.api.loseNext = true
	e.api.mu.Unlock()
	o := out("o1", "Здравствуйте!")
	if _, err := e.ch.Send(context.Background(), o); err == nil || channels.IsPermanent(err) {
		t.Fatalf("first attempt: %v, want a temporary error", err)
	}
	res, err := e.ch.Send(context.Background(), o)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	calls, delivered := e.api.snapshot()
	if len(calls) != 2 || calls[0].RandomID != calls[1].RandomID || len(delivered) != 1 || res.ChannelMessageID != "276" {
		t.Fatalf("calls %+v, delivered %d, id %q: the retry must reuse the random_id and send nothing new", calls, len(delivered), res.ChannelMessageID)
	}
	// Another outbound message has another random_id.
	if _, err := e.ch.Send(context.Background(), out("o2", "Здравствуйте!")); err != nil {
		t.Fatal(err)
	}
	if _, delivered := e.api.snapshot(); len(delivered) != 2 {
		t.Fatalf("%d delivered, want 2", len(delivered))
	}
}

func TestLongTextAndAttachments(t *testing.T) {
	e := newEnv(t)
	o := out("o1", strings.Repeat("Диван «Осло», ткань рогожка. ", 200)) // > 4096 bytes
	o.Attachments = []channels.Attachment{{Kind: "image", Ref: "https://leads.example.com/oslo.jpg"}}
	if _, err := e.ch.Send(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	calls, _ := e.api.snapshot()
	if len(calls) < 2 || calls[0].RandomID == calls[1].RandomID || !strings.HasSuffix(calls[len(calls)-1].Message, "https://leads.example.com/oslo.jpg") {
		t.Fatalf("%d parts", len(calls))
	}
	for _, c := range calls {
		if len(c.Message) > MaxTextBytes {
			t.Errorf("part of %d bytes", len(c.Message))
		}
	}
	o = out("o2", "")
	o.Attachments = []channels.Attachment{{Kind: "image", Ref: "AgACAgIAAxkBAAI"}}
	var le *locale.Error
	if _, err := e.ch.Send(context.Background(), o); !channels.IsPermanent(err) || !errors.As(err, &le) || le.Msg.Key != "failure.vk.attachment" {
		t.Errorf("non-link attachment: %v", err)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		file      string
		permanent bool
		after     time.Duration
		key       string
		alert     bool
	}{
		{"error_901.json", true, 0, "failure.vk.no_permission", false},
		{"error_9.json", false, 15 * time.Second, "", false},
		{"error_6.json", false, time.Second, "", false},
		{"error_5.json", true, 0, "failure.vk.token", true},
		{"error_914.json", true, 0, "failure.vk.refused", false},
		{`{"error":{"error_code":10,"error_msg":"Internal server error"}}`, false, 0, "", false},
		{`{"error":{"error_code":902,"error_msg":"Can't send messages to this user due to their privacy settings"}}`, true, 0, "failure.vk.blocked", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := newEnv(t)
			body := tt.file
			if strings.HasSuffix(body, ".json") {
				body = string(fixture(t, body))
			}
			e.api.reply = func(int) (int, string) { return 200, body }
			_, err := e.ch.Send(context.Background(), out("o1", "Здравствуйте!"))
			var ra *channels.RetryAfterError
			if err == nil || channels.IsPermanent(err) != tt.permanent || errors.As(err, &ra) != (tt.after > 0) || (ra != nil && ra.After != tt.after) {
				t.Fatalf("%v: permanent %v, retry-after %v", err, channels.IsPermanent(err), ra)
			}
			var le *locale.Error
			if tt.key != "" && (!errors.As(err, &le) || le.Msg.Key != tt.key) {
				t.Errorf("%v: want %s", err, tt.key)
			}
			e.alerts.mu.Lock()
			alerted := len(e.alerts.list) > 0
			e.alerts.mu.Unlock()
			if alerted != tt.alert {
				t.Errorf("alerted %v", alerted)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("the token is in the error")
			}
		})
	}
	t.Run("HTTP 502", func(t *testing.T) {
		e := newEnv(t)
		e.api.reply = func(int) (int, string) { return 502, "<html>Bad Gateway</html>" }
		if _, err := e.ch.Send(context.Background(), out("o1", "Здравствуйте!")); err == nil || channels.IsPermanent(err) {
			t.Fatalf("%v", err)
		}
	})
}

func TestDeniedFailsPermanentlyAndAllowLiftsIt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.deliver(t, "message_new.json") // 09:59:58
	e.Clock.Advance(time.Minute)
	e.deliver(t, "message_deny.json")
	_, err := e.ch.Send(ctx, out("o1", "Здравствуйте!"))
	var le *locale.Error
	if !channels.IsPermanent(err) || !errors.As(err, &le) || le.Msg.Key != "failure.vk.denied" {
		t.Fatalf("send after message_deny: %v", err)
	}
	if calls, _ := e.api.snapshot(); len(calls) != 0 {
		t.Fatalf("%d messages.send calls to a user who denied messages", len(calls))
	}
	// VK's retry of the old message changes nothing.
	e.deliver(t, "message_new.json")
	if denied, _ := e.ch.Denied(ctx, testComm, userID); !denied {
		t.Fatal("a redelivered older message lifted the denial")
	}
	e.Clock.Advance(time.Minute)
	e.deliver(t, "message_allow.json")
	if _, err := e.ch.Send(ctx, out("o2", "Здравствуйте!")); err != nil {
		t.Fatalf("after message_allow: %v", err)
	}
	// A retry of the deny (same event_id) later is a duplicate, not a new denial.
	e.Clock.Advance(time.Minute)
	e.deliver(t, "message_deny.json")
	if denied, _ := e.ch.Denied(ctx, testComm, userID); denied {
		t.Fatal("a retried message_deny was applied again")
	}
}

func TestRandomID(t *testing.T) {
	seen := map[int32]bool{}
	for i := range 1000 {
		id := RandomID(fmt.Sprintf("out-%d", i), 0)
		if id == 0 || seen[id] || RandomID(fmt.Sprintf("out-%d", i), 0) != id || RandomID(fmt.Sprintf("out-%d", i), 1) == id {
			t.Fatalf("random_id %d of out-%d", id, i)
		}
		seen[id] = true
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"valid", func(*Config) {}, ""},
		{"disabled", func(c *Config) { c.Enabled = false; c.Communities = nil }, ""},
		{"none", func(c *Config) { c.Communities = nil }, "communities: at least one community"},
		{"version", func(c *Config) { c.APIVersion = "v5" }, "api_version: must look like 5.199"},
		{"token", func(c *Config) { c.Communities[0].Token = "" }, "communities[0].token: is required"},
		{"secret", func(c *Config) { c.Communities[0].Secret = "" }, "communities[0].secret: is required"},
		{"confirmation", func(c *Config) { c.Communities[0].Confirmation = "" }, "communities[0].confirmation: is required"},
		{"group", func(c *Config) { c.Communities[0].GroupID = -5 }, "communities[0].group_id: must be"},
		{"duplicate", func(c *Config) { c.Communities = append(c.Communities, c.Communities[0]) }, "communities[1].name: duplicates"},
	}
	for _, tt := range tests {
		c := testConfig("https://api.vk.com")
		tt.change(&c)
		err := c.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && (strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), testSecret)) {
			t.Errorf("%s: a secret is in the error", tt.name)
		}
	}
}
